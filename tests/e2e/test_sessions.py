"""In a real browser, on the demo console: an engine plays a session through the engine API (one event
carrying `<img src=x onerror=alert(1)>`), and the organization's admin finds it on /sessions by filter,
opens it, and reads its timeline, charts, final scores and debrief, following a debrief link to its
event. The engine's text shows as text, and no script of it ever runs. Screenshots:
artifacts/screenshots/sessions-*.png."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta

import httpx
from playwright.sync_api import expect

from tests.e2e.conftest import ARTIFACTS, screenshot

XSS = "<img src=x onerror=alert(1)>"


def sign_in(page, console, account) -> None:  # noqa: ANN001
    page.goto(f"{console.url}/login")
    page.get_by_label("Email", exact=True).fill(account.email)
    page.get_by_label("Password", exact=True).fill(account.password)
    page.get_by_label("Password", exact=True).press("Enter")
    page.wait_for_url(re.compile(r"^(?!.*/login)"))


def _fact(page, name: str) -> str:  # noqa: ANN001
    """A value of the session's facts grid (its <dt> name, then the <dd> after it)."""
    return page.locator(f"xpath=//dt[normalize-space()='{name}']/following-sibling::dd[1]").inner_text().strip()


def _play(demo_console, module_id: str, player: str) -> tuple[str, str]:  # noqa: ANN001
    """Start a session and post its events as an engine would; returns (session id, external id)."""
    engine = httpx.Client(base_url=demo_console.url, headers={"Authorization": f"Bearer {demo_console.api_key}"})
    module = engine.get(f"/api/v1/modules/{module_id}")
    assert module.status_code == 200, module.text
    dims = [d["key"] for d in module.json()["scoring"]["dimensions"]]
    external = f"e2e-sessions-{uuid.uuid4().hex[:10]}"
    started = datetime.now(UTC) - timedelta(minutes=12)
    made = engine.post("/api/v1/sessions", json={
        "external_session_id": external, "module_id": module_id, "player": {"email": player},
        "platform": "unreal", "started_at": started.isoformat(),
    })  # fmt: skip
    assert made.status_code in (200, 201), made.text

    def at(seconds: int) -> str:
        return (started + timedelta(seconds=seconds)).isoformat()

    events = [
        {"type": "decision", "timestamp": at(40), "data": {"decision_id": "d1", "choice_id": "c2",
         "label": "Call the board", "time_to_decide_ms": 8000, "impacts": {dims[0]: 12, dims[-1]: -6}}},
        {"type": "milestone", "timestamp": at(90), "data": {"milestone_id": "m1", "label": XSS}},
        {"type": "custom", "timestamp": at(120),
         "data": {"note": XSS, "markdown": "**bold** [x](javascript:alert(1))"}},
        {"type": "decision", "timestamp": at(200), "data": {"decision_id": "d2", "choice_id": "c1",
         "label": "Go public", "time_to_decide_ms": 30000, "impacts": {dims[0]: -9}}},
        {"type": "score_update", "timestamp": at(260), "data": {"scores": {dims[0]: 55}}},
        {"type": "decision", "timestamp": at(330), "data": {"decision_id": "d3", "choice_id": "c3",
         "impacts": {dims[-1]: 15}}},
        {"type": "completion", "timestamp": at(420), "data": {"outcome": XSS}},
    ]  # fmt: skip
    posted = engine.post(
        "/api/v1/events",
        json={"external_session_id": external, "events": [{"id": str(uuid.uuid4()), **e} for e in events]},
    )
    assert posted.status_code == 200 and posted.json()["accepted"] == len(events), posted.text
    return made.json()["id"], external


def test_an_engine_session_on_the_sessions_pages(page, demo_console):
    fired: list[str] = []
    page.on("dialog", lambda d: (fired.append(d.message), d.dismiss()))
    sign_in(page, demo_console, demo_console.logins["enterprise_admin"])

    page.goto(f"{demo_console.url}/sessions")
    expect(page.get_by_text(re.compile(r"^\d[\d,]* sessions?$"))).to_be_visible()
    screenshot(page, "sessions-01-list")

    # A module this organization plays (any of its sessions names it), for the engine.
    page.locator("tbody tr").first.get_by_role("link").click()
    page.wait_for_url(re.compile(r"/sessions/[0-9a-f-]{36}$"))
    module_id = _fact(page, "Module id")
    session_id, external = _play(demo_console, module_id, demo_console.logins["enterprise_participant"].email)

    # Found by filter: the engine's platform and its own session id.
    page.goto(f"{demo_console.url}/sessions?platform=unreal")
    expect(page.get_by_text(re.compile(r"^\d+ sessions?$"))).to_be_visible()
    page.get_by_role("searchbox").fill(external)
    expect(page.get_by_text("1 session", exact=True)).to_be_visible()
    expect(page.locator("tbody tr")).to_have_count(1)
    expect(page.locator("tbody tr").get_by_text("completed", exact=True)).to_be_visible()
    assert "search=" in page.url and "platform=unreal" in page.url  # the view is in the address
    screenshot(page, "sessions-02-filtered")

    page.locator("tbody tr").first.get_by_role("link").click()
    page.wait_for_url(re.compile(rf"/sessions/{session_id}$"))
    expect(page.get_by_text("Decision d1 → choice c2")).to_be_visible()
    expect(page.get_by_text(f"“{XSS}”", exact=True).first).to_be_visible()  # the milestone's label, as text
    expect(page.get_by_text(f"Outcome: {XSS}", exact=True).first).to_be_visible()
    expect(page.locator(".font-mono").filter(has_text=XSS).first).to_be_visible()  # the custom payload
    expect(page.get_by_role("img", name=re.compile("^Line chart of "))).not_to_have_count(0)
    assert _fact(page, "External session id") == external and _fact(page, "Platform") == "unreal"
    assert page.locator("img[src='x']").count() == 0  # nothing the engine sent became an element
    screenshot(page, "sessions-03-session")

    # The debrief is written by a background job: it appears on a reload once ready.
    for _ in range(30):
        if page.get_by_role("button", name=re.compile(r"^Show event #")).count():
            break
        page.wait_for_timeout(1000)
        page.reload()
    link = page.get_by_role("button", name=re.compile(r"^Show event #")).first
    expect(link).to_be_visible()
    link.click()
    expect(page.locator(".bg-amber-2")).to_have_count(1)
    page.wait_for_timeout(600)  # the smooth scroll
    # The viewport, as the reader sees it after the jump (a full-page picture would redraw the fixed
    # header in the middle of the page).
    page.screenshot(path=str(ARTIFACTS / "sessions-04-debrief-link.png"))

    page.get_by_role("searchbox").fill("onerror")
    expect(page.get_by_text("3 events", exact=True)).to_be_visible()
    page.get_by_text("Raw events", exact=True).evaluate("e => e.scrollIntoView({block: 'center'})")
    page.screenshot(path=str(ARTIFACTS / "sessions-05-raw-events.png"))
    assert fired == []
