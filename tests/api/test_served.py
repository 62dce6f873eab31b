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


def _serve(database_url, tmp_path, command):
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k != "PYTEST_CURRENT_TEST"}
    env.update(DATABASE_URL=database_url, SIMVADO_DATA_DIR=str(tmp_path), PYTHONPATH=os.getcwd())
    process = subprocess.Popen(
        [sys.executable, "-m", "console.cli", *command, "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
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
