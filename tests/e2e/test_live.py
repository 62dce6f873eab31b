"""/live in Chromium against the real `serve --demo`: events posted through the engine API appear on
an open board within a second, without a reload; an enterprise admin's board never shows another
organization's session; a board whose viewer signed out in another tab stops updating; a stuck
session is abandoned with a reason. Screenshots: artifacts/screenshots/live-*.png."""

from __future__ import annotations

import re
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx
import psycopg
import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import read_demo_logins, screenshot, serving

SEEN_WITHIN_SECONDS = 1.0
# The row of a session once it shows a given event (our own ids; set by pages/live.py).
ROW_WITH_EVENT = "([sid, eid]) => !!document.querySelector(`tr[data-session='${sid}'][data-last-event='${eid}']`)"


class Engine:
    """What a game engine does: the engine API with the demo's key."""

    def __init__(self, url: str, key: str, module_id: str) -> None:
        self.api = httpx.Client(base_url=f"{url}/api/v1", headers={"Authorization": f"Bearer {key}"}, timeout=10)
        self.module_id = module_id

    def start(self, email: str) -> str:
        body = {"external_session_id": f"e2e-live-{uuid.uuid4().hex}", "module_id": self.module_id,
                "player": {"email": email}, "platform": "web"}  # fmt: skip
        answer = self.api.post("/sessions", json=body)
        assert answer.status_code == 201, answer.text
        return answer.json()["id"]

    def post(self, session_id: str, kind: str = "milestone", data: dict | None = None) -> tuple[str, float]:
        """Post one event; its id and the moment its 2xx came back (time.monotonic())."""
        event_id = str(uuid.uuid4())
        at = (datetime.now(UTC) - timedelta(seconds=1)).isoformat()
        if data is None:
            data = {"milestone_id": "m-e2e", "label": "Reached the harbor"}
        event = {"id": event_id, "type": kind, "timestamp": at, "data": data}
        answer = self.api.post("/events", json={"session_id": session_id, "events": [event]})
        acknowledged = time.monotonic()
        assert answer.status_code == 200, answer.text
        return event_id, acknowledged


@dataclass
class LiveConsole:
    url: str
    logins: dict  # role → Account
    engine: Engine
    acme_player: str  # the demo's Acme participant
    globex_player: str  # made here: a participant of another organization


@pytest.fixture(scope="module")
def live_console():
    """`serve --demo` of its own (these tests start, complete and abandon sessions), its engine key, and a
    Globex participant made with the CLI against its database."""
    with serving("--demo") as served:
        written = (served.root / "demo-logins.txt").read_text()
        key = re.search(r"Engine API key \(game:write, game:read\): (\S+)", written).group(1)
        globex = f"live-{uuid.uuid4().hex[:6]}@globex.example"
        subprocess.run(
            [sys.executable, "-m", "console.cli", "create-user", "--email", globex, "--name", "Gil Globex",
             "--role", "enterprise_participant", "--org", "globex", "--password", uuid.uuid4().hex],
            env=served.env, check=True, capture_output=True,
        )  # fmt: skip
        logins = read_demo_logins(served.root / "demo-logins.txt")
        # A module an engine may play (published, of a published simulation), from the demo's database.
        with psycopg.connect(f"postgresql://postgres@/simvado?host={served.root / 'pg'}") as db:
            (module_id,) = db.execute(
                "SELECT m.id FROM modules m JOIN simulations s ON s.id = m.simulation_id "
                "WHERE m.status = 'published' AND s.status = 'published' ORDER BY s.title, m.sort_order LIMIT 1"
            ).fetchone()
        engine = Engine(served.url, key, str(module_id))
        yield LiveConsole(served.url, logins, engine, logins["enterprise_participant"].email, globex)


def login(page, url: str, account) -> None:  # noqa: ANN001
    page.goto(f"{url}/login")
    page.get_by_label("Email", exact=True).fill(account.email)
    page.get_by_label("Password", exact=True).fill(account.password)
    page.get_by_label("Password", exact=True).press("Enter")
    page.wait_for_url(re.compile(r"^(?!.*/login)"))


def open_board(browser, console: LiveConsole, role: str, path: str = "/live"):  # noqa: ANN001, ANN201
    context = browser.new_context(viewport={"width": 1500, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15_000)
    login(page, console.url, console.logins[role])
    page.goto(f"{console.url}{path}")
    page.get_by_role("heading", name="Live sessions").wait_for()
    return context, page


def wait_seen(page, session_id: str, event_id: str, acknowledged: float) -> float:  # noqa: ANN001
    """Seconds from the API's 2xx to the event's row on the page."""
    page.wait_for_function(ROW_WITH_EVENT, arg=[session_id, event_id], polling="raf", timeout=10_000)
    return time.monotonic() - acknowledged


def test_events_appear_on_the_board_within_a_second_without_reload(browser, live_console):  # noqa: ANN001
    engine = live_console.engine
    context, page = open_board(browser, live_console, "platform_admin")
    navigations = []
    page.on("framenavigated", lambda frame: navigations.append(frame.url))

    sid = engine.start(live_console.acme_player)
    page.wait_for_selector(f"tr[data-session='{sid}']", timeout=5000)  # a new session: added on top
    delays = []
    for kind, data in (
        ("milestone", None),
        (
            "decision",
            {"decision_id": "d1", "choice_id": "c2", "label": "<img src=x onerror=alert(1)>", "impacts": {}},
        ),  # fmt: skip
        ("custom", {"note": "<b>not markup</b>"}),
    ):
        event_id, acknowledged = engine.post(sid, kind, data)
        delays.append(wait_seen(page, sid, event_id, acknowledged))
    assert navigations == [], "the page reloaded"
    assert max(delays) < SEEN_WITHIN_SECONDS, delays
    row = page.locator(f"tr[data-session='{sid}']")
    assert "custom data (1 field)" in row.inner_text()
    page.wait_for_timeout(300)
    screenshot(page, "live-board")

    # The engine's text was shown as text: the tag is on screen, and no element was made of it.
    event_id, acknowledged = engine.post(sid, "decision", data={"decision_id": "d2", "choice_id": "c1",
                                                                "label": "<img src=x onerror=alert(1)>"})  # fmt: skip
    wait_seen(page, sid, event_id, acknowledged)
    assert "<img src=x onerror=alert(1)>" in row.inner_text()
    assert row.locator("img").count() == 0

    engine.post(sid, "completion", data={"outcome": "deal closed"})
    page.wait_for_selector(f"tr[data-session='{sid}']", state="detached", timeout=5000)  # completed: gone
    context.close()


def test_an_enterprise_admins_board_never_shows_another_organization(browser, live_console):  # noqa: ANN001
    engine = live_console.engine
    context, page = open_board(browser, live_console, "enterprise_admin")  # Acme's admin

    theirs = engine.start(live_console.globex_player)
    engine.post(theirs)
    ours = engine.start(live_console.acme_player)
    event_id, acknowledged = engine.post(ours)
    assert wait_seen(page, ours, event_id, acknowledged) < SEEN_WITHIN_SECONDS
    page.wait_for_timeout(500)
    assert page.locator(f"tr[data-session='{theirs}']").count() == 0
    assert "Gil Globex" not in page.content()
    assert "Globex" not in page.locator("[aria-label='Sessions in progress']").inner_text()
    screenshot(page, "live-enterprise-admin")
    engine.post(ours, "completion", data={})
    engine.post(theirs, "completion", data={})
    context.close()


def test_a_board_whose_viewer_signed_out_in_another_tab_stops_updating(browser, live_console):  # noqa: ANN001
    engine = live_console.engine
    sid = engine.start(live_console.acme_player)
    context, board = open_board(browser, live_console, "platform_admin")
    board.wait_for_selector(f"tr[data-session='{sid}']")

    other_tab = context.new_page()
    other_tab.goto(f"{live_console.url}/")
    other_tab.get_by_role("button", name="Log out").click()
    other_tab.wait_for_url("**/login?signed_out=1")

    event_id, _ = engine.post(sid)
    board.wait_for_url("**/login**", timeout=5000)  # the next update found the login gone: off to sign in
    assert event_id not in board.content()
    screenshot(board, "live-signed-out")
    engine.post(sid, "completion", data={})
    context.close()


def test_a_stuck_session_is_flagged_and_abandoned_with_a_reason(browser, live_console):  # noqa: ANN001
    engine = live_console.engine
    # Started an hour ago by the engine's clock and silent since: stuck from the start (not yet old
    # enough for the abandon sweep).
    body = {"external_session_id": f"e2e-stuck-{uuid.uuid4().hex}", "module_id": engine.module_id,
            "player": {"email": live_console.acme_player},
            "started_at": (datetime.now(UTC) - timedelta(hours=1)).isoformat()}  # fmt: skip
    stuck = engine.api.post("/sessions", json=body).json()["id"]
    context, page = open_board(browser, live_console, "enterprise_admin", "/live?stuck_only=1")
    row = page.locator(f"tr[data-session='{stuck}']")
    row.wait_for()
    assert "Stuck" in row.inner_text()
    row.get_by_role("button", name="Abandon").click()
    dialog = page.get_by_role("dialog")
    expect(dialog.get_by_label("Reason")).to_be_focused()  # the dialog opens on its one field: type at once
    page.keyboard.type("Left open overnight; the player confirmed they are done.")
    screenshot(page, "live-abandon-dialog")
    dialog.get_by_role("button", name="Mark abandoned").click()
    row.wait_for(state="detached")
    assert engine.api.get(f"/sessions/{stuck}").json()["status"] == "abandoned"
    context.close()


@pytest.mark.parametrize("role", ["platform_admin", "enterprise_admin", "studio_creator"])
def test_the_board_is_accessible(browser, live_console, role):  # noqa: ANN001
    """axe-core on /live as each role that opens it: no critical or serious violation (the whole-console
    sweep, tests/e2e/test_accessibility.py, opens it too, being in the page registry)."""
    from axe_playwright_python.sync_playwright import Axe

    engine = live_console.engine
    sid = engine.start(live_console.acme_player)
    engine.post(sid, "decision", data={"decision_id": "d1", "choice_id": "c1", "impacts": {}})
    context, page = open_board(browser, live_console, role)
    page.wait_for_function("() => !document.querySelector('[class*=\"q-transition--\"]')", timeout=5000)
    violations = Axe().run(page).response["violations"]
    serious = [f"{v['id']} [{v['impact']}] {v['help']}: {[n['target'] for n in v['nodes'][:3]]}" for v in violations
               if v["impact"] in ("critical", "serious")]  # fmt: skip
    assert not serious, "\n".join(serious)
    if role == "studio_creator":
        screenshot(page, "live-studio-creator")
    engine.post(sid, "completion", data={})
    context.close()


def test_an_open_session_page_follows_its_session_to_the_debrief(browser, live_console):  # noqa: ANN001
    """The session page of a session in progress, left open: each event joins its timeline and moves its
    chart without a reload; the completion brings the final scores, then the debrief. No script error on
    the way (redrawing the charts once threw in ECharts)."""
    engine = live_console.engine
    dims = [d["key"] for d in engine.api.get(f"/modules/{engine.module_id}").json()["scoring"]["dimensions"]]
    sid = engine.start(live_console.acme_player)
    context = browser.new_context(viewport={"width": 1500, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(15_000)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda message: message.type == "error" and errors.append(message.text))
    navigations = []
    login(page, live_console.url, live_console.logins["platform_admin"])
    page.goto(f"{live_console.url}/sessions/{sid}")
    page.get_by_text("No events yet.").wait_for()
    page.on("framenavigated", lambda frame: navigations.append(frame.url))
    first_chart = page.get_by_role("img", name=re.compile("^Line chart of ")).first
    assert first_chart.get_attribute("aria-label").endswith("1 point, ending at 50.")  # mid-range to start

    for n in (1, 2, 3):
        engine.post(sid, "decision", data={"decision_id": f"d{n}", "choice_id": "c1", "label": f"Choice {n}",
                                           "impacts": {dims[0]: 5 * n}})  # fmt: skip
        page.get_by_text(f"Decision d{n} → choice c1").wait_for(timeout=5000)
    # The first dimension's chart has a point per decision beside its starting point.
    page.wait_for_function(
        "() => [...document.querySelectorAll('[role=img]')].some(e => / 4 points, ending at 80\\.$/.test(e.ariaLabel))",
        timeout=5000,
    )
    assert page.get_by_text("Scores are final when the session completes.").is_visible()
    screenshot(page, "live-session-page-in-progress")

    engine.post(sid, "completion", data={"outcome": "deal closed"})
    page.get_by_text("Scores are final when the session completes.").wait_for(state="detached", timeout=5000)
    page.get_by_role("button", name=re.compile(r"^Show event #")).first.wait_for(timeout=30_000)  # the debrief
    assert navigations == [], "the page reloaded"
    assert errors == [], errors
    screenshot(page, "live-session-page-completed")
    context.close()
