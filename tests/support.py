"""Helpers several test folders share."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time
from collections.abc import Callable
from pathlib import Path

import pytest


def wait_until(condition: Callable[[], object], *, what: str, timeout: float = 10.0, interval: float = 0.02) -> None:
    """Poll `condition` until it is true; past `timeout` seconds, fail the test saying what never happened."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"gave up after {timeout:g} s waiting for {what}")
        time.sleep(interval)


async def wait_until_async(
    condition: Callable[[], object], *, what: str, timeout: float = 10.0, interval: float = 0.01
) -> None:
    """`wait_until` for a test on an event loop: the loop keeps running while it waits."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"gave up after {timeout:g} s waiting for {what}")
        await asyncio.sleep(interval)


def stop_embedded_postgres(pgdata: Path) -> None:
    """Stop the embedded PostgreSQL a console subprocess left running (it outlives the console on
    purpose, and pgserver's own cleanup only stops servers its process started)."""
    pid_file = pgdata / "postmaster.pid"
    if not pid_file.exists():
        return
    pid = int(pid_file.read_text().split()[0])
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGINT)  # PostgreSQL's fast shutdown
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            os.kill(pid, 0)  # raises ProcessLookupError once it is gone
            time.sleep(0.1)
        pytest.fail(f"the embedded PostgreSQL (pid {pid}, {pgdata}) did not stop within 20 s")
