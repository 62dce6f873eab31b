"""Background jobs: the debrief job commits with the completion; a worker writes it; sweeps."""

from __future__ import annotations

import uuid
from datetime import date, timedelta

from sqlalchemy import text

from console import jobs, unit_of_work
from console.services import assignments, sweeps
from models import PlaySession, SimulationAssignment
from models.base import utcnow
from models.enums import AssignmentStatus, SessionStatus
from tests.api.conftest import event, post_events, start


def test_completion_queues_a_debrief_job_that_a_worker_runs(client, world):
    sid = start(client, world).json()["id"]
    post_events(client, world, sid, [event(), event("completion", at=300)])
    with unit_of_work.read_only() as s:
        queued = s.execute(
            text("SELECT task_name, args, status FROM procrastinate_jobs WHERE task_name = 'console:debrief'")
        ).all()
    assert [(q.task_name, q.args, q.status) for q in queued] == [("console:debrief", {"play_session_id": sid}, "todo")]
    # Pretend the in-request attempt was lost (a crash after the commit): the job still writes it.
    with unit_of_work.transaction() as s:
        play = s.get(PlaySession, uuid.UUID(sid))
        play.debrief_text, play.debrief_generated_at = None, None
    import asyncio

    asyncio.run(jobs.run_worker(jobs.make_app(), concurrency=1, wait=False))
    with unit_of_work.read_only() as s:
        play = s.get(PlaySession, uuid.UUID(sid))
        status = s.execute(text("SELECT status FROM procrastinate_jobs WHERE task_name = 'console:debrief'")).scalar()
    assert play.debrief_text and "# Debrief" in play.debrief_text
    assert status == "succeeded"


def test_a_rejected_batch_queues_no_job(client, world):
    sid = start(client, world).json()["id"]
    bad = event("completion")
    bad["data"] = {"scores": {"financial": "high"}}
    assert post_events(client, world, sid, [bad]).status_code == 422
    with unit_of_work.read_only() as s:
        assert s.execute(text("SELECT count(*) FROM procrastinate_jobs")).scalar() == 0


def test_sweeps_mark_idle_sessions_abandoned_and_late_assignments_overdue(client, world):
    idle = start(client, world).json()["id"]
    active = start(client, world).json()["id"]
    post_events(client, world, active, [event()])
    with unit_of_work.transaction() as s:
        s.get(PlaySession, uuid.UUID(idle)).started_at = utcnow() - timedelta(hours=5)
        assignment = s.get(SimulationAssignment, world.assignment_id)
        assignment.due_date = date.today() - timedelta(days=1)
    with unit_of_work.transaction() as s:
        assert sweeps.mark_abandoned(session=s, idle=timedelta(hours=2)) == [uuid.UUID(idle)]
        assert assignments.mark_overdue(session=s) == 1
    with unit_of_work.read_only() as s:
        assert s.get(PlaySession, uuid.UUID(idle)).status == SessionStatus.abandoned
        assert s.get(PlaySession, uuid.UUID(active)).status == SessionStatus.in_progress
        assert s.get(SimulationAssignment, world.assignment_id).status == AssignmentStatus.overdue
    # An abandoned session takes no more events.
    assert post_events(client, world, idle, [event()]).status_code == 409


def test_periodic_tasks_are_registered():
    app = jobs.make_app("postgresql+psycopg://unused/none")
    assert jobs.DEBRIEF.task in app.tasks  # what the API defers is what the worker runs
    assert {"console:debrief", "console:sweep_debriefs", "console:sweep_abandoned", "console:sweep_overdue"} <= set(
        app.tasks
    )


def test_llm_debrief_when_configured(client, world, monkeypatch):
    from console.config import get_settings
    from tests.services.test_debrief import _ChatServer

    server = _ChatServer(content="# Debrief by the model\n\nYou saved the deal.")
    monkeypatch.setenv("SIMVADO_LLM_BASE_URL", server.url)
    get_settings.cache_clear()
    try:
        sid = start(client, world).json()["id"]
        post_events(client, world, sid, [event(), event("completion", at=300)])
        body = client.get(f"/api/v1/sessions/{sid}", headers=world.auth()).json()
    finally:
        server.close()
    assert body["debrief_text"] == "# Debrief by the model\n\nYou saved the deal.\n"


def test_finished_jobs_older_than_a_week_are_pruned_failed_ones_kept(database_url):
    import asyncio
    from types import SimpleNamespace

    with unit_of_work.transaction() as s:
        for n in range(3):
            jobs.defer(s, jobs.DEBRIEF, play_session_id=str(uuid.UUID(int=n)))
        s.execute(
            text("UPDATE procrastinate_jobs SET status = 'succeeded' WHERE args->>'play_session_id' LIKE '%0000'")
        )
        s.execute(text("UPDATE procrastinate_jobs SET status = 'failed' WHERE args->>'play_session_id' LIKE '%0001'"))
        s.execute(
            text("UPDATE procrastinate_jobs SET status = 'succeeded' WHERE args->>'play_session_id' LIKE '%0002'")
        )
        # Two finished long ago, one yesterday (a job's age is that of its latest event).
        s.execute(
            text(
                "UPDATE procrastinate_events e SET at = now() - CASE WHEN j.args->>'play_session_id' LIKE '%0002' "
                "THEN interval '1 day' ELSE interval '30 days' END FROM procrastinate_jobs j WHERE j.id = e.job_id"
            )
        )

    async def prune() -> None:
        app = jobs.make_app()
        async with app.open_async():
            await jobs.prune_jobs(SimpleNamespace(app=app), 0)

    asyncio.run(prune())
    with unit_of_work.read_only() as s:
        left = sorted(s.scalars(text("SELECT args->>'play_session_id' FROM procrastinate_jobs")))
    assert [arg[-1] for arg in left] == ["1", "2"]  # the old success went; the failure and yesterday's stay
