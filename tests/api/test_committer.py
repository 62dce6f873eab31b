"""Group commit: concurrent requests share a transaction, yet each is answered with its own outcome,
and none is answered before its rows are committed."""

from __future__ import annotations

import asyncio
import threading
import uuid

import pytest
from sqlalchemy import text

from console import db, unit_of_work
from console.api.committer import DatabaseUnavailable, GroupCommitter
from console.errors import Conflict
from tests.api.conftest import event, start
from tests.support import wait_until, wait_until_async


def _insert_marker(session, name: str) -> str:
    session.execute(
        text(
            "INSERT INTO organizations (id, name, slug, plan, seat_limit, sso_enabled, created_at, "
            "updated_at) VALUES (gen_random_uuid(), :n, :n, 'pilot', 5, false, now(), now())"
        ),
        {"n": name},
    )
    return name


async def _writer_took(committer: GroupCommitter) -> None:
    """Wait until the writer thread has taken the queued holder (whose unit then waits for its gate)."""
    await wait_until_async(
        lambda: committer._thread is not None and committer._queue.qsize() == 0, what="the writer to take the holder"
    )


async def _queued(committer: GroupCommitter, count: int) -> None:
    """Wait until `count` units are queued behind the held writer (they will form the next group)."""
    await wait_until_async(lambda: committer._queue.qsize() >= count, what=f"{count} units queued behind the writer")


def _stored(names: list[str]) -> set[str]:
    with unit_of_work.read_only() as s:
        return set(s.scalars(text("SELECT slug FROM organizations WHERE slug = ANY(:n)"), {"n": names}))


async def test_a_failing_unit_rolls_back_alone_and_the_rest_commit(database_url):
    committer = GroupCommitter(max_group=64)
    names = [f"grp-{uuid.uuid4().hex[:8]}" for _ in range(20)]

    def unit(name: str, fail: bool):
        def op(session):
            _insert_marker(session, name)
            if fail:
                raise Conflict("refused after writing")
            return name

        return op

    outcomes = await asyncio.gather(
        *(committer.run(unit(name, fail=(n % 7 == 3))) for n, name in enumerate(names)), return_exceptions=True
    )
    failed = {names[n] for n, o in enumerate(outcomes) if isinstance(o, Conflict)}
    assert failed == {names[3], names[10], names[17]}
    assert _stored(names) == set(names) - failed


async def test_no_answer_before_the_commit(database_url):
    """When a unit's answer arrives, another connection already sees its row."""
    committer = GroupCommitter()
    name = f"vis-{uuid.uuid4().hex[:8]}"
    assert await committer.run(lambda s: _insert_marker(s, name)) == name
    assert _stored([name]) == {name}


async def test_database_down_is_unavailable_and_stores_nothing(database_url, pg_server):
    committer = GroupCommitter()
    db.configure(database_url.replace("/t_", "/gone_"))  # a database that does not exist
    try:
        with pytest.raises(DatabaseUnavailable):
            await committer.run(lambda s: _insert_marker(s, "never"))
    finally:
        db.configure(database_url)


def test_engine_gets_503_with_retry_after_when_the_database_is_down(client, world, database_url):
    play = start(client, world).json()
    batch = {"session_id": play["id"], "events": [event()]}
    db.configure(database_url.replace("/t_", "/gone_"))
    try:
        answer = client.post("/api/v1/events", json=batch, headers=world.auth())
    finally:
        db.configure(database_url)
    assert answer.status_code == 503
    assert answer.headers["Retry-After"] == "1"
    assert answer.json()["error"]["code"] == "unavailable"
    # Retried once the database is back: stored, and once only.
    assert client.post("/api/v1/events", json=batch, headers=world.auth()).json()["accepted"] == 1
    assert client.post("/api/v1/events", json=batch, headers=world.auth()).json()["duplicates"] == 1


def test_a_request_is_counted_against_the_rate_once_when_its_group_runs_again(world, database_url):
    """Another engine's conflicting batch makes the group run again, unit by unit; the engines that
    shared the group are not charged twice (3 requests at a 3/minute limit all succeed)."""

    from starlette.testclient import TestClient

    from tests.api.conftest import build_app, post_events

    root = build_app(api_rate_limit="3/minute", api_writer_connections=1)  # one writer to hold
    committer = root.api.state.committer
    with TestClient(root, base_url="http://testserver") as client:
        session_id = start(client, world, key="write").json()["id"]
        stored = event()
        assert post_events(client, world, session_id, [stored], key="write").status_code == 200
        conflicting = {**stored, "data": {"decision_id": "other", "choice_id": "c9"}}

        gate = threading.Event()
        holder = threading.Thread(target=lambda: client.portal.call(committer.run, lambda s: gate.wait(10)))
        holder.start()
        answers: dict[str, int] = {}

        def post(name: str, events: list, key: str) -> None:
            answers[name] = post_events(client, world, session_id, events, key=key).status_code

        posts = [threading.Thread(target=post, args=(f"good{n}", [event(at=n)], "rw")) for n in range(3)]
        posts.append(threading.Thread(target=post, args=("bad", [conflicting], "write")))
        for thread in posts:
            thread.start()
        # All four queued behind the held writer: they form one group.
        wait_until(lambda: committer._queue.qsize() == 4, what="four posts queued behind the held writer")
        gate.set()
        for thread in [holder, *posts]:
            thread.join(10)
    assert answers == {"good0": 200, "good1": 200, "good2": 200, "bad": 409}


def test_a_closed_waiting_loop_does_not_stop_the_writer(database_url):
    """A server that stopped mid-request leaves a unit whose loop is gone; the next requests are served."""
    committer = GroupCommitter()
    gone = asyncio.new_event_loop()
    gate = threading.Event()

    async def orphan() -> None:
        task = asyncio.ensure_future(committer.run(lambda s: gate.wait(10)))
        await asyncio.sleep(0.05)  # queued and running on the writer
        task.cancel()

    gone.run_until_complete(orphan())
    gone.close()
    gate.set()

    async def later() -> str:
        return await committer.run(lambda s: _insert_marker(s, "after-orphan"))

    assert asyncio.run(asyncio.wait_for(later(), 10)) == "after-orphan"


async def test_groups_of_two_servers_lock_in_one_order_and_do_not_deadlock(database_url):
    """Two writers (as in two `serve-api` workers) each get a group naming the same two play sessions in
    opposite orders. Units run in lock order, so one group waits for the other instead of both
    deadlocking (which PostgreSQL would break only after a second, failing a group): each group still
    commits as one transaction."""
    first, second = GroupCommitter(), GroupCommitter()
    gates = [threading.Event(), threading.Event()]

    def locking(key: int):
        def op(session):
            # Lock the "session" and hold it a moment, as a unit holds its play session's row.
            session.execute(text("SELECT pg_advisory_xact_lock(:k), pg_sleep(0.05)"), {"k": key})
            return session.scalar(text("SELECT txid_current()"))

        return op

    held = [
        asyncio.ensure_future(c.run(lambda s, g=g: g.wait(10))) for c, g in zip((first, second), gates, strict=True)
    ]
    groups = [
        [first.run(locking(k), lock_order=f"id:{k}") for k in (2, 1)],
        [second.run(locking(k), lock_order=f"id:{k}") for k in (1, 2)],
    ]
    tasks = [[asyncio.ensure_future(u) for u in group] for group in groups]
    for committer in (first, second):
        await _queued(committer, 2)
    for gate in gates:
        gate.set()
    await asyncio.gather(*held)
    transactions = [set(await asyncio.gather(*group)) for group in tasks]
    assert [len(t) for t in transactions] == [1, 1]  # neither group failed and ran its units alone


async def test_a_group_runs_units_by_lock_order_keeping_arrival_order_among_equals(database_url):
    committer = GroupCommitter()
    gate = threading.Event()
    ran: list[str] = []

    def unit(name: str):
        def op(_session):
            ran.append(name)
            return name

        return op

    held = asyncio.ensure_future(committer.run(lambda s: gate.wait(10)))
    await _writer_took(committer)
    queued = [
        asyncio.ensure_future(committer.run(unit(name), lock_order=order))
        for name, order in (("events-b", "ext:b"), ("start-a", "ext:a"), ("none", None), ("events-a", "ext:a"))
    ]
    await _queued(committer, 4)
    gate.set()
    await held
    assert await asyncio.gather(*queued) == ["events-b", "start-a", "none", "events-a"]
    assert ran == ["start-a", "events-a", "events-b", "none"]


def test_a_bad_batch_is_refused_without_joining_a_group(database_url, world):
    """An id twice in a batch is answered on the event loop: in the writer it would roll back the group
    it joined (every other request in it then runs alone)."""
    from starlette.testclient import TestClient

    from tests.api.conftest import build_app, post_events

    root = build_app(api_writer_connections=1)  # one writer, held
    committer = root.api.state.committer
    with TestClient(root, base_url="http://testserver") as client:
        session_id = start(client, world).json()["id"]
        gate, holder_done = threading.Event(), threading.Event()

        def hold() -> None:
            client.portal.call(committer.run, lambda s: gate.wait(10))
            holder_done.set()

        holder = threading.Thread(target=hold)
        holder.start()
        twice = event()
        answer = post_events(client, world, session_id, [twice, twice])
        assert answer.status_code == 422 and "more than once" in answer.text
        assert not holder_done.is_set()  # answered while the writer was still held
        gate.set()
        holder.join(10)


async def test_units_of_one_work_share_one_call_in_lock_order(database_url):
    """A group hands all its items for one `work` to a single call (one statement for many requests),
    ordered by lock order; each request gets its own item's result."""
    committer = GroupCommitter()
    gate = threading.Event()
    calls: list[list[str]] = []

    def work(_session, items: list[str]) -> list[str]:
        calls.append(list(items))
        return [item.upper() for item in items]

    held = asyncio.ensure_future(committer.run(lambda s: gate.wait(10)))
    await _writer_took(committer)
    queued = [
        asyncio.ensure_future(committer.run_together(work, item, lock_order=f"id:{item}")) for item in ("c", "a", "b")
    ]
    plain = asyncio.ensure_future(committer.run(lambda s: "plain"))
    await _queued(committer, 4)
    gate.set()
    await held
    assert await asyncio.gather(*queued, plain) == ["C", "A", "B", "plain"]
    assert calls == [["a", "b", "c"]]


async def test_a_failing_shared_call_runs_each_item_alone(database_url):
    """When the shared call raises, nothing of it is kept and each item runs again in a call of its
    own: only the request whose item fails gets the failure."""
    committer = GroupCommitter()
    gate = threading.Event()
    calls: list[list[str]] = []
    names = {item: f"one-{item}-{uuid.uuid4().hex[:8]}" for item in ("a", "bad", "c")}

    def work(session, items: list[str]) -> list[str]:
        calls.append(list(items))
        for item in items:
            _insert_marker(session, names[item])
        if "bad" in items:
            raise Conflict("refused after writing")
        return items

    held = asyncio.ensure_future(committer.run(lambda s: gate.wait(10)))
    await _writer_took(committer)
    queued = [asyncio.ensure_future(committer.run_together(work, item)) for item in ("a", "bad", "c")]
    await _queued(committer, 3)
    gate.set()
    await held
    outcomes = await asyncio.gather(*queued, return_exceptions=True)
    assert outcomes[0] == "a" and isinstance(outcomes[1], Conflict) and outcomes[2] == "c"
    assert calls == [["a", "bad", "c"], ["a"], ["bad"], ["c"]]
    assert _stored(list(names.values())) == {names["a"], names["c"]}


async def test_a_unit_of_another_work_between_splits_the_call_to_keep_lock_order(database_url):
    """A session start sorted between two event batches runs between them: the batch for its session
    comes after it (one call for all the batches would have run that batch before the start)."""
    committer = GroupCommitter()
    gate = threading.Event()
    ran: list[object] = []

    def work(_session, items: list[str]) -> list[str]:
        ran.append(list(items))
        return items

    def start_e(_session) -> str:
        ran.append("start e")
        return "started"

    held = asyncio.ensure_future(committer.run(lambda s: gate.wait(10)))
    await _writer_took(committer)
    queued = []
    for unit in (
        lambda: committer.run(start_e, lock_order="ext:e"),
        lambda: committer.run_together(work, "events e", lock_order="ext:e"),
        lambda: committer.run_together(work, "events a", lock_order="ext:a"),
    ):
        queued.append(asyncio.ensure_future(unit()))
        await _queued(committer, len(queued))  # queued in this order
    gate.set()
    await held
    assert await asyncio.gather(*queued) == ["started", "events e", "events a"]
    # By lock order (a before e; e's start and events in arrival order): two calls of `work`.
    assert ran == [["events a"], "start e", ["events e"]]


async def test_heavy_work_is_taken_by_a_helper_while_the_writer_is_busy(database_url):
    """With two writers (the engine API's default), a heavy unit (a batch of many events) queued while
    the writer's group is held up in the database is committed beside it on the helper's connection; a
    light one (a single event) waits for the writer, its group not split."""
    committer = GroupCommitter(writers=2, heavy=50)
    gate = threading.Event()
    held = asyncio.ensure_future(committer.run(lambda s: gate.wait(10)))
    await _writer_took(committer)
    light = asyncio.ensure_future(committer.run(lambda s: "light"))
    name = f"two-{uuid.uuid4().hex[:8]}"
    try:
        heavy = committer.run(lambda s: _insert_marker(s, name), weight=100)
        # The light unit was queued first, so the helper takes both: neither waits for the held group.
        assert await asyncio.wait_for(heavy, 5) == name
        assert await asyncio.wait_for(light, 5) == "light"
        assert _stored([name]) == {name} and not held.done()
    finally:
        gate.set()
    assert await held is True


@pytest.mark.parametrize(
    ("writers", "weight"),
    [(2, 49), (1, 100)],
    ids=["light-work-with-a-helper-at-hand", "heavy-work-with-one-writer (SIMVADO_API_WRITER_CONNECTIONS=1)"],
)
async def test_work_no_helper_takes_waits_for_the_held_group(database_url, writers, weight):
    committer = GroupCommitter(writers=writers, heavy=50)
    gate = threading.Event()
    held = asyncio.ensure_future(committer.run(lambda s: gate.wait(10)))
    await _writer_took(committer)
    later = asyncio.ensure_future(committer.run(lambda s: "after", weight=weight))
    await asyncio.sleep(0.3)
    assert not later.done() and not committer._helpers
    gate.set()
    assert await held is True and await later == "after"


async def test_a_groups_commit_may_wait_past_the_lock_timeout(database_url):
    """A group's lock timeout bounds its waits for rows, not its COMMIT, which may wait for another
    transaction (the NOTIFY turn, held through that one's WAL flush): such a group commits once the wait
    is over, where it was answered 503. Here the COMMIT waits on a deferred unique check."""
    import psycopg

    table = f"deferred_{uuid.uuid4().hex[:8]}"
    url = db.get_engine().url.render_as_string(hide_password=False).replace("+psycopg", "")
    with psycopg.connect(url, autocommit=True) as setup:
        setup.execute(f"CREATE TABLE {table} (k int UNIQUE DEFERRABLE INITIALLY DEFERRED)")
    other = psycopg.connect(url)
    try:
        other.execute(f"INSERT INTO {table} VALUES (1)")  # not committed: a COMMIT inserting 1 waits for it
        committer = GroupCommitter(writers=1)
        gate = threading.Event()
        held = asyncio.ensure_future(committer.run(lambda s: gate.wait(10)))
        await _writer_took(committer)
        name = f"late-{uuid.uuid4().hex[:8]}"
        waits = committer.run(lambda s: s.execute(text(f"INSERT INTO {table} VALUES (1)")) and "inserted")
        marker = committer.run(lambda s: _insert_marker(s, name))
        together = asyncio.gather(waits, marker, return_exceptions=True)
        await _queued(committer, 2)
        gate.set()
        await asyncio.sleep(1.0)  # four times the group's lock timeout: its COMMIT is still waiting
        other.rollback()
        assert await asyncio.wait_for(together, 10) == ["inserted", name]
        assert await held is True and _stored([name]) == {name}
    finally:
        other.close()
        with psycopg.connect(url, autocommit=True) as setup:
            setup.execute(f"DROP TABLE {table}")


async def test_a_helper_keeps_a_rows_units_in_arrival_order(database_url):
    """A heavy unit naming the row (the play session) of a group still in flight waits for that group,
    even when a helper takes it: a session's start, then its batch sent without waiting for the
    answer, must not meet a session that is not committed yet (found by review)."""
    committer = GroupCommitter(writers=2, heavy=50)
    gate = threading.Event()
    held = asyncio.ensure_future(committer.run(lambda s: gate.wait(10), lock_order="id:row-1"))
    await _writer_took(committer)
    other_row = committer.run(lambda s: "other", lock_order="id:row-2", weight=100)
    assert await asyncio.wait_for(other_row, 5) == "other"  # the helper goes on with other rows
    same_row = asyncio.ensure_future(committer.run(lambda s: "after the start", lock_order="id:row-1", weight=100))
    try:
        await wait_until_async(lambda: committer._queue.qsize() == 0, what="the helper to take the unit")
        await asyncio.sleep(0.3)
        assert not same_row.done()  # taken, but waiting for the held group
    finally:
        gate.set()
    assert await held is True and await asyncio.wait_for(same_row, 5) == "after the start"
