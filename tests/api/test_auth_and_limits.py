"""Keys, scopes and bindings (a matrix), and the request guards: 401, 403, 413, 415, 422, 429."""

from __future__ import annotations

import json
import uuid

import pytest
from starlette.testclient import TestClient

from tests.api.conftest import build_app, event, post_events, start


def _error(response) -> dict:
    body = response.json()
    assert set(body) == {"error"} and {"code", "message", "details"} <= set(body["error"])
    return body["error"]


def test_missing_or_malformed_key_is_401(client, world):
    for header in (None, "Bearer", "Bearer nope", "Basic abc", "bearer sk_sim_short"):
        headers = {"Authorization": header} if header else {}
        response = client.get(f"/api/v1/modules/{world.module.id}", headers=headers)
        assert response.status_code == 401, header
        assert _error(response)["code"] == "unauthorized"
        assert response.headers["www-authenticate"] == "Bearer"
    # Without a key nothing else is told: a body that is not even JSON is still just a 401.
    response = client.post("/api/v1/events", content=b"{not json", headers={"Content-Type": "application/json"})
    assert response.status_code == 401 and _error(response)["code"] == "unauthorized"


def test_revoked_and_expired_keys_are_401_with_the_same_message(client, world):
    unknown = client.get(f"/api/v1/modules/{world.module.id}", headers={"Authorization": "Bearer sk_sim_x"})
    for name in ("revoked", "expired"):
        bad = client.get(f"/api/v1/modules/{world.module.id}", headers=world.auth(name))
        assert bad.status_code == unknown.status_code == 401
        assert _error(bad)["message"] == _error(unknown)["message"]


def test_key_in_the_url_is_never_accepted(client, world):
    key = world.keys["rw"]
    for url in (f"/api/v1/modules/{world.module.id}?api_key={key}", f"/api/v1/modules/{world.module.id}?token={key}"):
        assert client.get(url).status_code == 401


def test_key_refusals_log_only_the_prefix(client, world, caplog):
    caplog.set_level("INFO", logger="simvado.api")
    key = world.keys["revoked"]
    client.get(f"/api/v1/modules/{world.module.id}", headers=world.auth("revoked"))
    assert key[:15] in caplog.text and key not in caplog.text


# (key, route) → status. "sim" is bound to world.sim, "other_sim" to another simulation,
# "org" to the player's organization, "other_org" to another one. A record outside a key's binding is
# 404, as a record that does not exist (no existence oracle); a key lacking the scope is 403.
MATRIX = [
    ("rw", "start", 201),
    ("write", "start", 201),
    ("read", "start", 403),
    ("sim", "start", 201),
    ("other_sim", "start", 404),
    ("org", "start", 201),
    ("other_org", "start", 422),  # the player is unknown to that organization's key
    ("rw", "get_module", 200),
    ("read", "get_module", 200),
    ("write", "get_module", 403),
    ("sim", "get_module", 200),
    ("other_sim", "get_module", 404),
    ("rw", "get_session", 200),
    ("read", "get_session", 200),
    ("write", "get_session", 403),
    ("sim", "get_session", 200),
    ("other_sim", "get_session", 404),
    ("org", "get_session", 200),
    ("other_org", "get_session", 404),
    ("rw", "events", 200),
    ("write", "events", 200),
    ("read", "events", 403),
    ("sim", "events", 200),
    ("other_sim", "events", 404),
    ("org", "events", 200),
    ("other_org", "events", 404),
]


@pytest.mark.parametrize("route", ["start", "get_module", "get_session", "events"])
def test_key_scope_matrix(client, world, route):
    for key, matrix_route, status in MATRIX:
        if matrix_route == route:
            _check_matrix_entry(client, world, key, route, status)


def _check_matrix_entry(client, world, key, route, status):
    if route == "start":
        response = start(client, world, key=key)
    elif route == "get_module":
        response = client.get(f"/api/v1/modules/{world.module.id}", headers=world.auth(key))
    else:
        session_id = start(client, world).json()["id"]
        if route == "get_session":
            response = client.get(f"/api/v1/sessions/{session_id}", headers=world.auth(key))
        else:
            response = post_events(client, world, session_id, [event()], key=key)
            if status != 200:
                count = client.get(f"/api/v1/sessions/{session_id}", headers=world.auth("rw"))
                assert count.status_code == 200
    assert response.status_code == status, (key, route, response.text)
    if status >= 400:
        _error(response)


def test_out_of_scope_event_post_writes_no_row(client, world, session):
    from sqlalchemy import func, select

    from models import GameEvent

    session_id = start(client, world).json()["id"]
    response = post_events(client, world, session_id, [event(), event("milestone")], key="other_sim")
    assert response.status_code == 404
    assert session.scalar(select(func.count()).select_from(GameEvent)) == 0


def test_wrong_content_type_is_415(client, world):
    body = json.dumps({"session_id": str(uuid.uuid4()), "events": [event()]})
    for content_type in ("text/plain", "application/x-www-form-urlencoded", None):
        headers = {**world.auth(), **({"Content-Type": content_type} if content_type else {})}
        response = client.post("/api/v1/events", content=body, headers=headers)
        assert response.status_code == 415
        assert _error(response)["code"] == "unsupported_media_type"


def test_oversize_body_is_413_by_declared_length_and_by_stream(database_url, world):
    with TestClient(build_app(api_max_body_bytes=2000)) as small:
        big = json.dumps(
            {"session_id": str(uuid.uuid4()), "events": [event(data={"x": "y" * 5000}) | {"type": "custom"}]}
        )
        response = small.post(
            "/api/v1/events", content=big, headers={**world.auth(), "Content-Type": "application/json"}
        )
        assert response.status_code == 413 and _error(response)["code"] == "payload_too_large"

        def chunks():  # no Content-Length: the stream itself is capped
            for _ in range(10):
                yield b" " * 500
            yield big.encode()

        streamed = small.post(
            "/api/v1/events", content=chunks(), headers={**world.auth(), "Content-Type": "application/json"}
        )
        assert streamed.status_code == 413


def test_one_events_data_over_the_limit_is_422(client, world):
    session_id = start(client, world).json()["id"]
    huge = event("custom", data={"blob": "x" * (33 * 1024)})
    response = post_events(client, world, session_id, [event(), huge])
    assert response.status_code == 422
    assert "events[1].data" in _error(response)["details"]


def test_rate_limit_is_per_key_with_retry_after(database_url, world):
    with TestClient(build_app(api_rate_limit="3/minute")) as limited:
        url = f"/api/v1/modules/{world.module.id}"
        statuses = [limited.get(url, headers=world.auth("rw")).status_code for _ in range(4)]
        assert statuses == [200, 200, 200, 429]
        response = limited.get(url, headers=world.auth("rw"))
        assert response.status_code == 429
        assert 1 <= int(response.headers["Retry-After"]) <= 60
        assert _error(response)["code"] == "rate_limited" and _error(response)["details"]["limit"] == "key"
        # Another key is unaffected.
        assert limited.get(url, headers=world.auth("read")).status_code == 200


def test_api_responses_carry_no_cookie_and_no_store(client, world):
    session_id = start(client, world).json()["id"]
    answers = [
        client.get(f"/api/v1/modules/{world.module.id}", headers=world.auth()),
        post_events(client, world, session_id, [event()]),  # served by its DirectRoute
        post_events(client, world, session_id, [{**event(), "type": "teleport"}]),
    ]
    assert [a.status_code for a in answers] == [200, 200, 422]
    for response in answers:
        assert "set-cookie" not in response.headers
        assert response.headers["cache-control"] == "no-store"
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["content-type"] == "application/json"


def test_a_401_says_how_to_send_the_key(client, world):
    missing = client.get(f"/api/v1/modules/{world.module.id}")
    assert missing.json() == {
        "error": {
            "code": "unauthorized",
            "message": "No API key: send it in the Authorization header as `Authorization: Bearer sk_sim_…` "
            "(never in the URL or the body).",
            "details": {},
        }
    }
    bad = {
        "error": {
            "code": "unauthorized",
            "message": "The API key is not valid: unknown, revoked, expired or mistyped. Send the whole key as "
            "`Authorization: Bearer sk_sim_…`; a platform admin can make a new one on the console's API keys page.",
            "details": {},
        }
    }
    for headers in ({"Authorization": "Bearer sk_sim_nope"}, world.auth("revoked"), world.auth("expired")):
        assert client.get(f"/api/v1/modules/{world.module.id}", headers=headers).json() == bad


@pytest.mark.parametrize("path", ["/api/v1/sessions", "/api/v1/events"])
def test_no_key_and_a_bad_body_is_401_not_422(client, path):
    for body in (b"{not json", b'{"x": 1}', b"{}"):
        answer = client.post(path, content=body, headers={"Content-Type": "application/json"})
        assert answer.status_code == 401, (path, body, answer.text)


def test_query_parameters_are_refused_not_ignored(client, world):
    """No route takes query parameters: a 2xx would have ignored them, so each is named in a 422."""
    sid = start(client, world).json()["id"]
    batch = {"session_id": sid, "events": [event()]}
    for method, url, body in (
        ("GET", f"/api/v1/modules/{world.module.id}?fields=title", None),
        ("GET", f"/api/v1/sessions/{sid}?fields=title", None),
        ("POST", "/api/v1/events?fields=title&dry_run=1", batch),
        (
            "POST",
            "/api/v1/sessions?fields=title",
            {
                "external_session_id": str(uuid.uuid4()),
                "module_id": str(world.module.id),
                "player": {"user_id": str(world.player.id)},
            },
        ),
    ):
        answer = client.request(method, url, json=body, headers=world.auth())
        assert answer.status_code == 422, (url, answer.text)
        assert "query.fields" in answer.json()["error"]["details"], url
    answer = client.post("/api/v1/events?fields=title&dry_run=1", json=batch, headers=world.auth())
    assert answer.json() == {
        "error": {
            "code": "validation_failed",
            "message": "This route takes no query parameters (got: fields, dry_run): send the data in the JSON "
            "body or the path, and the key in the Authorization header.",
            "details": {
                "query.fields": "not a parameter of this route",
                "query.dry_run": "not a parameter of this route",
            },
        }
    }
    # Without a key it is the key's 401 that answers.
    assert client.post("/api/v1/events?x=1", json=batch).status_code == 401
    assert client.get(f"/api/v1/modules/{world.module.id}?x=1").status_code == 401


def test_a_wrong_method_is_405_naming_the_right_one(client, world):
    for method, path, allowed in (
        ("GET", "/api/v1/events", "POST"),
        ("DELETE", "/api/v1/events", "POST"),
        ("PUT", "/api/v1/sessions", "POST"),
        ("POST", f"/api/v1/modules/{world.module.id}", "GET"),
    ):
        answer = client.request(method, path, json={}, headers=world.auth())
        assert answer.status_code == 405, (method, path)
        assert answer.headers["allow"] == allowed
        assert answer.json()["error"] == {
            "code": "method_not_allowed",
            "message": f"This route takes {allowed} only.",
            "details": {},
        }


def test_a_trailing_slash_is_a_404_naming_the_route_not_a_redirect(client, world):
    """It was a 307 to the slash-less route with an absolute http:// Location and no body: clients that
    drop the key on a redirect, or cannot redo a POST, failed with nothing to read."""
    for method, path in (("GET", "/api/v1/modules/"), ("POST", "/api/v1/events/"), ("POST", "/api/v1/sessions/")):
        answer = client.request(method, path, json={}, headers=world.auth(), follow_redirects=False)
        assert answer.status_code == 404, (method, path, answer.status_code)
        assert answer.json()["error"] == {
            "code": "not_found",
            "message": f"No route at {path}: the routes take no trailing slash ({path.rstrip('/')}).",
            "details": {},
        }
    unknown = client.get("/api/v1/nothing-here", headers=world.auth())
    assert (
        unknown.json()["error"]["message"] == "No route at /api/v1/nothing-here: the routes are listed at /api/v1/docs."
    )
