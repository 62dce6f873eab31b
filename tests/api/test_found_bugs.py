"""Regression tests for engine API bugs that schemathesis and the serve-api work found (each once a 500
or an undocumented status): the contract each one states now holds."""

from __future__ import annotations

import uuid

from tests.api.conftest import post_events, start


def test_start_session_without_started_at(client, world):
    body = {"module_id": str(world.module.id), "player": {"email": world.player.email}}
    answer = client.post("/api/v1/sessions", json=body, headers=world.auth())
    assert answer.status_code == 201, answer.text
    assert answer.json()["started_at"]


def test_event_timestamp_with_a_large_offset(client, world):
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
    assert answer.status_code in (200, 422), answer.text


def test_malformed_json_body_answers_a_documented_status(client, world):
    answer = client.post(
        "/api/v1/events",
        content=b"\xab\x0e\xff \x17",
        headers={**world.auth(), "Content-Type": "application/json"},
    )
    documented = client.get("/api/v1/openapi.json").json()["paths"]["/events"]["post"]["responses"]
    assert str(answer.status_code) in documented, answer.text


def test_completion_far_in_the_future(client, world):
    session_id = start(client, world).json()["id"]
    completion = {"id": str(uuid.uuid4()), "type": "completion", "timestamp": "2100-01-21T23:59:00Z", "data": {}}
    answer = post_events(client, world, session_id, [completion])
    assert answer.status_code in (200, 422), answer.text


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
