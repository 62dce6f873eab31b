"""Helpers several test folders share."""

from __future__ import annotations

import contextlib
import os
import signal
import time
from pathlib import Path


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
            os.kill(pid, 0)
            time.sleep(0.1)
