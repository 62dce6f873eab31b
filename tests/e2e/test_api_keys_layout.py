"""In a real browser, on the demo console: the API keys list and a key's inbox of refused requests stay
readable at 1400 px (no sideways scrolling, no clipped buttons, no row taller than the screen), and a
studio creator's simulation picker offers all of their simulations, and no "any".
Screenshots: artifacts/screenshots/api-keys-layout-*.png."""

from __future__ import annotations

import re
import uuid

import httpx
from playwright.sync_api import expect

from tests.e2e.conftest import screenshot
from tests.e2e.test_sessions import sign_in

# The table's own box against what it holds; and each button of the rows against its cell and the table.
OVERFLOW = """() => {
  const middle = document.querySelector('.q-table__middle');
  const right = middle.getBoundingClientRect().right;
  const clipped = [...document.querySelectorAll('tbody .q-btn')]
    .filter((b) => getComputedStyle(b).visibility !== 'hidden')
    .filter((b) => b.scrollWidth > b.clientWidth + 1 || b.getBoundingClientRect().right > right + 1)
    .map((b) => b.getAttribute('aria-label'));
  return {scroll: middle.scrollWidth, client: middle.clientWidth, clipped};
}"""
ROW_HEIGHTS = "() => [...document.querySelectorAll('tbody tr')].map((r) => r.getBoundingClientRect().height)"


def _fits(page) -> None:  # noqa: ANN001
    found = page.evaluate(OVERFLOW)
    assert found["scroll"] <= found["client"], f"the table scrolls sideways: {found}"
    assert not found["clipped"], f"clipped buttons: {found['clipped']}"


def test_keys_and_inbox_fit_at_1400_px(page, demo_console):
    url = demo_console.url
    engine = httpx.Client(base_url=url, headers={"Authorization": f"Bearer {demo_console.api_key}"})
    long_token = "x" * 3000  # a 1 KiB excerpt of one unbreakable token: the worst case for a narrow column
    refused = [
        engine.post("/api/v1/events", json={"session_id": str(uuid.uuid4()), "events": [{"type": long_token}]}),
        engine.post(
            "/api/v1/events", content=b'{"session_id": "not json', headers={"content-type": "application/json"}
        ),
        engine.get(f"/api/v1/sessions/{uuid.uuid4()}"),
    ]
    assert [r.status_code for r in refused] == [422, 422, 404]

    sign_in(page, demo_console, demo_console.logins["platform_admin"])
    page.goto(f"{url}/api-keys")
    expect(page.locator("tbody tr").first).to_be_visible()
    _fits(page)
    row = page.locator("tbody tr").filter(has_text="Demo engine")
    for action in ("Refusals", "Rotate", "Revoke"):  # icon buttons, named for the key
        expect(row.get_by_role("button", name=f"{action} Demo engine")).to_be_visible()
    screenshot(page, "api-keys-layout-01-keys-1400")

    row.get_by_role("button", name="Refusals Demo engine").click()
    page.wait_for_url(re.compile(r"/api-keys/[0-9a-f-]{36}/rejections"))
    expect(page.get_by_text("3 refused requests")).to_be_visible()
    expect(page.get_by_text(re.compile(r"keeps at most \d+ refusals? a second for one key"))).to_be_visible()
    _fits(page)
    assert max(page.evaluate(ROW_HEIGHTS)) < 300  # was 1,588 px at 1400 px for the 1 KiB token
    # The rest scrolls, within the cell (waited for: a row drawn again as the inbox updates live is laid
    # out anew, and once measured before that it read as not scrolling).
    page.wait_for_function(
        "() => [...document.querySelectorAll('tbody pre')]"
        ".some((e) => e.textContent.includes('xxxxxxxx') && e.scrollHeight > e.clientHeight)"
    )
    excerpt = page.locator("tbody pre").filter(has_text="xxxxxxxx").first
    assert excerpt.get_attribute("tabindex") == "0"  # and a keyboard reaches it
    screenshot(page, "api-keys-layout-02-inbox-1400")

    page.set_viewport_size({"width": 1920, "height": 1080})
    page.goto(f"{url}/api-keys")
    expect(page.locator("tbody tr").first).to_be_visible()
    _fits(page)


def test_a_studio_creators_picker_offers_all_their_simulations(page, demo_console):
    sign_in(page, demo_console, demo_console.logins["studio_creator"])
    page.goto(f"{demo_console.url}/api-keys")
    page.get_by_role("button", name="New API key").click()
    expect(page.get_by_role("checkbox", name=re.compile("game:read"))).to_be_checked()
    page.get_by_role("combobox", name="Simulation").click()
    options = page.get_by_role("option")
    expect(options.first).to_be_visible()
    offered = options.all_inner_texts()
    # The demo's studio creator authors a published, a staged and a draft simulation: all offered at
    # once (they were only after typing), and no "Any simulation" (which the service refuses them).
    assert "Any simulation" not in offered
    assert {"published", "staged", "draft"} <= {re.sub(r".*\((\w+)\)$", r"\1", o) for o in offered}, offered
    screenshot(page, "api-keys-layout-03-studio-picker")
    # Chosen, then opened again: the filled-in label is no search, every choice is still offered.
    options.first.click()
    expect(page.get_by_role("option")).to_have_count(0)
    page.get_by_role("combobox", name="Simulation").click()
    expect(page.get_by_role("option")).to_have_count(len(offered))
