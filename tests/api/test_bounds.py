"""The engine API's bounds (console/api/schemas.py), each at its edge: one step past it is a 422 that names
the field, and nothing is stored; the edge itself is accepted. Each refusal here fails when its bound is
removed from the schema (checked by removing each once)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from console import unit_of_work
from models import GameEvent, PlaySession, Simulation
from models.enums import SessionStatus
from tests.api.conftest import event, post_events, start

DAY = timedelta(days=1)


def _sessions(session) -> int:
    return session.scalar(select(func.count()).select_from(PlaySession))


def _events(session, session_id: str) -> int:
    query = select(func.count()).select_from(GameEvent).where(GameEvent.session_id == uuid.UUID(session_id))
    return session.scalar(query)


def _refused(answer, field: str, message: str = "") -> None:
    assert answer.status_code == 422, answer.text
    details = answer.json()["error"]["details"]
    assert field in details, details
    assert message in details[field], details


@pytest.fixture
def sid(client, world) -> str:
    return start(client, world).json()["id"]


# ------------------------------------------------------------------------------------ POST /sessions


def _in(delta: timedelta) -> str:
    return (datetime.now(UTC) + delta).isoformat()


@pytest.mark.parametrize(
    "started_at",
    [
        pytest.param("1999-12-31T23:59:59Z", id="before-2000"),
        pytest.param("2000-01-01T00:30:00+01:00", id="before-2000-by-its-offset"),
        pytest.param("1970-01-01T00:00:00Z", id="unix-epoch"),
        pytest.param(_in(DAY + timedelta(hours=1)), id="over-a-day-ahead"),
        pytest.param("2100-01-01T00:00:00Z", id="year-2100"),
    ],
)
def test_a_start_time_out_of_range_is_refused_and_nothing_is_stored(client, world, session, started_at):
    answer = start(client, world, external="ue-range", started_at=started_at)
    _refused(answer, "started_at", "between 2000-01-01 and one day from now")
    assert _sessions(session) == 0


def test_start_times_at_the_edges_are_accepted(client, world):
    for started_at in ("2000-01-01T00:00:00Z", "2000-01-01T01:00:00+01:00", _in(DAY - timedelta(minutes=5))):
        answer = start(client, world, started_at=started_at)
        assert answer.status_code == 201, (started_at, answer.text)
        assert datetime.fromisoformat(answer.json()["started_at"]) == datetime.fromisoformat(started_at)


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        pytest.param(
            {"external": None, "external_session_id": ""}, "external_session_id", "at least 1", id="ext-empty"
        ),
        pytest.param({"external": "e" * 256}, "external_session_id", "at most 255", id="ext-256"),
        pytest.param({"launch_url": "https://play.example/" + "x" * 480}, "launch_url", "at most 500", id="url-501"),
        pytest.param({"player": {"clerk_id": ""}}, "player.clerk_id", "at least 1", id="clerk-empty"),
        pytest.param({"player": {"clerk_id": "c" * 256}}, "player.clerk_id", "at most 255", id="clerk-256"),
        pytest.param({"player": {"email": "@b"}}, "player.email", "at least 3", id="email-2"),
        pytest.param({"player": {"email": "a" * 244 + "@acme.example"}}, "player.email", "at most 255", id="email-257"),
        pytest.param({"player": {}}, "player", "exactly one", id="player-none"),
        pytest.param({"external": "ue-\x00"}, "body", "NUL", id="nul"),
        pytest.param({"player": {"clerk_id": "ok\x00"}}, "body", "NUL", id="nul-nested"),
    ],
)
def test_session_fields_past_their_bounds_are_refused_and_nothing_is_stored(
    client, world, session, fields, field, message
):
    _refused(start(client, world, **fields), field, message)
    assert _sessions(session) == 0


def test_session_fields_at_their_bounds_are_accepted(client, world, session):
    url = "https://play.example/" + "x" * 479
    answer = start(client, world, external="e" * 255, launch_url=url)
    assert answer.status_code == 201, answer.text
    assert session.get(PlaySession, uuid.UUID(answer.json()["id"])).launch_url == url


# -------------------------------------------------------------------------------------- POST /events


def _decision(**data) -> dict:
    return event(data={"decision_id": "d1", "choice_id": "c1", **data})


def _many(count: int) -> dict[str, float]:
    return {f"k{n}": 1 for n in range(count)}


@pytest.mark.parametrize(
    ("sent", "field", "message"),
    [
        pytest.param(_decision(decision_id=""), "data.decision_id", "at least 1", id="ident-empty"),
        pytest.param(_decision(choice_id="c" * 101), "data.choice_id", "at most 100", id="ident-101"),
        pytest.param(_decision(node_id="n" * 101), "data.node_id", "at most 100", id="node-101"),
        pytest.param(_decision(label="x" * 256), "data.label", "at most 255", id="label-256"),
        pytest.param(_decision(impacts={"": 1}), 'data.impacts[""]', "the key: ", id="key-empty"),
        pytest.param(_decision(impacts={"k" * 51: 1}), f"data.impacts.{'k' * 51}", "at most 50", id="key-51"),
        pytest.param(
            _decision(impacts={"a b": 1}), 'data.impacts["a b"]', "the key: String should match pattern", id="key-space"
        ),
        pytest.param(_decision(impacts={"f": 1e9 + 1}), "data.impacts.f", "less than or equal", id="over-1e9"),
        pytest.param(
            _decision(impacts={"f": -1e9 - 1}), "data.impacts.f", "greater than or equal", id="under-minus-1e9"
        ),
        pytest.param(_decision(impacts=_many(51)), "data.impacts", "at most 50", id="impacts-51"),
        pytest.param(_decision(time_to_decide_ms=-1), "data.time_to_decide_ms", "greater", id="ms-negative"),
        pytest.param(
            _decision(time_to_decide_ms=7 * 24 * 3600 * 1000 + 1),
            "data.time_to_decide_ms",
            "less",
            id="ms-week",
        ),
        pytest.param(
            event("milestone", data={"milestone_id": ""}),
            "data.milestone_id",
            "at least 1",
            id="milestone-empty",
        ),
        pytest.param(
            event("milestone", data={"milestone_id": "m", "label": "x" * 256}),
            "data.label",
            "255",
            id="milestone-label-256",
        ),
        pytest.param(event("score_update", data={"scores": _many(51)}), "data.scores", "at most 50", id="scores-51"),
        pytest.param(event("completion", data={"outcome": "x" * 101}), "data.outcome", "at most 100", id="outcome-101"),
        pytest.param(
            event("completion", data={"scores": _many(51)}),
            "data.scores",
            "at most 50",
            id="completion-scores-51",
        ),
    ],
)
def test_event_data_past_its_bounds_is_refused_and_nothing_is_stored(client, world, session, sid, sent, field, message):
    answer = post_events(client, world, sid, [event(at=1), sent])
    _refused(answer, f"events[1].{field}", message)
    assert _events(session, sid) == 0
    assert session.get(PlaySession, uuid.UUID(sid)).status == SessionStatus.in_progress


@pytest.mark.parametrize("number", ["NaN", "Infinity", "-Infinity"])
def test_impacts_must_be_finite(client, world, session, sid, number):
    body = (
        f'{{"session_id": "{sid}", "events": [{{"id": "{uuid.uuid4()}", "type": "decision", '
        f'"timestamp": "{event()["timestamp"]}", "data": {{"decision_id": "d", "choice_id": "c", '
        f'"impacts": {{"f": {number}}}}}}}]}}'
    )
    answer = client.post("/api/v1/events", content=body, headers={**world.auth(), "Content-Type": "application/json"})
    assert answer.status_code == 422, answer.text
    assert "events[0].data.impacts.f" in answer.json()["error"]["details"]
    assert _events(session, sid) == 0


def test_event_data_at_its_bounds_is_accepted(client, world, session, sid):
    key = "k" * 50
    # Every key must be one of the module's dimensions: give the simulation each one used here (more
    # than the scoring editor allows, which only makes its scores unscorable, not the batch refused).
    dimensions = [key, "f", *_many(50)]
    with unit_of_work.transaction() as s:
        s.get(Simulation, world.sim.id).scoring_config = {
            "dimensions": [{"key": k, "label": k, "weight": 1, "min": 0, "max": 100} for k in dimensions],
            "pass_mark": 60,
        }
    edge = [
        _decision(
            decision_id="d" * 100,
            choice_id="c" * 100,
            node_id="n" * 100,
            label="x" * 255,
            time_to_decide_ms=7 * 24 * 3600 * 1000,
            impacts={key: 1e9, "f": -1e9, **_many(48)},
        ),
        event("milestone", data={"milestone_id": "m" * 100, "label": "x" * 255}),
        event("score_update", data={"scores": _many(50)}),
        event("completion", at=120, data={"outcome": "x" * 100, "scores": _many(50)}),
    ]
    answer = post_events(client, world, sid, edge)
    assert answer.status_code == 200, answer.text
    assert answer.json()["accepted"] == 4 and _events(session, sid) == 4


@pytest.mark.parametrize(
    ("external", "message"),
    [pytest.param("", "at least 1", id="empty"), pytest.param("e" * 256, "at most 255", id="256")],
)
def test_a_batch_naming_its_session_past_the_bounds_is_refused(client, world, session, external, message):
    answer = client.post(
        "/api/v1/events", json={"external_session_id": external, "events": [event()]}, headers=world.auth()
    )
    _refused(answer, "external_session_id", message)
    assert session.scalar(select(func.count()).select_from(GameEvent)) == 0


def test_a_batch_naming_no_session_is_refused(client, world, session, sid):
    answer = client.post("/api/v1/events", json={"events": [event()]}, headers=world.auth())
    assert answer.status_code == 422, answer.text
    assert "external_session_id" in answer.text  # names both ways to name the session
    assert _events(session, sid) == 0
