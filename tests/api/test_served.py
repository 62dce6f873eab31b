"""The real server: the engine API is mounted on the console's root app, with no cookie and no login."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time

import httpx
import pytest

from console import unit_of_work
from console.auth import Actor
from console.services import api_keys


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def served(database_url, tmp_path):
    yield from _serve(database_url, tmp_path, ["serve"])


@pytest.fixture
def served_api(database_url, tmp_path):
    yield from _serve(database_url, tmp_path, ["serve-api", "--workers", "2"])


@pytest.fixture
def served_logging(database_url, tmp_path):
    """The full console, its log (stdout and stderr: uvicorn's access lines and ours) kept in a file."""
    log = tmp_path / "console.log"
    with log.open("wb") as sink:
        for base in _serve(database_url, tmp_path, ["serve"], output=sink):
            yield base, log


def _serve(database_url, tmp_path, command, output=subprocess.DEVNULL):
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k != "PYTEST_CURRENT_TEST"}
    env.update(DATABASE_URL=database_url, SIMVADO_DATA_DIR=str(tmp_path), PYTHONPATH=os.getcwd())
    process = subprocess.Popen(
        [sys.executable, "-m", "console.cli", *command, "--port", str(port)],
        env=env,
        stdout=output,
        stderr=output,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(150):
            try:
                if httpx.get(f"{base}/healthz", timeout=0.5).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        else:
            pytest.fail("server did not start")
        yield base
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_engine_api_on_the_full_console_has_no_cookie_and_no_login(served):
    with unit_of_work.transaction() as session:
        key = api_keys.create(session=session, actor=Actor.system("t"), data={"name": "k", "scopes": ["game:read"]}).key
    response = httpx.get(
        f"{served}/api/v1/sessions/00000000-0000-0000-0000-000000000000", headers={"Authorization": f"Bearer {key}"}
    )
    assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"
    assert "set-cookie" not in response.headers
    anonymous = httpx.get(f"{served}/api/v1/modules/00000000-0000-0000-0000-000000000000")
    assert anonymous.status_code == 401 and "set-cookie" not in anonymous.headers
    docs = httpx.get(f"{served}/api/v1/docs")
    assert docs.status_code == 200 and "/api/v1/openapi.json" in docs.text
    # The console's pages still go through login.
    page = httpx.get(f"{served}/api-keys", follow_redirects=False)
    assert page.status_code == 303 and page.headers["location"].startswith("/login")


def test_serve_api_serves_the_engine_api_alone(served_api):
    with unit_of_work.transaction() as session:
        key = api_keys.create(session=session, actor=Actor.system("t"), data={"name": "k", "scopes": ["game:read"]}).key
    for _ in range(4):  # whichever worker answers
        response = httpx.get(
            f"{served_api}/api/v1/modules/00000000-0000-0000-0000-000000000000",
            headers={"Authorization": f"Bearer {key}"},
        )
        assert response.status_code == 404 and "set-cookie" not in response.headers
    assert httpx.get(f"{served_api}/api/v1/openapi.json").status_code == 200
    assert httpx.get(f"{served_api}/api-keys").status_code == 404  # no console pages here


def test_example_client_plays_a_whole_session_against_the_real_server(served, world):
    """The engine developer's first five minutes: examples/play_session.py end to end."""
    env = {k: v for k, v in os.environ.items() if k != "PYTEST_CURRENT_TEST"}
    env["SIMVADO_API_KEY"] = world.keys["rw"]
    result = subprocess.run(
        [
            sys.executable,
            "examples/play_session.py",
            "--base-url",
            served,
            "--module",
            str(world.module.id),
            "--player",
            world.player.email,
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr + result.stdout
    out = result.stdout
    assert "Sent 3 events: 3 accepted, 0 duplicates" in out
    assert "Retried the last batch: 0 accepted, 3 duplicates" in out
    assert "Status: completed, duration 300 s" in out
    assert '"total":' in out and '"percentile":' in out
    assert "# Debrief:" in out and "Say no comment to the press" in out


def test_keys_sent_every_wrong_way_never_reach_the_log(served_logging, world):
    """SECURITY.md 7: whichever way a key is sent (in the URL, in a header other than `Authorization:
    Bearer`, in the body), the log holds at most its 15-character prefix."""
    base, log = served_logging
    key = world.keys["rw"]
    module = f"{base}/api/v1/modules/{world.module.id}"
    json_headers = {"Content-Type": "application/json"}
    sent = []
    for param in ("api_key", "apikey", "key", "token", "access_token", "x", "auth"):
        sent.append(httpx.get(f"{module}?{param}={key}"))
    sent.append(httpx.get(f"{module}?q=%73{key[1:]}"))  # partly percent-encoded
    sent.append(httpx.get(f"{module}?q={key[:20]}%{ord(key[20]):02X}{key[21:]}"))
    sent.append(httpx.get(f"{base}/api/v1/modules/{key}"))  # as a path segment
    httpx.get(f"{base}/studio?token={key}")  # a console page (a redirect to login)
    for headers in (
        {"Authorization": key},
        {"Authorization": f"Token {key}"},
        {"Authorization": f"Bearer {key}x"},
        {"Authorization": f"Bearer {key[:-1]}"},
        {"X-API-Key": key},
        {"Cookie": f"api_key={key}"},
    ):
        sent.append(httpx.get(module, headers=headers))
    for path, body in (
        ("/api/v1/sessions", {"api_key": key, "module_id": str(world.module.id)}),
        ("/api/v1/events", {"api_key": key, "events": []}),
    ):
        sent.append(httpx.post(f"{base}{path}", json=body, headers=json_headers))
        sent.append(httpx.post(f"{base}{path}?key={key}", json=body, headers={**json_headers, **world.auth()}))
    assert all(answer.status_code >= 400 for answer in sent), [a.status_code for a in sent]
    time.sleep(0.5)  # the log is written as the requests are answered
    text = log.read_text()
    assert "/api/v1/modules/" in text and " 401" in text, text  # the failures are logged, keys left out
    assert key not in text and key[15:] not in text, text
    assert key[:15] in text  # what is kept: the prefix, as the database keeps it
