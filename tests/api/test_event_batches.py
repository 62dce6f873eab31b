"""Many requests' batches in one statement (the group commit's way of storing events): each batch
gets its own outcome, and where batches of one call meet, they are recorded one call each."""

from __future__ import annotations

import json
import threading
import uuid

import pytest
from sqlalchemy import func, select
from starlette.testclient import TestClient

from console import unit_of_work
from console.api import batches
from console.errors import Conflict, NotFound
from console.services import api_keys, ingest
from models import GameEvent, PlaySession
from models.enums import SessionStatus
from tests.api.conftest import build_app, event, post_events, start
from tests.support import wait_until


def _batch(events: list[dict]) -> ingest.IncomingBatch:
    return batches.read(json.dumps({"session_id": str(uuid.uuid4()), "events": events}).encode()).incoming()


def _stored(session_id: str) -> set[str]:
    with unit_of_work.read_only() as s:
        return {str(i) for i in s.scalars(select(GameEvent.id).where(GameEvent.session_id == uuid.UUID(session_id)))}


def _record(world, reports: list[tuple]) -> list[ingest.BatchResult]:
    """record_event_batches in a transaction of its own, committed if it returns."""
    with unit_of_work.transaction() as s:
        key = api_keys.authenticate(session=s, key=world.keys["rw"])
        return ingest.record_event_batches(
            session=s, reports=[ingest.EventReport(key, _batch(events), **named) for events, named in reports]
        )


def test_each_batch_of_one_call_gets_its_own_outcome(client, world):
    a = start(client, world).json()["id"]
    b_external = f"ext-{uuid.uuid4().hex[:10]}"
    b = start(client, world, external=b_external).json()["id"]
    known = event(at=1)
    assert post_events(client, world, a, [known]).status_code == 200
    fresh_a, retry_a, fresh_b = [event(at=2), event(at=3)], [known, event(at=4)], [event(at=5)]

    results = _record(
        world,
        [
            (fresh_a, {"session_id": uuid.UUID(a)}),
            (fresh_b, {"external_session_id": b_external}),
            (retry_a, {"session_id": uuid.UUID(a)}),
        ],
    )
    assert [(r.accepted, r.duplicates, str(r.session_id)) for r in results] == [(2, 0, a), (1, 0, b), (1, 1, a)]
    assert _stored(a) == {e["id"] for e in [known, *fresh_a, *retry_a]}
    assert _stored(b) == {fresh_b[0]["id"]}


def test_a_sessions_second_batch_in_one_call_sees_the_first(client, world):
    """Batches of one session are applied in the order given: an event new in both is stored once,
    for the first, and counted a duplicate in the second."""
    a = start(client, world).json()["id"]
    named = {"session_id": uuid.UUID(a)}
    shared = event(at=1)
    results = _record(world, [([shared], named), ([shared, event(at=2)], named)])
    assert [(r.accepted, r.duplicates) for r in results] == [(1, 0), (1, 1)]
    assert len(_stored(a)) == 2


def test_an_event_id_new_in_batches_of_two_sessions_is_a_conflict(client, world):
    """Stored for one session, it differs from the other's (another session): the call is refused and
    nothing of it is kept (the group commit then runs each request alone: the later one gets the 409)."""
    a, b = (start(client, world).json()["id"] for _ in range(2))
    shared = event(at=1)
    with pytest.raises(Conflict):
        _record(world, [([shared], {"session_id": uuid.UUID(a)}), ([shared], {"session_id": uuid.UUID(b)})])
    assert _stored(a) == _stored(b) == set()


def test_an_event_id_already_stored_may_be_in_two_batches_of_one_call(client, world):
    a = start(client, world).json()["id"]
    known = event(at=1)
    assert post_events(client, world, a, [known]).status_code == 200
    results = _record(world, [([known], {"session_id": uuid.UUID(a)}), ([known], {"session_id": uuid.UUID(a)})])
    assert [(r.accepted, r.duplicates) for r in results] == [(0, 1), (0, 1)]


def test_a_batch_after_its_sessions_completion_in_one_call_is_refused(client, world):
    """The completion closes the session first; the batch after it finds it completed (409), and the
    whole call is refused."""
    a = start(client, world).json()["id"]
    named = {"session_id": uuid.UUID(a)}
    with pytest.raises(Conflict, match="completed"):
        _record(world, [([event("completion")], named), ([event()], named)])
    assert _stored(a) == set()


def test_one_session_named_two_ways_in_one_call_is_recorded_one_call_each(client, world):
    external = f"ext-{uuid.uuid4().hex[:10]}"
    a = start(client, world, external=external).json()["id"]
    with pytest.raises(ingest.BatchesOverlap):
        by_id, by_external = {"session_id": uuid.UUID(a)}, {"external_session_id": external}
        _record(world, [([event(at=1)], by_id), ([event(at=2)], by_external)])
    assert _stored(a) == set()


def test_an_unknown_session_refuses_the_whole_call(client, world):
    a = start(client, world).json()["id"]
    with pytest.raises(NotFound):
        _record(world, [([event()], {"session_id": uuid.UUID(a)}), ([event()], {"session_id": uuid.uuid4()})])
    assert _stored(a) == set()


def _one_group(client, committer, posts: list[tuple[str, str, list]], world) -> dict[str, object]:
    """Post while the writer is held, so the requests queue up (in this order) and form one group."""
    gate, taken = threading.Event(), threading.Event()

    def hold(_session) -> None:
        taken.set()
        gate.wait(10)

    holder = threading.Thread(target=lambda: client.portal.call(committer.run, hold))
    holder.start()
    assert taken.wait(10)  # the writer is inside the holder's group: the posts form the next one
    answers: dict[str, object] = {}

    def post(name: str, session_id: str, events: list) -> None:
        answers[name] = post_events(client, world, session_id, events)

    threads = []
    for n, (name, session_id, events) in enumerate(posts, start=1):
        threads.append(threading.Thread(target=post, args=(name, session_id, events)))
        threads[-1].start()
        wait_until(lambda n=n: committer._queue.qsize() == n, what=f"post {name!r} queued behind the held writer")
    gate.set()
    for thread in [holder, *threads]:
        thread.join(10)
    return answers


def _spy_on_calls(monkeypatch) -> list[int]:
    """The number of batches of each record_event_batches call, in order."""
    calls: list[int] = []
    real = ingest.record_event_batches

    def spy(*, session, reports):
        calls.append(len(reports))
        return real(session=session, reports=reports)

    monkeypatch.setattr(ingest, "record_event_batches", spy)
    return calls


def test_engines_sending_one_event_twice_in_one_group_store_it_once(world, database_url, monkeypatch):
    """An engine that retries while its first post is still queued: both answered 200, one row, and
    between them the event is counted once as accepted and once as a duplicate — in one call for the
    whole group (the retry's batch in the call's second statement), not one request at a time."""
    calls = _spy_on_calls(monkeypatch)
    root = build_app(api_writer_connections=1)  # one writer, held to form a group
    with TestClient(root, base_url="http://testserver") as client:
        a = start(client, world).json()["id"]
        other = start(client, world).json()["id"]
        shared = event(at=1)
        answers = _one_group(
            client,
            root.api.state.committer,
            [("first", a, [shared]), ("retry", a, [shared, event(at=2)]), ("other", other, [event(at=3)])],
            world,
        )
    assert {name: a.status_code for name, a in answers.items()} == {"first": 200, "retry": 200, "other": 200}
    assert (answers["first"].json()["accepted"], answers["retry"].json()["accepted"]) == (1, 1)
    assert answers["retry"].json()["duplicates"] == 1
    assert len(_stored(a)) == 2 and len(_stored(other)) == 1
    assert calls == [3]


def test_a_batch_queued_behind_its_sessions_completion_is_refused(world, database_url, monkeypatch):
    """Same group, arrival order kept: the completion closes the session, the batch after it is a 409
    (which makes the group run again one request at a time), and the final scores are the completion's."""
    calls = _spy_on_calls(monkeypatch)
    root = build_app(api_writer_connections=1)
    with TestClient(root, base_url="http://testserver") as client:
        a = start(client, world).json()["id"]
        answers = _one_group(
            client,
            root.api.state.committer,
            [("completion", a, [event("completion", at=5)]), ("late", a, [event(at=9)])],
            world,
        )
    assert answers["completion"].status_code == 200 and answers["completion"].json()["session_status"] == "completed"
    assert answers["late"].status_code == 409 and "completed" in answers["late"].text
    with unit_of_work.read_only() as s:
        play = s.get(PlaySession, uuid.UUID(a))
        assert play.status == SessionStatus.completed
        assert s.scalar(select(func.count()).select_from(GameEvent).where(GameEvent.session_id == play.id)) == 1
    assert calls == [2, 1, 1]
