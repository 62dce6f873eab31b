"""POST /events: per-type validation, all-or-nothing, dedupe and conflicts, completion, scoring, debrief."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import func, select

from console import unit_of_work
from models import GameEvent, PlaySession, SimulationAssignment
from models.enums import AssignmentStatus, SessionStatus
from tests.api.conftest import T0, build_app, event, post_events, start


def _count(session, session_id=None) -> int:
    query = select(func.count()).select_from(GameEvent)
    if session_id:
        query = query.where(GameEvent.session_id == uuid.UUID(session_id))
    return session.scalar(query)


@pytest.fixture
def sid(client, world) -> str:
    return start(client, world).json()["id"]


def test_batch_is_stored_and_counted(client, world, sid, session):
    events = [event(), event("milestone"), event("score_update"), event("custom")]
    response = post_events(client, world, sid, events)
    assert response.status_code == 200
    assert response.json() == {"accepted": 4, "duplicates": 0, "session_id": sid, "session_status": "in_progress"}
    stored = session.get(GameEvent, uuid.UUID(events[0]["id"]))
    assert stored.event_data == {"decision_id": "d1", "choice_id": "c1", "impacts": {"financial": 10.0}}
    assert stored.received_at is not None


def test_by_external_session_id(client, world):
    start(client, world, external="ue-ext-1")
    response = client.post(
        "/api/v1/events", json={"external_session_id": "ue-ext-1", "events": [event()]}, headers=world.auth()
    )
    assert response.status_code == 200 and response.json()["accepted"] == 1


def test_retrying_a_batch_leaves_one_copy(client, world, sid, session):
    events = [event(at=i) for i in range(1, 6)]
    assert post_events(client, world, sid, events).json()["accepted"] == 5
    for _ in range(3):
        again = post_events(client, world, sid, events)
        assert again.status_code == 200
        assert again.json()["accepted"] == 0 and again.json()["duplicates"] == 5
    # A batch that overlaps: the known events are duplicates, the new one is accepted.
    mixed = post_events(client, world, sid, [*events[:2], event(at=9)])
    assert mixed.json() == {"accepted": 1, "duplicates": 2, "session_id": sid, "session_status": "in_progress"}
    assert _count(session, sid) == 6


def test_same_id_different_content_is_409_and_the_row_is_unchanged(client, world, sid, session):
    original = event(data={"decision_id": "d1", "choice_id": "c1", "impacts": {"financial": 5}})
    post_events(client, world, sid, [original])
    changed = {**original, "data": {"decision_id": "d1", "choice_id": "c2", "impacts": {"financial": 5}}}
    fresh = event(at=99)
    response = post_events(client, world, sid, [fresh, changed])
    assert response.status_code == 409
    assert response.json() == {
        "error": {
            "code": "conflict",
            "message": "An event with this id was already stored with other content; nothing of the batch was stored.",
            "details": {
                "events[1].id": f"{original['id']} is already stored with other content (differs: data): give a "
                "new event a new id",
                "ids": [original["id"]],
            },
        }
    }
    assert session.get(GameEvent, uuid.UUID(original["id"])).event_data["choice_id"] == "c1"
    assert session.get(GameEvent, uuid.UUID(fresh["id"])) is None  # all or nothing
    # The same id in another session is a conflict too.
    other = start(client, world).json()["id"]
    elsewhere = post_events(client, world, other, [{**original, "timestamp": fresh["timestamp"]}])
    assert elsewhere.status_code == 409
    assert "(differs: another session, timestamp)" in elsewhere.json()["error"]["details"]["events[0].id"]


def test_one_invalid_event_refuses_the_whole_batch(client, world, sid, session):
    bad = event(data={"decision_id": "d1"})  # no choice_id
    response = post_events(client, world, sid, [event(), event("milestone"), bad])
    assert response.status_code == 422
    assert "events[2].data.choice_id" in response.json()["error"]["details"]
    assert _count(session, sid) == 0


BAD_EVENTS = [
    {"type": "teleport", "data": {}},
    {"type": "decision", "data": {"decision_id": "d", "choice_id": "c", "impacts": {"financial": "lots"}}},
    {"type": "decision", "data": {"decision_id": "d", "choice_id": "c", "mood": "happy"}},
    {"type": "milestone", "data": {}},
    {"type": "score_update", "data": {"scores": {}}},
    {"type": "completion", "data": {"scores": {"financial": "high"}}},
    {"type": "custom", "data": ["not", "an", "object"]},
    {"timestamp": "2026-11-25T10:00:00"},
    {"timestamp": "9999-12-31T23:59:59Z"},
    {"timestamp": "1970-01-01T00:00:00Z"},
    {"id": "not-a-uuid"},
    {"received_at": "2026-11-25T10:00:00Z"},
    {"organization_id": str(uuid.uuid4())},
]


def test_per_type_validation(client, world, sid):
    for bad in BAD_EVENTS:
        response = post_events(client, world, sid, [{**event(), **bad}])
        assert response.status_code == 422, (bad, response.text)


def test_event_data_size_limit(client, world, sid, session):
    """Each event's data is limited (32 KiB by default), not the batch: many small events pass."""
    small = [event("custom", at=i % 50, data={"note": "x" * 1000}) for i in range(60)]  # ~60 KiB in all
    assert post_events(client, world, sid, small).status_code == 200
    large = event("custom", at=51, data={"note": "x" * (33 * 1024)})
    answer = post_events(client, world, sid, [event(at=52), large])
    assert answer.status_code == 422, answer.text
    assert answer.json()["error"]["details"] == {"events[1].data": "larger than 32768 bytes"}
    assert _count(session, sid) == 60


def test_a_timestamp_in_the_future_is_named(client, world, sid):
    late = {**event(), "timestamp": (T0 + timedelta(days=3)).isoformat()}
    answer = post_events(client, world, sid, [event(), late])
    assert answer.status_code == 422
    assert "one day from now" in answer.json()["error"]["details"]["events[1].timestamp"]


def test_batch_shape(client, world, sid):
    assert post_events(client, world, sid, []).status_code == 422
    assert post_events(client, world, sid, [event(at=i % 50) for i in range(1001)]).status_code == 422
    assert post_events(client, world, sid, [event(at=i % 50) for i in range(1000)]).status_code == 200
    twice = event()
    response = post_events(client, world, sid, [twice, twice])
    assert response.status_code == 422 and "more than once" in response.text
    both = client.post(
        "/api/v1/events",
        json={"session_id": sid, "external_session_id": "x", "events": [event()]},
        headers=world.auth(),
    )
    assert both.status_code == 422
    unknown = post_events(client, world, str(uuid.uuid4()), [event()])
    assert unknown.status_code == 404


def test_completion_completes_scores_and_debriefs(client, world, sid, session):
    events = [
        event(
            at=30,
            data={
                "decision_id": "d1",
                "choice_id": "c1",
                "label": "Call the board",
                "time_to_decide_ms": 4000,
                "impacts": {"financial": 20, "reputational": -10},
            },
        ),
        event("milestone", at=60),
        event(
            at=90,
            data={
                "decision_id": "d2",
                "choice_id": "c3",
                "label": "Go public",
                "time_to_decide_ms": 30000,
                "impacts": {"reputational": 25},
            },
        ),
        event("completion", at=600, data={"outcome": "deal closed"}),
    ]
    response = post_events(client, world, sid, events)
    assert response.status_code == 200 and response.json()["session_status"] == "completed"
    body = client.get(f"/api/v1/sessions/{sid}", headers=world.auth()).json()
    assert body["status"] == "completed"
    assert body["completed_at"].startswith((T0 + timedelta(minutes=10)).strftime("%Y-%m-%dT%H:%M:%S"))
    assert body["total_duration_seconds"] == 600
    # Each dimension starts mid-range (50): financial 70, reputational 65; total = 0.6*70 + 0.4*65.
    assert body["final_scores"] == {"financial": 70.0, "reputational": 65.0, "total": 68.0, "percentile": 0}
    assert body["passed"] is True  # 68 against the pass mark of 60
    debrief = body["debrief_text"]
    assert body["debrief_generated_at"] is not None
    assert "passed" in debrief and "68" in debrief and "deal closed" in debrief
    assert "Call the board" in debrief and "Go public" in debrief
    assert "What to work on: Reputational" in debrief
    assert "4 s to decide" in debrief
    assert session.get(SimulationAssignment, world.assignment_id).status == AssignmentStatus.in_progress


def test_last_score_update_and_completion_scores_win(client, world, sid):
    events = [
        event(at=10, data={"decision_id": "d1", "choice_id": "c1", "impacts": {"financial": 40}}),
        event("score_update", at=20, data={"scores": {"financial": 30, "reputational": 80}}),
        event("completion", at=30, data={"scores": {"financial": 40}}),
    ]
    post_events(client, world, sid, events)
    result = client.get(f"/api/v1/sessions/{sid}", headers=world.auth()).json()
    scores = result["final_scores"]
    assert scores["financial"] == 40 and scores["reputational"] == 80 and scores["total"] == 56
    assert result["passed"] is False  # 56 against the pass mark of 60


def test_percentile_among_completed_sessions_of_the_module(client, world):
    totals = []
    for financial in (0, 20, 40):
        sid = start(client, world).json()["id"]
        post_events(client, world, sid, [event("completion", data={"scores": {"financial": financial * 2 + 10}})])
        totals.append(client.get(f"/api/v1/sessions/{sid}", headers=world.auth()).json()["final_scores"])
    assert [t["percentile"] for t in totals] == [0, 50, 67]


def test_completed_session_refuses_new_events_but_accepts_retries(client, world, sid, session):
    batch = [event(), event("completion", at=120)]
    assert post_events(client, world, sid, batch).status_code == 200
    retry = post_events(client, world, sid, batch)
    assert retry.status_code == 200 and retry.json()["duplicates"] == 2
    late = post_events(client, world, sid, [event(at=200)])
    assert late.status_code == 409 and late.json()["error"]["code"] == "conflict"
    assert _count(session, sid) == 2
    with unit_of_work.transaction() as s:
        other = s.get(PlaySession, uuid.UUID(start(client, world).json()["id"]))
        other.status = SessionStatus.abandoned
        abandoned = str(other.id)
    assert post_events(client, world, abandoned, [event()]).status_code == 409


def test_assignment_completes_when_every_module_is_completed(client, world, session):
    for module in (world.module, world.module2):
        sid = start(client, world, module=module).json()["id"]
        post_events(client, world, sid, [event("completion")])
        status = session.scalar(
            select(SimulationAssignment.status).where(SimulationAssignment.id == world.assignment_id)
        )
        session.expire_all()
    assert status == AssignmentStatus.completed


async def test_twenty_clients_posting_the_same_events_leave_one_copy_each(world, database_url):
    sids = []
    transport = httpx.ASGITransport(app=build_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        created = await client.post(
            "/api/v1/sessions",
            json={
                "external_session_id": str(uuid.uuid4()),
                "module_id": str(world.module.id),
                "player": {"email": world.player.email},
            },
            headers=world.auth(),
        )
        sid = created.json()["id"]
        sids.append(sid)
        shared = [event(at=i) for i in range(50)]

        async def one(i: int):
            own = [event(at=100 + i)]
            return await client.post(
                "/api/v1/events", json={"session_id": sid, "events": shared + own}, headers=world.auth()
            ), own

        results = await asyncio.gather(*(one(i) for i in range(20)))
    assert all(r.status_code == 200 for r, _ in results), [r.text for r, _ in results if r.status_code != 200]
    assert sum(r.json()["accepted"] for r, _ in results) == 50 + 20
    assert sum(r.json()["duplicates"] for r, _ in results) == 19 * 50
    with unit_of_work.read_only() as s:
        stored = set(s.scalars(select(GameEvent.id).where(GameEvent.session_id == uuid.UUID(sid))))
    expected = {uuid.UUID(e["id"]) for e in shared} | {uuid.UUID(own[0]["id"]) for _, own in results}
    assert stored == expected


def test_a_failure_of_ours_is_a_json_500_and_stores_nothing(client, world, sid, session, monkeypatch, caplog):
    """A bug on our side still answers the engine in the API's error format (and is logged)."""
    from console.services import ingest

    def broken(**_kwargs):
        raise RuntimeError("bug")

    monkeypatch.setattr(ingest, "record_event_batches", broken)
    answer = post_events(client, world, sid, [event()])
    assert answer.status_code == 500
    assert answer.json()["error"]["code"] == "internal_error"
    assert answer.headers["cache-control"] == "no-store"
    assert "engine API request failed" in caplog.text
    assert _count(session, sid) == 0


def test_events_without_data_are_stored_with_empty_data(client, world, sid, session):
    custom = {k: v for k, v in event("custom").items() if k != "data"}
    completion = {k: v for k, v in event("completion", at=90).items() if k != "data"}
    answer = post_events(client, world, sid, [custom, completion])
    assert answer.status_code == 200 and answer.json()["session_status"] == "completed", answer.text
    for sent in (custom, completion):
        assert session.get(GameEvent, uuid.UUID(sent["id"])).event_data == {}
    # Retried as sent: duplicates, not conflicts.
    again = post_events(client, world, sid, [custom, completion])
    assert again.status_code == 200 and again.json()["duplicates"] == 2, again.text


def test_event_schema_refuses_unknown_fields(client):
    schema = client.get("/api/v1/openapi.json").json()["components"]["schemas"]
    for name in ("DecisionEvent", "MilestoneEvent", "ScoreUpdateEvent", "CompletionEvent", "CustomEvent"):
        assert schema[name]["additionalProperties"] is False, name


def test_unknown_dimension_keys_are_refused_by_name_and_nothing_is_stored(client, world, sid, session):
    """Nothing in a 2xx is silently ignored: a key that is not one of the module's dimensions (matched
    exactly) refuses the batch, naming each unknown key where it was sent and listing the dimensions."""
    sent = [
        event(at=1),
        event(at=2, data={"decision_id": "d2", "choice_id": "c1", "impacts": {"Financial": 5, "morale": 1}}),
        event("score_update", at=3, data={"scores": {"financial": 50, "reputation": 40}}),
        event("completion", at=4, data={"scores": {"morale": 70}}),
    ]
    answer = post_events(client, world, sid, sent)
    assert answer.status_code == 422, answer.text
    assert answer.json() == {
        "error": {
            "code": "unknown_dimension",
            "message": "Unknown scoring dimensions: Financial, morale, reputation. This module's dimensions are: "
            "financial, reputational. Keys must match exactly; nothing of the batch was stored.",
            "details": {
                "events[1].data.impacts.Financial": "not a dimension of this module",
                "events[1].data.impacts.morale": "not a dimension of this module",
                "events[2].data.scores.reputation": "not a dimension of this module",
                "events[3].data.scores.morale": "not a dimension of this module",
                "allowed_dimensions": ["financial", "reputational"],
            },
        }
    }
    assert _count(session, sid) == 0
    assert session.get(PlaySession, uuid.UUID(sid)).status == SessionStatus.in_progress
    # The module's own keys pass, in every place they may appear.
    known = [
        event(at=1, data={"decision_id": "d1", "choice_id": "c1", "impacts": {"financial": 5, "reputational": -1}}),
        event("score_update", at=2, data={"scores": {"reputational": 40}}),
    ]
    assert post_events(client, world, sid, known).status_code == 200


def test_an_event_id_twice_in_a_batch_is_named_with_its_positions(client, world, sid, session):
    twice = event()
    answer = post_events(client, world, sid, [twice, event(at=2), twice, twice])
    assert answer.status_code == 422
    assert answer.json()["error"]["details"] == {
        "events[0].id": f"{twice['id']} is sent again at events[2], events[3]: give each event its own id "
        "(a retry resends the whole batch instead)"
    }
    assert _count(session, sid) == 0


def test_a_score_outside_its_dimensions_range_is_refused_not_clamped(client, world, sid, session):
    sent = [
        event("score_update", at=1, data={"scores": {"financial": 100, "reputational": 0}}),  # the edges pass
        event("score_update", at=2, data={"scores": {"financial": 150}}),
        event("completion", at=3, data={"scores": {"reputational": -0.5}}),
    ]
    answer = post_events(client, world, sid, sent)
    assert answer.status_code == 422, answer.text
    assert answer.json() == {
        "error": {
            "code": "score_out_of_range",
            "message": "A score is outside its dimension's range; nothing of the batch was stored.",
            "details": {
                "events[1].data.scores.financial": "outside the dimension's range, 0 to 100",
                "events[2].data.scores.reputational": "outside the dimension's range, 0 to 100",
                "allowed_dimensions": ["financial", "reputational"],
            },
        }
    }
    assert _count(session, sid) == 0
    # Impacts are deltas: the value they move stays in range, so a large one is taken (and clamped).
    big = event(data={"decision_id": "d1", "choice_id": "c1", "impacts": {"financial": 500}})
    assert post_events(client, world, sid, [big]).status_code == 200


def test_a_field_given_twice_in_one_object_counts_once_the_last(client, world, sid, session):
    """Documented in the engine guide (README, /developers): JSON with a repeated key is read as most
    parsers read it, the last value wins; the earlier one is not an error, so engines must not send it."""
    first = event(at=1)
    body = (
        f'{{"session_id": "{uuid.uuid4()}", "session_id": "{sid}", "events": [{{"id": "{first["id"]}", '
        f'"type": "milestone", "type": "decision", "timestamp": "{first["timestamp"]}", '
        f'"data": {{"decision_id": "d1", "choice_id": "c1"}}}}]}}'
    )
    answer = client.post("/api/v1/events", content=body, headers={**world.auth(), "Content-Type": "application/json"})
    assert answer.status_code == 200, answer.text
    assert answer.json()["session_id"] == sid
    assert session.get(GameEvent, uuid.UUID(first["id"])).event_type == "decision"


def test_two_completions_in_one_batch_are_refused(client, world, sid, session):
    answer = post_events(client, world, sid, [event("completion", at=5), event(at=6), event("completion", at=7)])
    assert answer.status_code == 422
    assert answer.json()["error"] == {
        "code": "validation_failed",
        "message": "A batch may carry one completion event: it completes the session.",
        "details": {"events": "completion events at events[0], events[2]: send one"},
    }
    assert _count(session, sid) == 0


def test_the_body_is_read_as_utf8_whatever_charset_is_named(client, world, sid, session):
    """Documented in the engine guide: JSON is UTF-8 (RFC 8259), a charset parameter is not read."""
    sent = event("milestone", data={"milestone_id": "m1", "label": "Café"})
    body = json.dumps({"session_id": sid, "events": [sent]}, ensure_ascii=False).encode()
    headers = {**world.auth(), "Content-Type": "application/json; charset=latin-1"}
    assert client.post("/api/v1/events", content=body, headers=headers).status_code == 200
    assert session.get(GameEvent, uuid.UUID(sent["id"])).event_data["label"] == "Café"


def test_of_an_authorization_header_sent_twice_the_first_counts(client, world):
    """Documented in the engine guide: the first of a repeated header is the one read."""
    url = f"/api/v1/modules/{world.module.id}"
    good, bad = f"Bearer {world.keys['rw']}", "Bearer sk_sim_nope"
    assert client.get(url, headers=[("Authorization", good), ("Authorization", bad)]).status_code == 200
    assert client.get(url, headers=[("Authorization", bad), ("Authorization", good)]).status_code == 401


def test_events_timed_after_the_completion_in_its_batch_still_count(client, world, sid):
    """Documented in the engine guide: the completion closes the session at its own time, and the
    batch's later events are stored and scored all the same."""
    late = event(at=90, data={"decision_id": "d9", "choice_id": "c1", "impacts": {"financial": 10}})
    assert post_events(client, world, sid, [event("completion", at=60), late]).status_code == 200
    result = client.get(f"/api/v1/sessions/{sid}", headers=world.auth()).json()
    assert result["total_duration_seconds"] == 60 and result["final_scores"]["financial"] == 60
