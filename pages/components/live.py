"""Live updates on a page: run a callback when a play session the viewer may see changes.

    on_session_change(lambda change: refresh() if change.affects(session_id) else None)

The callback runs in the page's client context (so it may redraw elements and use `calls.read`), and
may be a coroutine function. What each page gets, and when:

- **Throttled, never dropped.** The first change after a quiet spell is delivered at once; after that
  at most one delivery per `INTERVAL_SECONDS` (0.2 s), with every change heard meanwhile — one per
  play session, the most telling kind (a completion over its last event). A delivery never overlaps
  the one before: a slow re-read holds the next one back, which then carries everything that arrived.
- **Scoped, and the viewer re-checked.** The changes are filtered to those that could concern this
  viewer (`live_board.change_filter`): an enterprise admin's page never hears of another
  organization's play, and does no work for it. The filter comes with the viewer's login resolved
  again (the same check as every `calls.read`), at the first delivery and then at most every
  `RECHECK_SECONDS`; and every `calls.read` the callback makes resolves it again anyway. Signed out,
  expired, deactivated or no longer allowed: the page stops updating and goes to sign in.
- **Bound to the client.** Nothing is delivered while the browser is disconnected (it is delivered
  on reconnection); the subscription ends when NiceGUI deletes the client (the tab closed or
  navigated away).
- **Resync.** After the console's LISTEN connection was lost and is back, every page gets
  `SessionChange.resync()` (`change.affects(...)` is true for it): re-read everything.

`on_session_change` calls back once per play session that changed (for a page about one session);
`on_session_changes` once per delivery with all of them (for a page that re-reads a whole view).
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import time
import uuid
from collections.abc import Awaitable, Callable

from nicegui import background_tasks, context
from nicegui.client import Client

from console.live import HUB, SessionChange
from console.services.sessions import live_board
from pages.components import calls

log = logging.getLogger("simvado.live")

INTERVAL_SECONDS = 0.2
# How often the subscription itself resolves the viewer and their reach again. Every `calls.read` a
# callback makes resolves the viewer too, so a page that re-reads on a change stops at the first
# change after a sign-out; this bounds it for callbacks that read nothing (and refreshes the filter).
RECHECK_SECONDS = 2.0

__all__ = ["INTERVAL_SECONDS", "SessionChange", "on_session_change", "on_session_changes"]


def on_session_change(callback: Callable[[SessionChange], None]) -> None:
    """Call `callback(change)` in this page's client context for each play session the viewer may see
    that changed (throttled: see the module docstring). Call it while drawing a secured page."""

    async def each(changes: list[SessionChange]) -> None:
        for change in changes:
            result = callback(change)
            if inspect.isawaitable(result):
                await result

    _PageSubscription(context.client, each, INTERVAL_SECONDS)


def on_session_changes(
    callback: Callable[[list[SessionChange]], Awaitable[None] | None], *, interval: float = INTERVAL_SECONDS
) -> None:
    """Call `callback(changes)` in this page's client context with the changes since the last call, at
    most once per `interval` seconds (see the module docstring)."""

    async def batch(changes: list[SessionChange]) -> None:
        result = callback(changes)
        if inspect.isawaitable(result):
            await result

    _PageSubscription(context.client, batch, interval)


class _PageSubscription:
    """One page's subscription to the process's hub (console/live)."""

    def __init__(self, client: Client, deliver: Callable[[list[SessionChange]], Awaitable[None]], interval: float):
        self.client = client
        self.deliver = deliver
        self.interval = interval
        self.pending: dict[uuid.UUID | None, SessionChange] = {}
        self.scope: live_board.ChangeFilter | None = None  # unknown until the first delivery's check
        self.last_delivery = float("-inf")
        self.checked_at = float("-inf")
        self.task: asyncio.Task | None = None
        self.closed = False
        self.unsubscribe = HUB.subscribe(self.heard)
        client.on_delete(self.close)
        client.on_connect(self.kick)  # deliver what was heard while the browser was away

    def heard(self, changes: list[SessionChange]) -> None:
        if self.closed:
            return
        if self.client.is_deleted:
            self.close()
            return
        for change in changes:
            if self.scope is not None and not self.scope(change):
                continue
            held = self.pending.get(change.session_id)
            if held is None or change.outranks(held):
                self.pending[change.session_id] = change
        self.kick()

    def kick(self) -> None:
        if self.closed or not self.pending or (self.task is not None and not self.task.done()):
            return
        self.task = background_tasks.create(self._drain(), name="live page update", context=self.client)

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        self.unsubscribe()
        self.pending.clear()
        task = self.task
        if task is not None and not task.done() and task is not asyncio.current_task():
            task.cancel()

    async def _drain(self) -> None:
        while self.pending and not self.closed:
            wait = self.last_delivery + self.interval - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            if self.closed or not self.client.has_socket_connection:
                return  # kicked again on reconnection (or gone for good)
            changes, self.pending = list(self.pending.values()), {}
            self.last_delivery = time.monotonic()
            with self.client:
                try:
                    if self.scope is None or self.last_delivery - self.checked_at >= RECHECK_SECONDS:
                        # The viewer as they are now: a signed-out page stops here, on its way to sign in.
                        self.scope = await calls.read(live_board.change_filter)
                        self.checked_at = self.last_delivery
                    relevant = [change for change in changes if self.scope(change)]
                    if relevant:
                        await self.deliver(relevant)
                except calls.AccessRevoked:
                    self.close()
                    return
                except asyncio.CancelledError:
                    raise
                except Exception:  # a failed refresh must not end the page's updates
                    log.exception("a live page update failed")
