"""Regression tests for engine API bugs that schemathesis and the serve-api work found (each once a 500
or an undocumented status): the contract each one states now holds."""

from __future__ import annotations

import uuid

from sqlalchemy import func, select

from models import GameEvent, PlaySession
from models.enums import SessionStatus
from tests.api.conftest import post_events, start


def test_start_session_without_started_at(client, world):
    body = {
        "external_session_id": str(uuid.uuid4()),
        "module_id": str(world.module.id),
        "player": {"email": world.player.email},
    }
    answer = client.post("/api/v1/sessions", json=body, headers=world.auth())
    assert answer.status_code == 201, answer.text
    assert answer.json()["started_at"]


def test_event_timestamp_with_a_large_offset(client, world, session):
    """2000-01-01T00:00+16:00 is 1999-12-31T08:00Z: before the earliest accepted instant (once a 500)."""
    session_id = start(client, world).json()["id"]
    answer = post_events(
        client,
        world,
        session_id,
        [
            {
                "id": str(uuid.uuid4()),
                "type": "decision",
                "timestamp": "2000-01-01T00:00:00+16:00",
                "data": {"decision_id": "0", "choice_id": "0"},
            }
        ],
    )
    assert answer.status_code == 422, answer.text
    assert "events[0].timestamp" in answer.json()["error"]["details"]
    assert session.scalar(select(func.count()).select_from(GameEvent)) == 0


def test_malformed_json_body_answers_a_documented_status(client, world):
    answer = client.post(
        "/api/v1/events",
        content=b"\xab\x0e\xff \x17",
        headers={**world.auth(), "Content-Type": "application/json"},
    )
    documented = client.get("/api/v1/openapi.json").json()["paths"]["/events"]["post"]["responses"]
    assert str(answer.status_code) in documented, answer.text


def test_completion_far_in_the_future(client, world, session):
    session_id = start(client, world).json()["id"]
    completion = {"id": str(uuid.uuid4()), "type": "completion", "timestamp": "2100-01-21T23:59:00Z", "data": {}}
    answer = post_events(client, world, session_id, [completion])
    assert answer.status_code == 422, answer.text
    assert "one day from now" in answer.json()["error"]["details"]["events[0].timestamp"]
    assert session.get(PlaySession, uuid.UUID(session_id)).status == SessionStatus.in_progress


def test_nul_character_in_event_data(client, world):
    session_id = start(client, world).json()["id"]
    decision = {
        "id": str(uuid.uuid4()),
        "type": "decision",
        "timestamp": "2026-11-25T10:01:00Z",
        "data": {"decision_id": "\x00", "choice_id": "0"},
    }
    answer = post_events(client, world, session_id, [decision])
    assert answer.status_code == 422, answer.text
    assert "NUL" in answer.text


def test_non_finite_number_in_custom_data_is_refused(client, world):
    """Python's JSON readers take NaN; PostgreSQL's jsonb does not (once a 500, found reading the parser)."""
    session_id = start(client, world).json()["id"]
    event = f'{{"id": "{uuid.uuid4()}", "type": "custom", "timestamp": "2026-11-25T10:01:00Z", "data": DATA}}'
    body = f'{{"session_id": "{session_id}", "events": [{event}]}}'.replace(
        "DATA", '{"x": NaN, "label": "NaN is fine as text"}'
    )
    answer = client.post("/api/v1/events", content=body, headers={**world.auth(), "Content-Type": "application/json"})
    assert answer.status_code == 422, answer.text
    assert "finite" in answer.text
    text_only = body.replace('"x": NaN, ', "")
    answer = client.post(
        "/api/v1/events", content=text_only, headers={**world.auth(), "Content-Type": "application/json"}
    )
    assert answer.status_code == 200, answer.text


def test_time_zone_offsets_postgresql_does_not_take_are_stored_as_the_same_instant(client, world, session):
    """pydantic takes offsets up to ±23:59, PostgreSQL only to ±15:59: once a 503 (a database error)."""
    from datetime import datetime

    answer = start(client, world, started_at="2026-11-25T20:00:00+20:00")
    assert answer.status_code == 201, answer.text
    session_id = answer.json()["id"]
    sent = {
        "id": str(uuid.uuid4()),
        "type": "milestone",
        "timestamp": "2026-11-25T23:30:00+20:00",
        "data": {"milestone_id": "m1"},
    }
    answer = post_events(client, world, session_id, [sent])
    assert answer.status_code == 200, answer.text
    stored = session.get(GameEvent, uuid.UUID(sent["id"]))
    assert stored.timestamp == datetime.fromisoformat("2026-11-25T03:30:00+00:00")
    assert session.get(PlaySession, uuid.UUID(session_id)).started_at == datetime.fromisoformat(
        "2026-11-25T00:00:00+00:00"
    )
    assert post_events(client, world, session_id, [sent]).json()["duplicates"] == 1  # a retry is a duplicate


def test_a_retry_with_large_numbers_in_custom_data_is_a_duplicate(client, world):
    """jsonb stores 1e23 as 100000000000000000000000; comparing decoded JSON in Python made the retry a 409."""
    session_id = start(client, world).json()["id"]
    body = (
        f'{{"session_id": "{session_id}", "events": [{{"id": "{uuid.uuid4()}", "type": "custom", '
        '"timestamp": "2026-11-25T10:01:00Z", "data": {"big": 1e23, "small": 1.5e-7}}]}'
    )
    headers = {**world.auth(), "Content-Type": "application/json"}
    assert client.post("/api/v1/events", content=body, headers=headers).json()["accepted"] == 1
    retry = client.post("/api/v1/events", content=body, headers=headers)
    assert retry.status_code == 200, retry.text
    assert retry.json()["duplicates"] == 1


def test_numbers_beyond_a_float_in_custom_data_are_refused(client, world):
    """1e400 reads as infinity: it was stored as null without a word."""
    session_id = start(client, world).json()["id"]
    for number in ("1e400", "-1e400", "NaN", "Infinity"):
        body = (
            f'{{"session_id": "{session_id}", "events": [{{"id": "{uuid.uuid4()}", "type": "custom", '
            f'"timestamp": "2026-11-25T10:01:00Z", "data": {{"nested": [{{"x": {number}}}]}}}}]}}'
        )
        answer = client.post(
            "/api/v1/events", content=body, headers={**world.auth(), "Content-Type": "application/json"}
        )
        assert answer.status_code == 422, (number, answer.text)
        assert "finite" in answer.json()["error"]["details"]["events[0].data"]
