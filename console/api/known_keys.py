"""Refusing a well-formed key that is not stored before its request's body is read (SECURITY.md 27).

A made-up key with a valid checksum passes `looks_valid`; without this it would cost a body parse
(up to a megabyte) and a transaction before `authenticate` said no. Here its hash is looked up once
(one indexed SELECT, on a worker thread), and the answer kept for CACHE_SECONDS: a flood of one unknown
key costs one lookup per CACHE_SECONDS per process. Known keys are remembered as well, so the accepted
path pays a dict lookup. Revocation and expiry are not decided here: `authenticate` checks every
request's key in its own transaction, so a revoked key is refused from its next request as before.
"""

from __future__ import annotations

import time

from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Receive, Scope, Send

from console import unit_of_work
from console.api.middleware import bearer_token, first_headers, send_error
from console.errors import Unauthenticated
from console.services import api_keys
from console.services.common import driver_connection

CACHE_SECONDS = 30.0
CACHE_MAX = 10_000  # keys remembered per process (past it, the memory starts over)
_STORED = "SELECT 1 FROM api_keys WHERE key_hash = %(hash)s"
KEY_IN_SCOPE = "simvado.well_formed_key"  # the request's well-formed bearer key, once checked


class KnownKeys:
    """Answers 401 for a well-formed key that no row holds, from the headers alone."""

    def __init__(self) -> None:
        self._seen: dict[str, tuple[bool, float]] = {}

    def _lookup(self, key_hash: str) -> bool:
        with unit_of_work.read_only() as session:
            return driver_connection(session).execute(_STORED, {"hash": key_hash}).fetchone() is not None

    async def stored(self, key: str) -> bool:
        key_hash = api_keys.hash_key(key)
        now = time.monotonic()
        seen = self._seen.get(key_hash)
        if seen is not None and seen[1] > now:
            return seen[0]
        try:
            known = await run_in_threadpool(self._lookup, key_hash)
        except Exception:  # noqa: BLE001 — the database is away: let the request meet it (503 there), unremembered
            return True
        if len(self._seen) >= CACHE_MAX:
            self._seen = {}
        self._seen[key_hash] = (known, now + CACHE_SECONDS)
        return known

    async def __call__(self, scope: Scope, receive: Receive, send: Send, app: ASGIApp) -> None:
        if scope["type"] == "http":
            token = bearer_token(first_headers(scope).get(b"authorization"))
            if token and api_keys.looks_valid(token):
                scope[KEY_IN_SCOPE] = token  # what comes next (the rejection recorder) reads it here
            if token and KEY_IN_SCOPE in scope and not await self.stored(token):
                # The same answer as `authenticate`'s for any refused key (never told apart).
                await send_error(
                    send, 401, Unauthenticated.code, api_keys.INVALID_KEY, [(b"www-authenticate", b"Bearer")]
                )
                return
        await app(scope, receive, send)
