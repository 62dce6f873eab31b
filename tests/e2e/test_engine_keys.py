"""In a real browser, on the demo console: a platform admin makes a test key; an engine plays with it
(one session completed, one left in progress) and sends a batch with a misspelled scoring dimension,
refused, then sent right. The test sessions show with a
"Test" badge on /sessions (test filter), a session's page and /live, not among real sessions; the
refusal is in the key's inbox; the key's test sessions are deleted from the keys page.
Screenshots: artifacts/screenshots/engine-keys-*.png."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta

import httpx
from playwright.sync_api import expect

from tests.e2e.conftest import screenshot
from tests.e2e.test_sessions import _fact, sign_in


def _engine_plays(url: str, key: str, module_id: str, player: str) -> tuple[str, str]:
    """A completed test session and one in progress; then a refused batch. Returns their ids."""
    engine = httpx.Client(base_url=url, headers={"Authorization": f"Bearer {key}"})
    started = datetime.now(UTC) - timedelta(minutes=3)
    ids = []
    for _ in range(2):
        made = engine.post("/api/v1/sessions", json={
            "external_session_id": f"e2e-test-{uuid.uuid4().hex[:10]}", "module_id": module_id,
            "player": {"email": player}, "platform": "web", "started_at": started.isoformat(),
        })  # fmt: skip
        assert made.status_code == 201, made.text
        ids.append(made.json()["id"])
    at = (started + timedelta(seconds=30)).isoformat()
    done = engine.post("/api/v1/events", json={"session_id": ids[0], "events": [
        {"id": str(uuid.uuid4()), "type": "milestone", "timestamp": at, "data": {"milestone_id": "m1"}},
        {"id": str(uuid.uuid4()), "type": "completion", "timestamp": at, "data": {"outcome": "tested"}},
    ]})  # fmt: skip
    assert done.status_code == 200, done.text
    going = engine.post("/api/v1/events", json={"session_id": ids[1], "events": [
        {"id": str(uuid.uuid4()), "type": "milestone", "timestamp": at, "data": {"milestone_id": "m1"}},
    ]})  # fmt: skip
    assert going.status_code == 200, going.text
    # A misspelled scoring dimension: refused, named, nothing of the batch kept; then sent right.
    decision = {"type": "decision", "timestamp": at, "data": {"decision_id": "d1", "choice_id": "c1"}}
    refused = engine.post("/api/v1/events", json={"session_id": ids[1], "events": [
        {"id": str(uuid.uuid4()), **decision, "data": {**decision["data"], "impacts": {"moral_e": 5}}},
    ]})  # fmt: skip
    assert refused.status_code == 422 and refused.json()["error"]["code"] == "unknown_dimension", refused.text
    dimension = refused.json()["error"]["details"]["allowed_dimensions"][0]  # the refusal lists them
    fixed = engine.post("/api/v1/events", json={"session_id": ids[1], "events": [
        {"id": str(uuid.uuid4()), **decision, "data": {**decision["data"], "impacts": {dimension: 5}}},
    ]})  # fmt: skip
    assert fixed.status_code == 200, fixed.text
    return ids[0], ids[1]


def test_test_keys_their_sessions_and_the_inbox(page, demo_console):
    url = demo_console.url
    sign_in(page, demo_console, demo_console.logins["platform_admin"])

    # A module the demo plays, read from a real session's page.
    page.goto(f"{url}/sessions")
    page.locator("tbody tr").first.get_by_role("link").click()
    page.wait_for_url(re.compile(r"/sessions/[0-9a-f-]{36}$"))
    module_id = _fact(page, "Module id")

    page.goto(f"{url}/api-keys")
    page.get_by_role("button", name="New API key").click()
    page.get_by_label("Name *").fill("QA build")
    page.get_by_role("checkbox", name=re.compile("Test key")).click()
    screenshot(page, "engine-keys-01-new-test-key")
    page.get_by_role("button", name="Create key").click()
    key = page.locator(".q-dialog input.font-mono").input_value()
    assert key.startswith("sk_sim_test_")
    page.get_by_role("button", name="I have copied it").click()

    completed, in_progress = _engine_plays(url, key, module_id, demo_console.logins["enterprise_participant"].email)

    page.goto(f"{url}/api-keys?search=QA+build")
    row = page.locator("tbody tr").filter(has_text="QA build")
    expect(row.get_by_text("Test", exact=True)).to_be_visible()
    expect(row.get_by_text(re.compile("^422 "))).to_be_visible()  # its last error
    screenshot(page, "engine-keys-02-keys-list")
    row.get_by_role("link").first.click()  # the last error's link: the inbox
    page.wait_for_url(re.compile(r"/api-keys/[0-9a-f-]{36}/rejections"))
    expect(page.get_by_text("1 refused request", exact=True)).to_be_visible()
    expect(page.locator("tbody").get_by_text("unknown_dimension", exact=False).first).to_be_visible()
    expect(page.locator("tbody").get_by_text("moral_e", exact=False).first).to_be_visible()
    screenshot(page, "engine-keys-03-inbox")

    page.goto(f"{url}/sessions?search={in_progress}")
    expect(page.get_by_text("0 sessions", exact=True)).to_be_visible()  # real sessions only, by default
    page.goto(f"{url}/sessions?kind=test")
    expect(page.get_by_text("2 sessions", exact=True)).to_be_visible()
    expect(page.locator("tbody tr").get_by_text("Test", exact=True)).to_have_count(2)
    screenshot(page, "engine-keys-04-test-sessions")

    page.goto(f"{url}/sessions/{completed}")
    expect(page.get_by_text("Test", exact=True).first).to_be_visible()
    expect(page.get_by_role("button", name="Delete test session")).to_be_visible()
    screenshot(page, "engine-keys-05-test-session")

    page.goto(f"{url}/live")
    expect(page.locator("tr").filter(has_text="Test").first).to_be_visible()
    screenshot(page, "engine-keys-06-live")

    page.goto(f"{url}/api-keys?search=QA+build")
    page.locator("tbody tr").filter(has_text="QA build").get_by_role("button", name="Delete tests QA build").click()
    expect(page.get_by_text(re.compile(r"Delete the 2 test sessions"))).to_be_visible()
    screenshot(page, "engine-keys-07-delete-test-sessions")
    page.get_by_role("button", name="Delete", exact=True).click()
    expect(page.get_by_text("Deleted 2 test sessions.")).to_be_visible()
    page.goto(f"{url}/sessions?kind=test")
    expect(page.get_by_text("0 sessions", exact=True)).to_be_visible()


def test_a_studio_creator_makes_a_test_key_for_their_own_simulation(page, demo_console):
    sign_in(page, demo_console, demo_console.logins["studio_creator"])
    page.goto(f"{demo_console.url}/api-keys")
    expect(page.get_by_role("heading", name="API keys")).to_be_visible()
    page.get_by_role("button", name="New API key").click()
    page.get_by_label("Name *").fill("My staged build")
    test_box = page.get_by_role("checkbox", name=re.compile("Test key"))
    expect(test_box).to_be_checked()  # a creator's keys are test keys
    expect(page.get_by_label("Organization")).to_be_hidden()  # no organization binding for creators
    # With several simulations of theirs, none is chosen for them (nor "any"): they pick the staged one.
    page.get_by_role("combobox", name="Simulation").click()
    page.get_by_role("option", name=re.compile(r"\(staged\)$")).first.click()
    screenshot(page, "engine-keys-08-creator-new-key")
    page.get_by_role("button", name="Create key").click()
    key = page.locator(".q-dialog input.font-mono").input_value()
    assert key.startswith("sk_sim_test_")
    page.get_by_role("button", name="I have copied it").click()
    row = page.locator("tbody tr").filter(has_text="My staged build")
    expect(row.get_by_text("Test", exact=True)).to_be_visible()
    expect(row.get_by_text(re.compile("^Simulation: "))).to_be_visible()
    screenshot(page, "engine-keys-09-creator-keys")
