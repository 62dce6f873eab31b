"""What every engine API request goes through before its route's own work, and how that work is run.

A missing or malformed key is refused first, on the event loop (`refuse_malformed`). Then each
request is a unit of work — authenticate the key, check its rate and scope (`Gate.admit`), call the
service — run by the group committer (console/api/committer.py) in a transaction it may share with
other requests, and answered only after that transaction commits. A 2xx therefore means every
accepted event is committed (with synchronous_commit=on, see console/db.py).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from contextvars import ContextVar
from typing import TypeVar
from urllib.parse import parse_qsl

from fastapi import Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlmodel import Session

from console.api.committer import GroupCommitter
from console.api.errors import RateLimited
from console.api.limits import SYNC_SECONDS, Limit, SharedLimits
from console.auth import Actor, Permission
from console.errors import PermissionDenied, Unauthenticated, ValidationFailed
from console.services import api_keys

log = logging.getLogger("simvado.api")
T = TypeVar("T")
UNHEARD_WAITS = 5  # syncs a request waits for at most (see limits.unheard_budget); then it is counted
# The client's address, set by the engine API app for each request (console/api/app.py).
CLIENT_ADDRESS: ContextVar[str | None] = ContextVar("simvado_client_address", default=None)


# What a 401 says: how to send a key, never which check failed (an unknown, revoked, expired or garbled
# key are one answer, so a guess learns nothing).
MISSING_KEY = (
    "No API key: send it in the Authorization header as `Authorization: Bearer sk_sim_…` "
    "(never in the URL or the body)."
)
BAD_KEY = (
    "The API key is not valid: unknown, revoked, expired or mistyped. Send the whole key as "
    "`Authorization: Bearer sk_sim_…`; a platform admin can make a new one on the console's API keys page."
)


def refuse_malformed(presented: str | None) -> str:
    """The presented key, or Unauthenticated when it is missing or malformed (checksum included): every
    route calls this first, on the event loop, so garbage never costs a body parse or a database round
    trip."""
    if not presented or not api_keys.looks_valid(presented):
        log.info("engine API key refused (prefix %s)", (presented or "")[: api_keys.PREFIX_LENGTH] or "-")
        raise Unauthenticated(BAD_KEY if presented else MISSING_KEY)
    return presented


def refuse_query(query_string: bytes) -> None:
    """No engine API route takes query parameters: one sent anyway would be ignored by a 2xx (DESIGN.md:
    nothing in a 2xx request is silently ignored), so it is a 422 naming each. Checked after the key."""
    if not query_string:
        return
    names = list(dict.fromkeys(name for name, _ in parse_qsl(query_string.decode("latin-1"), keep_blank_values=True)))
    raise ValidationFailed(
        f"This route takes no query parameters (got: {', '.join(names) or '?'}): send the data in the JSON body "
        "or the path, and the key in the Authorization header.",
        details={f"query.{name}": "not a parameter of this route" for name in names} or {"query": "not expected"},
    )


def presented_key(credentials: HTTPAuthorizationCredentials | None) -> str:
    """The key a FastAPI route was given through the bearer scheme, refused when missing or malformed."""
    return refuse_malformed(credentials.credentials if credentials is not None else None)


class Gate:
    """The engine API's one way in, built once per app: its group committer, its limits per key, play
    session and client address (shared by every process: console/api/limits.py) and the bearer scheme
    the routes declare for OpenAPI."""

    __slots__ = ("bearer", "committer", "key", "limits")

    def __init__(
        self, *, rate_limit: str, session_rate_limit: str = "", address_rate_limit: str = "", writers: int = 1
    ) -> None:
        self.committer = GroupCommitter(writers=writers)
        self.limits = SharedLimits(
            [
                Limit.parse("key", rate_limit),
                *([Limit.parse("session", session_rate_limit)] if session_rate_limit else []),
                *([Limit.parse("address", address_rate_limit)] if address_rate_limit else []),
            ]
        )
        self.bearer = HTTPBearer(
            auto_error=False,
            bearerFormat="sk_sim_…",
            description="An engine API key from the console's API keys page or `simvado-console create-api-key`.",
        )
        bearer = self.bearer

        def key(request: Request, credentials: HTTPAuthorizationCredentials | None = Security(bearer)) -> str:
            presented = presented_key(credentials)
            refuse_query(request.scope.get("query_string", b""))
            return presented

        # What routes declare (`Security(gate.key)`): a dependency, so a request without a (well-formed)
        # key is a 401 before FastAPI validates its body (a 422 would tell a stranger about the schema).
        self.key = key

    async def check_rate(self, presented: str, session_ref: object = None) -> None:
        """RateLimited (429) when the key, the play session named (an id or external id; the writes name
        it: an engine polling its results is held by the key and address limits only) or the client's
        address is over its limit; counts the request otherwise. On the event loop, before any
        transaction: a throttled request costs no database work. The key is counted by its hash, so
        the check needs no lookup (a key that is not stored was refused before: app.KnownKeys)."""
        scopes = {
            "key": api_keys.hash_key(presented)[:24],
            "session": None if session_ref is None else str(session_ref)[:255],
            "address": CLIENT_ADDRESS.get(),
        }
        for attempt in range(UNHEARD_WAITS + 1):
            retry = self.limits.hit(scopes, waited=attempt == UNHEARD_WAITS)
            if retry != 0:
                break
            await asyncio.sleep(SYNC_SECONDS)  # the other processes' count is not heard yet
        if retry:
            raise RateLimited(retry, getattr(retry, "kind", "key"))

    async def run(
        self,
        presented: str,
        scope: Permission,
        op: Callable[[Session, Actor], T],
        *,
        lock_order: str | None = None,
        session_ref: object = None,
    ) -> T:
        """Check the rates (`check_rate`), authenticate the presented key (well-formed: see
        `refuse_malformed`), check its scope, run `op`; answer only after the commit that holds it.

        The work runs on the group committer's thread, in a transaction it may share with other
        requests (one that fails is run again alone): see console/api/committer.py.
        """
        await self.check_rate(presented, session_ref)
        limited: list[RateLimited | None] = []

        def unit(session: Session) -> T:
            return op(session, self.admit(session, presented, scope, limited))

        return await self.committer.run(unit, lock_order=lock_order)

    def admit(self, session: Session, presented: str, scope: Permission, limited: list[RateLimited | None]) -> Actor:
        """The presented key's context, once it is known and holds `scope` (its rates were checked
        before: `check_rate`; `limited` is kept for the callers' signature and unused)."""
        try:
            key = api_keys.authenticate(session=session, key=presented)
        except Unauthenticated:
            # The prefix only (SECURITY.md 7): never the key itself.
            log.info("engine API key refused (prefix %s)", presented[: api_keys.PREFIX_LENGTH])
            raise Unauthenticated(BAD_KEY) from None
        if not key.can(scope):
            raise PermissionDenied(
                f"This API key lacks the {scope} scope ({'GET' if scope == api_keys.SCOPE_READ else 'POST'} "
                "routes need it): use a key that has it, made on the console's API keys page."
            )
        return key
