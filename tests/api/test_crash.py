"""Crash test (SECURITY.md 3): a load running, the server killed with SIGKILL, restarted — every event
acknowledged with 2xx is in the database, and the client's retries add none twice."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
import uuid

import httpx
from sqlalchemy import func, select

from console import unit_of_work
from models import GameEvent
from tests.api.conftest import event
from tests.api.test_served import _free_port
from tests.support import wait_until


def _start(database_url: str, port: int, tmp_path) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if k != "PYTEST_CURRENT_TEST"}
    env.update(DATABASE_URL=database_url, SIMVADO_DATA_DIR=str(tmp_path), PYTHONPATH=os.getcwd())
    process = subprocess.Popen(
        [sys.executable, "-m", "console.cli", "serve-api", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    for _ in range(200):
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=0.5).status_code == 200:
                return process
        except httpx.HTTPError:
            time.sleep(0.05)
    process.kill()
    raise AssertionError("server did not start")


def test_sigkill_during_load_loses_no_acknowledged_event(database_url, world, tmp_path):
    port = _free_port()
    base = f"http://127.0.0.1:{port}/api/v1"
    headers = world.auth()
    server = _start(database_url, port, tmp_path)
    session_id = httpx.post(
        f"{base}/sessions",
        json={
            "external_session_id": str(uuid.uuid4()),
            "module_id": str(world.module.id),
            "player": {"email": world.player.email},
        },
        headers=headers,
    ).json()["id"]

    acknowledged: set[uuid.UUID] = set()
    pending: list[list[dict]] = []
    lock = threading.Lock()
    stop = threading.Event()

    def engine() -> None:
        with httpx.Client(timeout=5) as client:
            while not stop.is_set():
                batch = [event(at=1) for _ in range(10)]
                try:
                    response = client.post(
                        f"{base}/events", json={"session_id": session_id, "events": batch}, headers=headers
                    )
                    ok = response.status_code == 200
                except httpx.HTTPError:
                    ok = False
                with lock:
                    if ok:
                        acknowledged.update(uuid.UUID(e["id"]) for e in batch)
                    else:
                        pending.append(batch)
                if not ok:
                    time.sleep(0.05)

    threads = [threading.Thread(target=engine) for _ in range(6)]
    for thread in threads:
        thread.start()
    try:
        wait_until(lambda: len(acknowledged) >= 300, what="300 acknowledged events", timeout=60, interval=0.05)
        server.kill()  # SIGKILL: no shutdown, no flushing
        server.wait()
        time.sleep(0.3)
    finally:
        server.kill()
        stop.set()
        for thread in threads:
            thread.join(10)
    assert pending, "the kill should have interrupted some requests"

    with unit_of_work.read_only() as s:
        stored = set(s.scalars(select(GameEvent.id).where(GameEvent.session_id == uuid.UUID(session_id))))
    assert acknowledged <= stored  # every 2xx was durable

    server = _start(database_url, port, tmp_path)
    try:
        duplicates = 0
        for batch in pending:  # the engines retry what they never saw acknowledged
            response = httpx.post(f"{base}/events", json={"session_id": session_id, "events": batch}, headers=headers)
            assert response.status_code == 200, response.text
            duplicates += response.json()["duplicates"]
            acknowledged.update(uuid.UUID(e["id"]) for e in batch)
    finally:
        server.terminate()
        server.wait(timeout=10)
    with unit_of_work.read_only() as s:
        rows = s.scalar(
            select(func.count()).select_from(GameEvent).where(GameEvent.session_id == uuid.UUID(session_id))
        )
        stored = set(s.scalars(select(GameEvent.id).where(GameEvent.session_id == uuid.UUID(session_id))))
    assert stored == acknowledged and rows == len(acknowledged)
