"""Live delivery (console/live): NOTIFY at commit, one LISTEN connection per process, fan-out to pages.

Real PostgreSQL throughout: the listener is the one the app runs, on this test's event loop."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import uuid
from datetime import timedelta

import httpx
import psycopg
import pytest

from console import live, unit_of_work
from console.live import ChangeKind, Hub, Listener, SessionChange
from console.services import ingest, sweeps
from tests.api.conftest import T0, client, event, post_events, start, world  # noqa: F401 — fixtures
from tests.support import wait_until_async


def change(kind: ChangeKind = ChangeKind.event, *, session_id: uuid.UUID | None = None) -> SessionChange:
    return SessionChange(session_id or uuid.uuid4(), uuid.uuid4(), uuid.uuid4(), uuid.uuid4(), kind)


class Heard:
    """A subscriber that keeps what it hears, one list per delivery."""

    def __init__(self, hub: Hub) -> None:
        self.deliveries: list[list[SessionChange]] = []
        self.unsubscribe = hub.subscribe(self.deliveries.append)

    @property
    def changes(self) -> list[SessionChange]:
        return [c for delivery in self.deliveries for c in delivery]


@pytest.fixture
async def listening(database_url):
    """A listener on this test's database, with its own hub, LISTENing before the test starts."""
    hub = Hub()
    listener = Listener(database_url, hub, backoff_seconds=(0.05, 0.1))
    listener.start()
    await asyncio.wait_for(listener.connected.wait(), 10)
    yield listener, hub
    await listener.stop()


def commit(*changes: SessionChange, rollback: bool = False) -> None:
    try:
        with unit_of_work.transaction() as session:
            for c in changes:
                live.session_changed(session, c)
            if rollback:
                raise RuntimeError("the work fails")
    except RuntimeError:
        pass


async def test_a_committed_change_reaches_subscribers_and_a_rolled_back_one_never(listening):
    _, hub = listening
    heard = Heard(hub)
    kept, lost, later = change(), change(), change(ChangeKind.completed)
    await asyncio.to_thread(commit, kept)
    await asyncio.to_thread(commit, lost, rollback=True)
    await asyncio.to_thread(commit, later)
    # PostgreSQL delivers in commit order: once `later` is heard, `lost` would have been heard before it.
    await wait_until_async(lambda: later in heard.changes, what="the last committed change")
    assert heard.changes == [kept, later]


async def test_one_notification_per_session_per_commit_the_most_telling_kind(listening, database_url):
    _, hub = listening
    heard = Heard(hub)
    one, other = uuid.uuid4(), uuid.uuid4()
    with psycopg.connect(database_url.replace("+psycopg", "")) as spy:
        spy.execute(f"LISTEN {live.CHANNEL}")
        spy.commit()
        await asyncio.to_thread(
            commit,
            change(ChangeKind.event, session_id=one),
            change(ChangeKind.event, session_id=other),
            change(ChangeKind.completed, session_id=one),
            change(ChangeKind.event, session_id=one),  # after its completion in the same commit: still completed
        )
        sent = list(spy.notifies(timeout=5, stop_after=2))
    await wait_until_async(lambda: len(heard.changes) == 2, what="both sessions' changes")
    assert {c.session_id: c.kind for c in heard.changes} == {one: ChangeKind.completed, other: ChangeKind.event}
    assert len(heard.deliveries) == 1  # one burst, one delivery
    assert len(sent) == 2
    for notification in sent:
        payload = json.loads(notification.payload)
        assert set(payload) == {"session_id", "organization_id", "simulation_id", "module_id", "kind"}
        assert len(notification.payload.encode()) < 8000


async def test_the_listener_connects_again_after_its_backend_is_killed_and_pages_resync(listening, database_url):
    listener, hub = listening
    heard = Heard(hub)
    killed = listener.backend_pid
    with psycopg.connect(database_url.replace("+psycopg", ""), autocommit=True) as admin:
        assert admin.execute("SELECT pg_terminate_backend(%s)", (killed,)).fetchone()[0] is True
    await wait_until_async(lambda: listener.connections == 2 and listener.connected.is_set(), what="a new connection")
    assert listener.backend_pid not in (None, killed)
    await wait_until_async(lambda: heard.changes, what="the resync")
    assert heard.changes == [SessionChange.resync()]
    after = change()
    await asyncio.to_thread(commit, after)
    await wait_until_async(lambda: after in heard.changes, what="a change after the reconnection")


async def test_the_listener_keeps_trying_while_the_database_is_unreachable(database_url):
    hub = Hub()
    # A socket folder with no server: every attempt fails at once.
    listener = Listener("postgresql://postgres@/x?host=/nonexistent-simvado", hub, backoff_seconds=(0.01, 0.02))
    listener.start()
    await asyncio.sleep(0.3)
    assert listener.running and not listener.connected.is_set() and listener.connections == 0
    await listener.stop()
    assert not listener.running


async def test_a_notification_that_is_not_ours_is_ignored(listening, database_url):
    _, hub = listening
    heard = Heard(hub)
    after = change()
    with psycopg.connect(database_url.replace("+psycopg", ""), autocommit=True) as other:
        other.execute("SELECT pg_notify(%s, %s)", (live.CHANNEL, '{"kind": "resync", "session_id": null}'))
        other.execute("SELECT pg_notify(%s, %s)", (live.CHANNEL, "not json"))
    await asyncio.to_thread(commit, after)
    await wait_until_async(lambda: after in heard.changes, what="the good change")
    assert heard.changes == [after]


def test_payloads_round_trip_and_stay_small():
    c = change(ChangeKind.abandoned)
    assert SessionChange.from_payload(c.payload()) == c
    assert len(c.payload()) < 300
    no_org = SessionChange(uuid.uuid4(), None, uuid.uuid4(), uuid.uuid4(), ChangeKind.started)
    assert SessionChange.from_payload(no_org.payload()) == no_org
    for bad in ("", "[]", '{"kind": "event"}', '{"session_id": "x", "kind": "event"}', '{"session_id": null}'):
        with pytest.raises(ValueError):
            SessionChange.from_payload(bad)
    assert SessionChange.resync().affects(uuid.uuid4())
    assert c.affects(c.session_id) and not c.affects(uuid.uuid4())


# ------------------------------------------------------------------------------- what ingest announces


@pytest.fixture
def spy(database_url):  # noqa: ANN001
    """What is announced from now on: call it to get the changes notified since the last call."""
    with psycopg.connect(database_url.replace("+psycopg", ""), autocommit=True) as conn:
        conn.execute(f"LISTEN {live.CHANNEL}")

        def announced() -> list[SessionChange]:
            # Session changes only: a refused request also announces a `rejected` change of its key (its
            # inbox page listens), written after the answer by another thread (tests/api/test_rejections.py).
            heard = [SessionChange.from_payload(n.payload) for n in conn.notifies(timeout=0.3)]
            return [change for change in heard if change.kind is not ChangeKind.rejected]

        yield announced


def test_the_engine_api_announces_starts_events_and_completions_after_commit(client, world, spy):  # noqa: ANN001, F811
    answer = start(client, world, external="live-1")
    sid = uuid.UUID(answer.json()["id"])
    org = world.player.organization_id
    assert spy() == [SessionChange(sid, org, world.sim.id, world.module.id, ChangeKind.started)]
    assert start(client, world, external="live-1").status_code == 200  # the same start again: nothing new
    assert spy() == []

    batch = [event("decision", at=10), event("milestone", at=20)]
    assert post_events(client, world, str(sid), batch).status_code == 200
    assert spy() == [SessionChange(sid, org, world.sim.id, world.module.id, ChangeKind.event)]
    assert post_events(client, world, str(sid), batch).json()["duplicates"] == 2  # a retry stores nothing new
    assert spy() == []
    changed = [{**batch[0], "data": {"decision_id": "d9", "choice_id": "c9"}}]
    assert post_events(client, world, str(sid), changed).status_code == 409  # refused: rolled back
    assert post_events(client, world, str(uuid.uuid4()), [event()]).status_code == 404
    assert post_events(client, world, str(sid), [event()], key="other_sim").status_code == 404  # out of reach
    assert spy() == []

    assert (
        post_events(client, world, str(sid), [event("decision", at=30), event("completion", at=40)]).status_code == 200
    )
    assert spy() == [SessionChange(sid, org, world.sim.id, world.module.id, ChangeKind.completed)]


def test_a_group_of_batches_is_one_change_per_session_and_none_if_rolled_back(client, world, spy):  # noqa: ANN001, F811
    from console.api import batches
    from console.auth import Actor

    sid = uuid.UUID(start(client, world).json()["id"])
    other = uuid.UUID(start(client, world).json()["id"])
    spy()
    key = Actor.for_api_key(
        key_id=uuid.uuid4(), name="k", prefix="sk", scopes=["game:write"], simulation_id=None, organization_id=None
    )

    def report(play: uuid.UUID, *events: dict) -> ingest.EventReport:
        batch = batches.read(json.dumps({"session_id": str(play), "events": list(events)}).encode()).incoming()
        return ingest.EventReport(key, batch, session_id=play)

    def group(*reports: ingest.EventReport, fail: bool = False) -> None:
        """As the engine API's group committer runs them: one transaction, one call."""
        try:
            with unit_of_work.transaction() as s:
                ingest.record_event_batches(session=s, reports=list(reports))
                if fail:
                    raise RuntimeError("another unit of the group failed")
        except RuntimeError:
            pass

    group(report(sid, event(at=1)), report(sid, event(at=2)), report(other, event(at=3)), fail=True)
    assert spy() == []
    group(report(sid, event(at=1)), report(sid, event(at=2)), report(other, event(at=3)))
    assert sorted((c.session_id, c.kind) for c in spy()) == sorted([(sid, ChangeKind.event), (other, ChangeKind.event)])
    # A batch that completes its session says so, once, whatever else the group did for it.
    group(report(other, event(at=4), event("completion", at=5)))
    assert [(c.session_id, c.kind) for c in spy()] == [(other, ChangeKind.completed)]


def test_the_abandon_sweep_announces_each_session_it_closes(client, world, spy):  # noqa: ANN001, F811
    sid = uuid.UUID(start(client, world).json()["id"])
    spy()
    with unit_of_work.transaction() as s:
        assert sweeps.mark_abandoned(session=s, idle=timedelta(0)) == [sid]
    assert spy() == [
        SessionChange(sid, world.player.organization_id, world.sim.id, world.module.id, ChangeKind.abandoned)
    ]


# ------------------------------------------------------------------------------------ two processes


async def test_events_posted_to_serve_api_reach_this_process(world, listening, database_url, tmp_path):  # noqa: ANN001, F811
    _, hub = listening
    heard = Heard(hub)
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k != "PYTEST_CURRENT_TEST"}
    env.update(DATABASE_URL=database_url, SIMVADO_DATA_DIR=str(tmp_path))
    log = open(tmp_path / "serve-api.log", "w")  # noqa: SIM115
    server = subprocess.Popen(
        [sys.executable, "-m", "console.cli", "serve-api", "--port", str(port)], env=env, stdout=log, stderr=log
    )
    base = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient(base_url=base, headers=world.auth(), timeout=10) as api:
            for _ in range(300):
                try:
                    if (await api.get("/healthz")).status_code == 200:
                        break
                except httpx.HTTPError:
                    await asyncio.sleep(0.1)
            body = {"external_session_id": f"x-{uuid.uuid4().hex}", "module_id": str(world.module.id),
                    "player": {"email": world.player.email}, "started_at": T0.isoformat()}  # fmt: skip
            sid = uuid.UUID((await api.post("/api/v1/sessions", json=body)).json()["id"])
            answer = await api.post("/api/v1/events", json={"session_id": str(sid), "events": [event()]})
            assert answer.status_code == 200
        await wait_until_async(lambda: len(heard.changes) == 2, what="both changes from serve-api")
        assert [(c.session_id, c.kind) for c in heard.changes] == [(sid, ChangeKind.started), (sid, ChangeKind.event)]
    finally:
        server.terminate()
        server.wait(timeout=20)
        log.close()


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ------------------------------------------------------------------------------------------ the app


async def test_each_app_start_has_one_listener_and_its_stop_leaves_none(database_url):
    """The page tests start the app hundreds of times in one process: no LISTEN connection, task or
    subscriber may outlive its app."""
    from nicegui.testing.user_simulation import user_simulation

    def listeners() -> int:
        with psycopg.connect(database_url.replace("+psycopg", ""), autocommit=True) as conn:
            return conn.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'simvado-console live' "
                "AND datname = current_database()"
            ).fetchone()[0]

    from console import db

    for _ in range(3):
        db.configure(database_url)  # as each page test's fixtures do (the app's shutdown disposes of it)
        async with user_simulation(main_file="console/main.py"):
            await wait_until_async(lambda: live.listener() and live.listener().connected.is_set(), what="listening")
            assert listeners() == 1
            running = live.listener()
        assert live.listener() is None and not running.running
        assert len(live.HUB) == 0
        await wait_until_async(lambda: listeners() == 0, what="the connection to close")
    tasks = [t for t in asyncio.all_tasks() if t.get_name() == "simvado live listener"]
    assert tasks == []


# --------------------------------------------------------------------------------------------- memo


def test_the_memo_reads_a_session_again_only_after_it_changed():
    hub = Hub()
    memo = live.SessionMemo(hub)
    one, two = uuid.uuid4(), uuid.uuid4()
    reads: list[list[uuid.UUID]] = []

    def read(ids: list[uuid.UUID]) -> dict[uuid.UUID, str]:
        reads.append(sorted(ids))
        return {i: f"{i} as of read {len(reads)}" for i in ids}

    first = memo.values([one, two], read)
    assert memo.values([two, one], read) == first and len(reads) == 1
    hub.publish([change(session_id=one)])
    again = memo.values([one, two], read)
    assert reads[-1] == [one] and again[two] == first[two] and again[one] != first[one]
    hub.publish([SessionChange.resync()])  # the connection was lost: everything may have changed
    memo.values([one, two], read)
    assert reads[-1] == sorted([one, two])


def test_readers_of_the_same_session_at_once_read_it_once():
    import threading

    memo = live.SessionMemo(Hub())
    session_id = uuid.uuid4()
    started, release = threading.Event(), threading.Event()
    reads = []

    def read(ids: list[uuid.UUID]) -> dict[uuid.UUID, int]:
        reads.append(ids)
        started.set()
        release.wait(5)
        return dict.fromkeys(ids, 42)

    results = []
    first = threading.Thread(target=lambda: results.append(memo.values([session_id], read)))
    first.start()
    started.wait(5)
    second = threading.Thread(target=lambda: results.append(memo.values([session_id], read)))
    second.start()
    release.set()
    first.join(5)
    second.join(5)
    assert results == [{session_id: 42}, {session_id: 42}]
    assert len(reads) == 1
