"""Background jobs on procrastinate (the console's own PostgreSQL; schema in migration 0002).

- `console:debrief` writes a completed session's debrief. It is deferred *inside* the transaction
  that completes the session (`ingest.defer_debrief`), so a committed completion always has its job; it
  retries with backoff, and the API also tries once right after answering so debriefs usually appear
  at once. Writing a debrief is idempotent, so a job finding it written is a no-op.
- Periodic: abandoned sessions (no event for `SIMVADO_ABANDON_AFTER_MINUTES`), overdue assignments,
  and a sweep for completed sessions that still lack a debrief.

Run by `simvado-console worker`, or in-process by `simvado-console serve` in embedded mode.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from datetime import timedelta

import procrastinate

from console import db
from console.config import get_settings
from console.services.ingest import DEBRIEF_QUEUE

log = logging.getLogger("simvado.jobs")

NAMESPACE = "console"  # ingest.DEBRIEF_TASK is "console:debrief": this namespace + the task's name


def write_debrief(play_session_id: str) -> None:
    from console.services import debrief as debriefs

    with db.transaction() as session:
        debriefs.write_for_session(session=session, play_session_id=uuid.UUID(play_session_id))


def sweep_debriefs(timestamp: int) -> None:
    from console.services import debrief as debriefs
    from console.services import ingest

    with db.read_only() as session:
        ids = ingest.sessions_awaiting_debrief(session=session)
    for play_session_id in ids:
        with db.transaction() as session:
            debriefs.write_for_session(session=session, play_session_id=play_session_id)


def sweep_abandoned(timestamp: int) -> None:
    from console.services import sweeps

    with db.transaction() as session:
        ids = sweeps.mark_abandoned(session=session, idle=timedelta(minutes=get_settings().abandon_after_minutes))
    if ids:
        log.info("marked %d idle sessions abandoned", len(ids))


def sweep_overdue(timestamp: int) -> None:
    from console.services import sweeps

    with db.transaction() as session:
        count = sweeps.mark_overdue(session=session)
    if count:
        log.info("marked %d assignments overdue", count)


def _blueprint() -> procrastinate.Blueprint:
    """The console's tasks, on a fresh blueprint (a blueprint binds to the first app it is added to)."""
    bp = procrastinate.Blueprint()
    bp.task(
        write_debrief,
        name="debrief",
        queue=DEBRIEF_QUEUE,
        retry=procrastinate.RetryStrategy(max_attempts=8, exponential_wait=2),
    )
    for func, cron, name in (
        (sweep_debriefs, "* * * * *", "sweep_debriefs"),
        (sweep_abandoned, "*/5 * * * *", "sweep_abandoned"),
        (sweep_overdue, "7 * * * *", "sweep_overdue"),
    ):
        bp.periodic(cron=cron, periodic_id=name)(bp.task(func, name=name, queueing_lock=name))
    return bp


def libpq_url(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


def make_app(url: str | None = None) -> procrastinate.App:
    url = url or db.get_engine().url.render_as_string(hide_password=False)
    app = procrastinate.App(connector=procrastinate.PsycopgConnector(conninfo=libpq_url(url)))
    app.add_tasks_from(_blueprint(), namespace=NAMESPACE)
    return app


async def run_worker(app: procrastinate.App, *, concurrency: int = 4, wait: bool = True) -> None:
    """Run a worker until cancelled (or, with wait=False, until the queue is empty: for tests)."""
    async with app.open_async():
        await app.run_worker_async(concurrency=concurrency, wait=wait, install_signal_handlers=False)


def run_worker_forever(concurrency: int = 4) -> None:
    asyncio.run(run_worker(make_app(), concurrency=concurrency))
