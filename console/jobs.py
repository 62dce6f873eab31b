"""Background jobs on procrastinate (the console's own PostgreSQL; schema in migration 0002).

- `console:debrief` (`DEBRIEF`) writes a completed session's debrief. Services queue it with
  `defer(session, DEBRIEF, …)` *inside* the work that completes the session, so a committed completion
  always has its job; it retries with backoff, and the API also tries once right after answering
  (`write_debrief_now`) so debriefs usually appear at once. Writing a debrief is idempotent, so a job
  finding it written is a no-op.
- `console:billing_sync` (`BILLING_SYNC`) reads one Stripe subscription and applies it (invoice events
  queue it: console/services/billing/events.py).
- Periodic: Stripe compared with the database every hour (billing reconciliation), abandoned sessions
  (no event for `SIMVADO_ABANDON_AFTER_MINUTES`), overdue assignments,
  a sweep for completed sessions that still lack a debrief, and the pruning of finished jobs.

Run by `simvado-console worker`, or in-process by `simvado-console serve` in embedded mode.
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from dataclasses import dataclass
from datetime import timedelta

import procrastinate
from sqlalchemy import text
from sqlmodel import Session

from console import db, unit_of_work
from console.config import get_settings

log = logging.getLogger("simvado.jobs")

NAMESPACE = "console"


@dataclass(frozen=True)
class Job:
    """A kind of job the worker runs, by the name services defer it under."""

    name: str
    queue: str = "default"

    @property
    def task(self) -> str:
        return f"{NAMESPACE}:{self.name}"


DEBRIEF = Job("debrief", queue="debriefs")
# Read one subscription from Stripe and apply it (queued by invoice events: docs/billing.md).
BILLING_SYNC = Job("billing_sync", queue="billing")

# procrastinate's own SQL function, so the job row is written in the caller's transaction.
_DEFER_JOB = text(
    "SELECT procrastinate_defer_jobs_v1(ARRAY[ROW(:queue, :task, 0, NULL, NULL, CAST(:args AS jsonb), NULL)"
    "::procrastinate_job_to_defer_v1])"
)


def defer(session: Session, job: Job, **args: str) -> None:
    """Queue `job` with the session's work: it exists exactly when that work commits."""
    session.execute(_DEFER_JOB, {"queue": job.queue, "task": job.task, "args": json.dumps(args)})


def write_debrief(play_session_id: str) -> None:
    from console.services import debrief as debriefs

    with unit_of_work.transaction() as session:
        debriefs.write_for_session(session=session, play_session_id=uuid.UUID(play_session_id))


def write_debrief_now(play_session_id: uuid.UUID) -> None:
    """The engine API's try right after answering a completion; the queued job remains the safety net."""
    try:
        write_debrief(str(play_session_id))
    except Exception:  # a failed debrief must never hurt the already-committed events
        log.exception("debrief for session %s failed; its queued job will retry it", play_session_id)


def sweep_debriefs(timestamp: int) -> None:
    from console.services import debrief as debriefs
    from console.services import ingest

    with unit_of_work.read_only() as session:
        ids = ingest.sessions_awaiting_debrief(session=session)
    for play_session_id in ids:
        with unit_of_work.transaction() as session:
            debriefs.write_for_session(session=session, play_session_id=play_session_id)


def sweep_abandoned(timestamp: int) -> None:
    from console.services import sweeps

    with unit_of_work.transaction() as session:
        ids = sweeps.mark_abandoned(session=session, idle=timedelta(minutes=get_settings().abandon_after_minutes))
    if ids:
        log.info("marked %d idle sessions abandoned", len(ids))


def sweep_overdue(timestamp: int) -> None:
    from console.services import assignments

    with unit_of_work.transaction() as session:
        count = assignments.mark_overdue(session=session)
    if count:
        log.info("marked %d assignments overdue", count)


def billing_sync(subscription_id: str) -> None:
    from console.services.billing import sync

    sync.sync_subscription(subscription_id)


def billing_reconcile(timestamp: int) -> None:
    from console.services.billing import reconcile

    if reconcile.configured():
        reconcile.run()


FINISHED_JOBS_KEPT_HOURS = 7 * 24


async def prune_jobs(context: procrastinate.JobContext, timestamp: int) -> None:
    """Finished jobs older than a week go: one debrief job a completion would otherwise grow the job
    table with the history (docs/scale.md). Failed ones stay, for someone to look at."""
    await context.app.job_manager.delete_old_jobs(nb_hours=FINISHED_JOBS_KEPT_HOURS)


def _blueprint() -> procrastinate.Blueprint:
    """The console's tasks, on a fresh blueprint (a blueprint binds to the first app it is added to)."""
    bp = procrastinate.Blueprint()
    bp.task(
        write_debrief,
        name=DEBRIEF.name,
        queue=DEBRIEF.queue,
        retry=procrastinate.RetryStrategy(max_attempts=8, exponential_wait=2),
    )
    bp.task(
        billing_sync,
        name=BILLING_SYNC.name,
        queue=BILLING_SYNC.queue,
        retry=procrastinate.RetryStrategy(max_attempts=8, exponential_wait=2),
    )
    for func, cron, name in (
        (sweep_debriefs, "* * * * *", "sweep_debriefs"),
        (sweep_abandoned, "*/5 * * * *", "sweep_abandoned"),
        (sweep_overdue, "7 * * * *", "sweep_overdue"),
        (billing_reconcile, "23 * * * *", "billing_reconcile"),
    ):
        bp.periodic(cron=cron, periodic_id=name)(bp.task(func, name=name, queueing_lock=name))
    bp.periodic(cron="17 3 * * *", periodic_id="prune_jobs")(
        bp.task(prune_jobs, name="prune_jobs", queueing_lock="prune_jobs", pass_context=True)
    )
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
