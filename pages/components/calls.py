"""Calling services from a page: off the event loop, one transaction, errors shown to the user."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from nicegui import run, ui

from console import db
from console.errors import DomainError, NotFound, PermissionDenied, ValidationFailed

T = TypeVar("T")


def _in_transaction(op: Callable[..., T], kwargs: dict[str, Any]) -> T:
    with db.transaction() as session:
        return op(session=session, **kwargs)


def _read(op: Callable[..., T], kwargs: dict[str, Any]) -> T:
    with db.read_only() as session:
        return op(session=session, **kwargs)


async def write(op: Callable[..., T], **kwargs: Any) -> T:
    """Run a service operation in its own transaction (committed if it returns) on a worker thread."""
    return await run.io_bound(_in_transaction, op, kwargs)


async def read(op: Callable[..., T], **kwargs: Any) -> T:
    """Run a read-only service call on a worker thread."""
    return await run.io_bound(_read, op, kwargs)


def notify_error(exc: DomainError) -> None:
    if isinstance(exc, ValidationFailed):
        ui.notify(exc.message, type="warning")
    elif isinstance(exc, NotFound | PermissionDenied):
        ui.notify(exc.message, type="negative")
    else:
        ui.notify(exc.message, type="negative")
