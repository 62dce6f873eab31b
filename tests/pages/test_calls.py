"""A page's service call that is cancelled (the browser went away, the app is stopping) ends as a
cancellation, never as a `None` the page takes for the service's answer: a session page once drew
"None.rows" as a server error under load."""

from __future__ import annotations

import asyncio
import time

import pytest

from pages.components import calls


async def test_a_cancelled_call_is_cancelled_not_answered_with_none(monkeypatch):
    monkeypatch.setattr(calls, "_access", lambda: calls.PageAccess(token=None, permission=None, path="/x"))
    answered = []

    def slow_read(op, access, kwargs):  # noqa: ANN001, ANN202 — stands in for a slow query
        time.sleep(0.3)
        return "rows"

    async def handler() -> None:
        answered.append(await calls._call(slow_read, None, {}))

    task = asyncio.create_task(handler())
    await asyncio.sleep(0.05)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert answered == []


async def test_an_uncancelled_call_answers_what_the_service_returned(monkeypatch):
    monkeypatch.setattr(calls, "_access", lambda: calls.PageAccess(token=None, permission=None, path="/x"))
    assert await calls._call(lambda op, access, kwargs: None, None, {}) is None
    assert await calls._call(lambda op, access, kwargs: "rows", None, {}) == "rows"
