"""Helpers several test folders share."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest


def at_once(times: int, call: Callable[[], object]) -> list:
    """Run `call` in `times` threads released together (a barrier); what each returned, in finishing order."""
    start = threading.Barrier(times)
    answers: list = []

    def one() -> None:
        start.wait()
        answers.append(call())

    threads = [threading.Thread(target=one) for _ in range(times)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return answers


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


async def _csrf(client) -> tuple[str, dict[str, str]]:  # noqa: ANN001
    """What a browser on one of our pages sends with a form post: the page's token and its Origin."""
    if not client.cookies.get("simvado_csrf"):
        await client.get("/login", follow_redirects=False)  # any page sets the cookie; this one is public
    return client.cookies["simvado_csrf"], {"Origin": str(client.base_url).rstrip("/")}


async def sign_in(client, email: str, password: str, next_: str = "/", *, follow_redirects: bool = False):  # noqa: ANN001
    """Post the login form as the login page does (with its token and from its origin)."""
    token, headers = await _csrf(client)
    return await client.post(
        "/auth/login",
        data={"email": email, "password": password, "next": next_, "csrf": token},
        headers=headers,
        follow_redirects=follow_redirects,
    )


async def sign_out(client, *, follow_redirects: bool = False):  # noqa: ANN001
    """Post the header's Log out form."""
    token, headers = await _csrf(client)
    return await client.post("/auth/logout", data={"csrf": token}, headers=headers, follow_redirects=follow_redirects)


async def upload_through_page(user, name: str, data: bytes, *, marker: str = "media-upload"):  # noqa: ANN001
    """What a page's uploader (pages/components/uploader.py) does in the browser: post the file as the
    body of its own request to the uploader's URL, with its name and the page's CSRF token, then hand
    the answer back to the page. Returns the HTTP response."""
    uploader = user.find(marker=marker)
    url = next(iter(uploader.elements)).props["url"]
    response = await user.http_client.post(
        url,
        content=data,
        headers={
            "X-Filename": name,
            "X-CSRF-Token": user.http_client.cookies.get("simvado_csrf", ""),
            "Origin": str(user.http_client.base_url).rstrip("/"),
            "Content-Type": "application/octet-stream",
        },
    )
    event = "uploaded" if response.is_success else "failed"
    uploader.trigger(event, {"name": name, "status": response.status_code, "body": response.text})
    return response
