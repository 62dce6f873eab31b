"""Calling services from a page: off the event loop, in one unit of work, as the viewer is *now*.

A page is drawn once and then lives for hours: its buttons, uploads and timers act long after the
request that drew it. So every call re-reads the login behind the page (the cookie's login session,
in the same unit of work as the call itself) and hands the service that fresh actor, never the one
from page load. A login that was signed out, expired or revoked, a deactivated person, or a role
that no longer opens this page stops the call before any service runs: nothing is read, stored or
audited, and the browser is sent to the login page (SECURITY.md 30).

Pages therefore never pass `actor=` here: `calls.write(simulations.update, simulation_id=…, data=…)`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import quote

from nicegui import app, context, run, ui

from console import unit_of_work
from console.auth import Actor, Permission
from console.errors import DomainError, ValidationFailed
from console.services import accounts
from console.services.versions import Stale
from pages.components.forms import FieldErrors

T = TypeVar("T")
_ACCESS = "simvado.access"


@dataclass(frozen=True)
class PageAccess:
    """What a page was opened with: the login's token and the permission the page requires."""

    token: str | None
    permission: Permission | None
    path: str


class AccessRevoked(asyncio.CancelledError):
    """The viewer may no longer do this: the action is cancelled and the browser sent to sign in.

    A CancelledError, so no handler's `except Exception` carries on after it and NiceGUI ends the
    action quietly (an event handler's task is cancelled, not crashed).
    """


class _Refused(Exception):
    pass


def remember_access(access: PageAccess) -> None:
    """Called once per page, as it is drawn: what every later call on this page is checked against."""
    app.storage.client[_ACCESS] = access


def _access() -> PageAccess:
    access = app.storage.client.get(_ACCESS)
    if access is None:
        raise RuntimeError("calls.read/write are for pages declared with pages.access.secured_page")
    return access


def _current_actor(session, access: PageAccess) -> Actor:  # noqa: ANN001 — a Session
    actor = accounts.actor_for_token(session=session, token=access.token)
    if actor is None or (access.permission is not None and not actor.can(access.permission)):
        raise _Refused
    return actor


def _in_transaction(op: Callable[..., T], access: PageAccess, kwargs: dict[str, Any]) -> T:
    with unit_of_work.transaction() as session:
        actor = _current_actor(session, access)
        return op(session=session, actor=actor, **kwargs)


def _read(op: Callable[..., T], access: PageAccess, kwargs: dict[str, Any]) -> T:
    with unit_of_work.read_only() as session:
        actor = _current_actor(session, access)
        return op(session=session, actor=actor, **kwargs)


def _boxed(runner: Callable[..., T], op: Callable[..., T], access: PageAccess, kwargs: dict[str, Any]) -> tuple[T]:
    return (runner(op, access, kwargs),)


async def _call(runner: Callable[..., T], op: Callable[..., T], kwargs: dict[str, Any]) -> T:
    access = _access()
    try:
        # The result comes back in a tuple: NiceGUI answers None, not an error, for a call that was
        # cancelled (the browser went away) or made while the app stops, and a page must not take
        # that None for the service's answer (it drew "None.rows" as a server error once).
        boxed = await run.io_bound(_boxed, runner, op, access, kwargs)
    except _Refused:
        sign_in_again(access.path)
        raise AccessRevoked(f"{access.path}: the login behind this page no longer allows it") from None
    if boxed is None:
        raise asyncio.CancelledError(f"{access.path}: the call was cancelled before it answered")
    return boxed[0]


def sign_in_again(path: str) -> None:
    """Send the browser to the login page, to come back here afterwards."""
    with context.client:
        ui.navigate.to(f"/login?next={quote(path, safe='')}")


async def write(op: Callable[..., T], **kwargs: Any) -> T:
    """Run a service operation in its own unit of work (committed if it returns) on a worker thread."""
    return await _call(_in_transaction, op, kwargs)


async def read(op: Callable[..., T], **kwargs: Any) -> T:
    """Run a read-only service call on a worker thread."""
    return await _call(_read, op, kwargs)


def notify_error(exc: DomainError) -> None:
    ui.notify(exc.message, type="warning" if exc.code == "validation_failed" else "negative")


class _Refusal:
    def __repr__(self) -> str:
        return "REFUSED"


REFUSED = _Refusal()  # what `submit` returns when the service said no


async def submit(
    op: Callable[..., T],
    *,
    errors: FieldErrors | None = None,
    on_stale: Callable[[Stale], Awaitable[None]] | None = None,
    **kwargs: Any,
) -> T | _Refusal:
    """`write`, with a refusal shown where the user looks: each field's error under its field (when
    `errors` holds it; all of them stay in `errors.last`), the message as a notification, a save based
    on an older version to `on_stale` (pages/components/conflicts.py). Returns the result, or REFUSED."""
    if errors is not None:
        errors.clear()
    try:
        return await write(op, **kwargs)
    except Stale as exc:
        if on_stale is None:
            notify_error(exc)
        else:
            await on_stale(exc)
    except ValidationFailed as exc:
        if errors is not None:
            errors.show(exc.field_errors)
        ui.notify(exc.message, type="warning")
    except DomainError as exc:
        notify_error(exc)
    return REFUSED
