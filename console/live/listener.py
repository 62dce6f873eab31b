"""Hearing the changes: one LISTEN connection per console process, fanned out to in-process subscribers.

`Listener` keeps a dedicated psycopg connection (autocommit, not from the pool) that LISTENs on
`CHANNEL`, on the event loop the console serves pages from (psycopg's async API: no thread, and
stopping it at shutdown is a cancellation). Notifications that arrive together are handed to the
subscribers of the `Hub` in one call, once the connection has nothing more to read.

If the connection is lost (PostgreSQL restarted, a network drop, pg_terminate_backend), it connects
again with a growing pause (0.1 s up to 5 s). Notifications sent meanwhile are gone — PostgreSQL keeps
them only for connected listeners — so once it is back, every subscriber is told
`SessionChange.resync()`: re-read everything. A heartbeat (`SELECT 1` after 30 s without a
notification) finds a connection that died silently, and TCP keepalives a peer that vanished.

Pages never talk to the listener: they subscribe to the process's hub (`HUB`) through
pages/components/live.py, which throttles and scopes what each page gets.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import uuid
from collections.abc import Callable

import psycopg

from console.live.changes import CHANNEL, ChangeKind, SessionChange

log = logging.getLogger("simvado.live")

Subscriber = Callable[[list[SessionChange]], None]


class Hub:
    """The process's subscribers to play session changes. Called on the event loop only."""

    # Sessions whose changes are counted before the counts start over (a long-lived process hears of
    # every session ever played; the counts only need to tell "changed since" apart).
    MAX_COUNTED = 100_000

    def __init__(self) -> None:
        self._subscribers: dict[int, Subscriber] = {}
        self._ids = itertools.count()
        self._changes: dict[uuid.UUID | None, int] = {}  # how many changes of each session were heard
        self._epoch = 0  # moves on a resync: everything may have changed

    def subscribe(self, subscriber: Subscriber) -> Callable[[], None]:
        """Call `subscriber(changes)` for every group of changes heard; returns the unsubscribe."""
        key = next(self._ids)
        self._subscribers[key] = subscriber

        def unsubscribe() -> None:
            self._subscribers.pop(key, None)

        return unsubscribe

    def clear(self) -> None:
        """Drop every subscriber (the app stopped: its pages are gone)."""
        self._subscribers.clear()

    def __len__(self) -> int:
        return len(self._subscribers)

    def version(self, session_id: uuid.UUID) -> tuple[int, int]:
        """A value that moves whenever a change of this session is heard (see console/live/memo.py).
        Read from any thread: one dict lookup."""
        return self._epoch, self._changes.get(session_id, 0)

    def publish(self, changes: list[SessionChange]) -> None:
        for change in changes:  # counted before anyone hears of it: a re-read after this sees it moved
            if change.kind is ChangeKind.resync or len(self._changes) >= self.MAX_COUNTED:
                self._changes = {}
                self._epoch += 1
            else:
                self._changes[change.session_id] = self._changes.get(change.session_id, 0) + 1
        for subscriber in list(self._subscribers.values()):
            try:
                subscriber(changes)
            except Exception:  # one broken page must not keep the others from hearing
                log.exception("a live subscriber failed")


HUB = Hub()

BACKOFF_SECONDS = (0.1, 0.25, 0.5, 1.0, 2.0, 5.0)
HEARTBEAT_SECONDS = 30.0
# Keepalives find a peer that vanished without closing the connection (another host's PostgreSQL);
# they apply to TCP only (the embedded server's unix socket never half-dies).
_CONNECT_OPTIONS = {
    "autocommit": True,
    "application_name": "simvado-console live",
    "keepalives": 1,
    "keepalives_idle": 30,
    "keepalives_interval": 10,
    "keepalives_count": 3,
    "connect_timeout": 10,
}


def libpq_url(url: str) -> str:
    """A libpq URI from the SQLAlchemy one (`postgresql+psycopg://…`)."""
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


class Listener:
    """The process's LISTEN connection; `start()` on the serving loop, `await stop()` at shutdown."""

    def __init__(
        self,
        url: str,
        hub: Hub = HUB,
        *,
        heartbeat_seconds: float = HEARTBEAT_SECONDS,
        backoff_seconds: tuple[float, ...] = BACKOFF_SECONDS,
    ) -> None:
        self._url = libpq_url(url)
        self._hub = hub
        self._heartbeat = heartbeat_seconds
        self._backoff = backoff_seconds
        self._task: asyncio.Task | None = None
        self._pending: list[str] = []
        self._missed = False  # notifications may have been sent while it was not listening
        self.connected = asyncio.Event()  # set while LISTENing: tests wait on it
        self.connections = 0  # how many times it has connected (reconnections show as more than 1)
        self.backend_pid: int | None = None  # the LISTENing backend, while connected

    def start(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run(), name="simvado live listener")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def stop_soon(self) -> None:
        """Cancel without waiting (its connection closes as the task ends)."""
        if self._task is not None:
            self._task.cancel()
            self._task = None

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    async def _run(self) -> None:
        failures = 0  # in a row, without a connection in between
        while True:
            before = self.connections
            try:
                await self._listen()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # psycopg.Error above all; never let the listener die
                if self.connections != before:
                    failures = 0  # it was working: start the pauses over
                pause = self._backoff[min(failures, len(self._backoff) - 1)]
                failures += 1
                self._missed = True
                # The type only: a connection error can quote the connection string.
                level = logging.WARNING if failures == 1 else logging.DEBUG
                log.log(level, "live connection lost (%s); connecting again in %.2f s", type(exc).__name__, pause)
                await asyncio.sleep(pause)

    async def _listen(self) -> None:
        conn = await psycopg.AsyncConnection.connect(self._url, **_CONNECT_OPTIONS)
        try:
            await conn.execute(f"LISTEN {CHANNEL}")  # our own constant, never user input
            self.backend_pid = conn.info.backend_pid
            self.connections += 1
            self.connected.set()
            if self._missed:
                self._missed = False
                log.info("live connection back: pages re-read what they show")
                self._hub.publish([SessionChange.resync()])
            loop = asyncio.get_running_loop()
            while True:
                async for notify in conn.notifies(timeout=self._heartbeat):
                    if not self._pending:
                        # Handed over once the connection has nothing more to read: the notifications
                        # of one burst (a busy group commit) reach subscribers together.
                        loop.call_soon(self._deliver)
                    self._pending.append(notify.payload)
                await conn.execute("SELECT 1")  # quiet for a while: is the connection still there?
        finally:
            self.connected.clear()
            self.backend_pid = None
            with contextlib.suppress(Exception):
                await conn.close()

    def _deliver(self) -> None:
        payloads, self._pending = self._pending, []
        if not len(self._hub):
            return  # nobody is watching: not even worth parsing
        changes = []
        for payload in payloads:
            try:
                changes.append(SessionChange.from_payload(payload))
            except ValueError:
                log.warning("ignored a notification on %s that is not a session change", CHANNEL)
        if changes:
            self._hub.publish(changes)
