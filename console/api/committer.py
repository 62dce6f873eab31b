"""Group commit for the engine API: many requests' units of work share one transaction and one flush.

Every engine request is a small unit of work (authenticate the key, lock the session, insert the
events) whose cost is dominated by the commit: the WAL flush that makes "2xx means stored" true.
Concurrent requests therefore queue here and a writer thread runs whatever has queued up in one
transaction, then commits once and answers them all (the engine API runs two writers, each on its own
connection: see GroupCommitter). If a unit fails (a bad key, a conflict, any
database error), the group is rolled back and each of its units runs again in a transaction of its
own, so the failure is answered to its own request and the others still commit. No request is
answered before the commit that holds its rows has returned, so acknowledged events are durable
(synchronous_commit=on, console/db.py).

Under light load a group is one request and nothing waits; under heavy load groups grow by
themselves (up to `max_group`), which is what keeps the per-event cost low. Requests of one kind can
also share one call inside the group (`run_together`): the engine API stores a whole group's event
batches with one statement (`ingest.record_event_batches`).

The writers also keep the ORM and psycopg off the event loop, replacing a threadpool hop per request.
A writer stops after a while without work and starts again on the next request, so apps made and dropped
(tests, reloads) leave no threads behind.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session

from console import db, unit_of_work
from console.services.common import driver_connection

log = logging.getLogger("simvado.api")
T = TypeVar("T")


class DatabaseUnavailable(Exception):
    """The group's transaction could not be committed (or the database could not be reached).

    Nothing of the request is stored; the engine may retry (events are idempotent on their ids).
    """


# Work for many units at once: takes the units' items, returns a result for each, in order. Raising
# means one of them failed (which one need not be known): the group is rolled back and each unit runs
# again alone, `work(session, [item])`, where its own failure is its own.
Work = Callable[[Session, list[Any]], list[Any]]


def _each(session: Session, ops: list[Callable[[Session], Any]]) -> list[Any]:
    return [op(session) for op in ops]


@dataclass
class _Unit:
    work: Work
    item: Any
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future
    lock_order: str | None = None


# A group's units take row locks (a play session's row, above all) and hold them until the group
# commits; groups of other processes (`serve-api --workers N`, more servers) do the same. Units are run
# in the order of the row they lock first, as the request names it (`id:<session id>` or
# `ext:<external id>`), so groups whose requests name their sessions the same way take those locks in
# one order and cannot deadlock on them (PostgreSQL finds a deadlock only after a second, and a stall
# of a second for dozens of requests is what engines would see). What ordering cannot cover (one
# session named by id in one request and by external id in another, rows locked later in a unit) is
# bounded by a lock timeout: a group that waits longer on a lock gives up and runs its units one by
# one, each in a transaction of its own. The timeout is lifted for the group's COMMIT (see _transaction).
GROUP_LOCK_TIMEOUT = "250ms"
_SET_LOCK_TIMEOUT = "SELECT set_config('lock_timeout', %(timeout)s, true)"  # this transaction only


def _settle(future: asyncio.Future, value: Any, error: BaseException | None) -> None:
    if future.done():  # cancelled: the client went away (its rows, if any, are committed all the same)
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(value)


def _answer(unit: _Unit, value: Any, error: BaseException | None) -> None:
    """Hand a unit's outcome to the event loop that waits for it (from the writer thread)."""
    # RuntimeError: that loop has closed (its server stopped), so nobody is waiting any more.
    with contextlib.suppress(RuntimeError):
        unit.loop.call_soon_threadsafe(_settle, unit.future, value, error)


def _settle_all(outcomes: list[tuple[asyncio.Future, Any]]) -> None:
    for future, value in outcomes:
        _settle(future, value, None)


def _answer_group(units: list[_Unit], values: list[Any]) -> None:
    """Hand a committed group's results to their event loops: one wake-up per loop, not per unit."""
    by_loop: dict[asyncio.AbstractEventLoop, list[tuple[asyncio.Future, Any]]] = {}
    for unit, value in zip(units, values, strict=True):
        by_loop.setdefault(unit.loop, []).append((unit.future, value))
    for loop, outcomes in by_loop.items():
        with contextlib.suppress(RuntimeError):  # that loop has closed: nobody is waiting any more
            loop.call_soon_threadsafe(_settle_all, outcomes)


class _Writer(threading.Thread):
    """A writer thread and its own connection, kept between groups (no pool checkout and ping per group)."""

    def __init__(self, target: Callable[[_Writer], None]) -> None:
        super().__init__(target=target, args=(self,), name="engine-api-writer", daemon=True)
        self.conn: Connection | None = None
        self.conn_engine: Engine | None = None
        self.wanted = threading.Event()  # a helper's call: heavy work is queued while the first is busy


class GroupCommitter:
    """Groups taken from one queue by a writer thread, each group in one transaction on the writer's own
    connection; with `writers` above one, helpers for heavy work.

    The first writer takes every group it can. A unit of at least `heavy` weight (the engine API's is
    its event count) queued while that writer is busy calls up to `writers - 1` helpers, which take
    groups until the queue is empty: PostgreSQL then works on one group while another commits (a WAL
    flush is a wait, not work) or is being answered. With one writer, batches of 100 events stopped at
    what one connection could take (the database idle in those moments: 0.51–0.55 × COPY in
    bench/ingest.py; with a helper, 0.75). Light units (single events) wait for the first writer
    instead (helpers, once called, take whatever is queued until the queue is empty, light units too):
    splitting their groups costs more (a transaction and a key lookup per group) than the parallel work
    brings (measured: 0.80–0.90 × INSERT+commit×8 with two writers for everything, 0.92–
    0.98 with one). Groups of different writers run concurrently as groups of two `serve-api`
    processes do, so the lock order below covers them; and a group waits for any earlier group still in
    flight that names one of its rows, so one session's units keep their arrival order (see __init__).
    """

    def __init__(self, *, max_group: int = 64, idle_seconds: float = 30.0, writers: int = 1, heavy: int = 50) -> None:
        self.max_group = max_group
        self.idle_seconds = idle_seconds
        self.writers = max(1, writers)
        self.heavy = heavy
        self._queue: queue.SimpleQueue[_Unit] = queue.SimpleQueue()
        self._thread: _Writer | None = None  # the first writer
        self._helpers: list[_Writer] = []
        self._busy = False  # the first writer is running a group
        self._lock = threading.Lock()
        # Groups are taken one writer at a time (`_taking`), so each is a run of consecutive units and
        # their numbers follow arrival. A group that names a row (a lock order) an earlier group still in
        # flight names waits for it (`_flight`): a session's start, then its batch, stay in that order
        # when a helper takes the batch. Waits go from later groups to earlier ones only: no cycle.
        self._taking = threading.Lock()
        self._flight = threading.Condition()
        self._in_flight: list[_Group] = []
        self._numbers = itertools.count()

    async def run(self, op: Callable[[Session], T], *, lock_order: str | None = None, weight: int = 1) -> T:
        """Run `op(session)` in the next group's transaction; return its result once committed.

        `lock_order` names the row `op` locks first (e.g. its play session): a group runs its units in
        that order (units without one last, in arrival order). `weight`: see run_together.
        """
        return await self.run_together(_each, op, lock_order=lock_order, weight=weight)

    async def run_together(self, work: Work, item: Any, *, lock_order: str | None = None, weight: int = 1) -> Any:
        """Have `work` do `item` in the next group's transaction, in one call with the group's other
        items for the same `work` (one statement for many requests, say); return its result once
        committed. A group runs its units by `lock_order`, and each run of consecutive units with the
        same `work` is one call, taking their items in that order. `weight`: how much database work the
        item is (the engine API: its events); at `heavy` or more it may be taken by a helper.
        """
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        self._queue.put(_Unit(work, item, loop, future, lock_order))
        self._ensure_thread()
        if weight >= self.heavy and self._busy and self.writers > 1:
            self._call_helpers()
        return await future

    def _ensure_thread(self) -> None:
        # Under the lock every time: a writer that found the queue empty and is leaving sets `_thread`
        # to None under it, so a unit queued meanwhile is seen here and gets a new writer (read without
        # the lock, the leaving writer still looked alive and the unit waited for the next request).
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = _Writer(self._work)
                self._thread.start()

    def _call_helpers(self) -> None:
        with self._lock:
            self._helpers = [h for h in self._helpers if h.is_alive()]
            while len(self._helpers) < self.writers - 1:
                helper = _Writer(self._help)
                self._helpers.append(helper)
                helper.start()
            for helper in self._helpers:
                helper.wanted.set()

    def _take_group(self, *, wait: float | None) -> _Group | None:
        """The next run of queued units (waiting up to `wait` seconds for the first; None: not at all),
        numbered and in flight from now on; None if nothing came."""
        with self._taking:
            try:
                first = self._queue.get(timeout=wait) if wait is not None else self._queue.get_nowait()
            except queue.Empty:
                return None
            units = [first]
            while len(units) < self.max_group:
                try:
                    units.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            group = _Group(next(self._numbers), units, frozenset(u.lock_order for u in units if u.lock_order))
            with self._flight:
                self._in_flight.append(group)
        return group

    def _run_in_turn(self, writer: _Writer, group: _Group) -> None:
        with self._flight:
            while any(g.number < group.number and g.orders & group.orders for g in self._in_flight):
                self._flight.wait()
        try:
            self._run_safely(writer, group.units)
        finally:
            with self._flight:
                self._in_flight.remove(group)
                self._flight.notify_all()

    def _work(self, writer: _Writer) -> None:
        """The first writer: every group it can take."""
        while True:
            group = self._take_group(wait=self.idle_seconds)
            if group is None:
                with self._lock:
                    # A unit queued between the timeout and taking the lock finds no live thread
                    # after we leave, and `_ensure_thread` (called after every put) starts one.
                    leaving = self._queue.empty()
                    if leaving:
                        self._thread = None
                if leaving:  # closed outside the lock, which every request takes
                    self._drop_connection(writer)
                    return
                continue
            self._busy = True
            try:
                self._run_in_turn(writer, group)
            finally:
                self._busy = False

    def _help(self, writer: _Writer) -> None:
        """A helper: when called, groups until the queue is empty; leaves after idle_seconds uncalled."""
        while True:
            if not writer.wanted.wait(self.idle_seconds):
                with self._lock:
                    leaving = not writer.wanted.is_set()
                    if leaving:
                        self._helpers = [h for h in self._helpers if h is not writer]
                if leaving:  # closed outside the lock, which every request takes
                    self._drop_connection(writer)
                    return
                continue
            writer.wanted.clear()
            while (group := self._take_group(wait=None)) is not None:
                self._run_in_turn(writer, group)

    def _run_safely(self, writer: _Writer, group: list[_Unit]) -> None:
        try:
            self._run_group(writer, group)
        except Exception as exc:  # never let the writer die: every later request would hang
            log.exception("engine API writer failed on a group of %d", len(group))
            self._answer_all(group, exc)

    def _run_group(self, writer: _Writer, group: list[_Unit]) -> None:
        """One transaction for the whole group; if any unit fails, each unit again in its own.

        Optimistic on purpose: failures (a revoked key, a conflicting event id, an unknown session)
        are rare next to the steady stream of good batches, and a savepoint per unit costs two more
        round trips on every request. A unit is only ever answered from a transaction that committed
        or from its own error.
        """
        if len(group) > 1:
            # Stable: units naming the same row keep their arrival order (a session start, then its events).
            ordered = sorted(group, key=lambda unit: (unit.lock_order is None, unit.lock_order or ""))
            try:
                values = self._transaction(writer, ordered, lock_timeout=GROUP_LOCK_TIMEOUT)
            except _UnitFailed:
                pass  # fall through: each unit alone, so the failure stays with its own request
            except Exception as exc:
                self._answer_all(group, exc)
                return
            else:
                _answer_group(ordered, values)
                return
        for unit in group:  # alone, in arrival order
            try:
                (value,) = self._transaction(writer, [unit])
            except _UnitFailed as failed:
                error = failed.error
                if isinstance(error, DBAPIError):
                    log.error("engine API unit failed in the database: %s", type(error.orig).__name__)
                    error = DatabaseUnavailable(type(error.orig).__name__)
                _answer(unit, None, error)
            except Exception as exc:
                self._answer_all([unit], exc)
            else:
                _answer(unit, value, None)

    def _transaction(self, writer: _Writer, units: list[_Unit], *, lock_timeout: str | None = None) -> list[Any]:
        """Run the units in one transaction and commit it; _UnitFailed (rolled back) if one raises."""
        connection = self._connection(writer)
        try:
            with Session(bind=connection, expire_on_commit=False) as session:
                if lock_timeout is not None:
                    # Pipelined: travels with the BEGIN psycopg sends first, one round trip for both
                    # (straight on the driver: through the ORM this was a fifth of the writer's time).
                    driver = driver_connection(session)
                    with driver.pipeline():
                        driver.execute(_SET_LOCK_TIMEOUT, {"timeout": lock_timeout})
                # Consecutive units sharing a work share a call: the lock order holds across calls.
                runs: list[tuple[Work, list[int]]] = []
                for index, unit in enumerate(units):
                    if runs and runs[-1][0] is unit.work:
                        runs[-1][1].append(index)
                    else:
                        runs.append((unit.work, [index]))
                values: list[Any] = [None] * len(units)
                for work, members in runs:
                    try:
                        results = work(session, [units[index].item for index in members])
                    except Exception as exc:
                        unit_of_work.rollback(session)
                        raise _UnitFailed(exc) from exc
                    for index, value in zip(members, results, strict=True):
                        values[index] = value
                if lock_timeout is None:
                    unit_of_work.commit(session)
                else:
                    # The timeout bounds waits for rows, not the COMMIT, which may wait for the NOTIFY
                    # turn that another transaction (the helper's, another process's) holds through its
                    # WAL flush: past 250 ms on a slow disk, and a group refused there answered 503.
                    # Lifted in the COMMIT's own round trip (pipelined).
                    driver = driver_connection(session)
                    with driver.pipeline():
                        driver.execute(_SET_LOCK_TIMEOUT, {"timeout": "0"})
                        unit_of_work.commit(session)
                return values
        except _UnitFailed:
            raise
        except Exception:
            self._drop_connection(writer)  # it may be broken; the next group takes a fresh one
            raise

    @staticmethod
    def _connection(writer: _Writer) -> Connection:
        """The writer's own connection, kept between groups (no pool checkout and ping per group)."""
        engine = db.get_engine()
        conn = writer.conn
        if conn is not None and (writer.conn_engine is not engine or conn.closed or conn.invalidated):
            GroupCommitter._drop_connection(writer)
        if writer.conn is None:
            writer.conn = engine.connect()
            writer.conn_engine = engine
        return writer.conn

    @staticmethod
    def _drop_connection(writer: _Writer) -> None:
        if writer.conn is not None:
            try:
                writer.conn.invalidate()
                writer.conn.close()
            except Exception:  # noqa: S110 — already broken; nothing more to release
                pass
        writer.conn = None
        writer.conn_engine = None

    def _answer_all(self, units: list[_Unit], exc: BaseException) -> None:
        log.error("engine API group of %d could not be committed: %s", len(units), type(exc).__name__)
        failure = DatabaseUnavailable(type(exc).__name__)
        for unit in units:
            _answer(unit, None, failure)


@dataclass
class _Group:
    number: int
    units: list[_Unit]
    orders: frozenset[str]


class _UnitFailed(Exception):
    def __init__(self, error: Exception) -> None:
        self.error = error
