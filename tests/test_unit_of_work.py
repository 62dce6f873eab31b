"""The one transaction boundary: what is registered for "after commit" happens only if the work is kept."""

from __future__ import annotations

import psycopg
import pytest
from sqlalchemy import func, select, text

from console import jobs, unit_of_work
from models import Organization
from tests.factories import make_org


def _orgs() -> int:
    with unit_of_work.read_only() as session:
        return session.scalar(select(func.count()).select_from(Organization))


def test_commit_keeps_the_work_and_runs_after_commit_hooks_only(database_url):
    ran = []
    with unit_of_work.transaction() as session:
        make_org(session)
        unit_of_work.after_commit(session, lambda: ran.append("commit"))
        unit_of_work.after_rollback(session, lambda: ran.append("rollback"))
    assert ran == ["commit"]
    assert _orgs() == 1


def test_an_error_rolls_back_and_runs_after_rollback_hooks_only(database_url):
    ran = []
    with pytest.raises(RuntimeError), unit_of_work.transaction() as session:
        make_org(session)
        unit_of_work.after_commit(session, lambda: ran.append("commit"))
        unit_of_work.after_rollback(session, lambda: ran.append("rollback"))
        raise RuntimeError("refused half way")
    assert ran == ["rollback"]
    assert _orgs() == 0


def test_a_commit_the_database_refuses_counts_as_a_rollback(database_url):
    ran = []
    with pytest.raises(Exception), unit_of_work.transaction() as session:  # noqa: B017, PT011
        session.execute(text("CREATE TEMP TABLE t (x int PRIMARY KEY DEFERRABLE INITIALLY DEFERRED)"))
        session.execute(text("INSERT INTO t VALUES (1), (1)"))  # caught only at COMMIT
        unit_of_work.after_commit(session, lambda: ran.append("commit"))
        unit_of_work.after_rollback(session, lambda: ran.append("rollback"))
    assert ran == ["rollback"]


def test_a_failing_hook_is_logged_and_does_not_stop_the_others(database_url, caplog):
    ran = []
    with unit_of_work.transaction() as session:
        unit_of_work.after_commit(session, lambda: 1 / 0)
        unit_of_work.after_commit(session, lambda: ran.append("second"))
    assert ran == ["second"]
    assert "after commit failed" in caplog.text


def test_read_only_work_is_never_kept(database_url):
    with unit_of_work.read_only() as session:
        make_org(session)
    assert _orgs() == 0


def _listener(database_url: str, channel: str) -> psycopg.Connection:
    conn = psycopg.connect(database_url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True)
    conn.execute(f"LISTEN {channel}")
    return conn


def _received(conn: psycopg.Connection) -> list[str]:
    return [n.payload for n in conn.notifies(timeout=0.5, stop_after=None)]


def test_notifications_are_delivered_at_commit_and_dropped_on_rollback(database_url):
    listener = _listener(database_url, "uow_test")
    try:
        with pytest.raises(RuntimeError), unit_of_work.transaction() as session:
            unit_of_work.notify(session, "uow_test", "rolled-back")
            raise RuntimeError
        with unit_of_work.transaction() as session:
            unit_of_work.notify(session, "uow_test", "committed")
            assert _received(listener) == []  # not before the commit
        assert _received(listener) == ["committed"]
    finally:
        listener.close()


def _jobs_queued() -> int:
    with unit_of_work.read_only() as session:
        return session.scalar(
            text("SELECT count(*) FROM procrastinate_jobs WHERE task_name = :t"), {"t": jobs.DEBRIEF.task}
        )


def test_a_job_is_queued_exactly_when_the_work_that_defers_it_commits(database_url):
    with pytest.raises(RuntimeError), unit_of_work.transaction() as session:
        jobs.defer(session, jobs.DEBRIEF, play_session_id="00000000-0000-0000-0000-000000000001")
        raise RuntimeError
    assert _jobs_queued() == 0
    with unit_of_work.transaction() as session:
        jobs.defer(session, jobs.DEBRIEF, play_session_id="00000000-0000-0000-0000-000000000001")
    assert _jobs_queued() == 1
