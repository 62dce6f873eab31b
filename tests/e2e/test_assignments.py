"""In a real browser, on the demo console: an enterprise admin assigns a published simulation to a
department with a due date (checked first, then done), finds the new assignments by filter, and
extends one; screenshots of the list, the dialog's check and the result."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, date, datetime, timedelta

from playwright.sync_api import expect

from tests.e2e.conftest import screenshot
from tests.e2e.test_lists_and_access import sign_in


def pick_simulation(page, dialog) -> str:
    """Choose the first simulation offered in the assign dialog, and see it chosen. The menu is seen
    open before the pick and closed after: the simulations arrive once the dialog is open, and a pick
    made in a menu that is being replaced is lost."""
    dialog.get_by_label("Simulation *").click()
    option = page.get_by_role("listbox").get_by_role("option").first
    name = option.inner_text().strip().splitlines()[0]
    option.click()
    expect(page.get_by_role("listbox")).to_have_count(0)
    expect(dialog.get_by_label("Simulation *")).to_have_value(name)
    return name


def test_admin_assigns_a_department_with_a_due_date(page, demo_console):
    sign_in(page, demo_console, demo_console.logins["enterprise_admin"])
    page.goto(f"{demo_console.url}/assignments")
    count = page.get_by_text(re.compile(r"^\d+ assignments?$"))
    expect(count).to_be_visible()
    before = int(count.inner_text().split()[0])
    screenshot(page, "assignments-01-list")

    page.get_by_role("button", name=re.compile("^Assign a simulation")).click()
    dialog = page.get_by_role("dialog")
    pick_simulation(page, dialog)
    dialog.get_by_role("radio", name="Departments").click()
    dialog.get_by_label("Which departments").click()
    page.get_by_role("listbox").get_by_role("option").first.click()
    # Closed by a click inside the dialog, not Escape: with no menu open, Escape closes the dialog.
    dialog.get_by_role("heading").first.click()
    expect(page.get_by_role("listbox")).to_have_count(0)
    due = (date.today() + timedelta(days=21)).isoformat()
    dialog.get_by_label("Due date (optional)").fill(due)
    dialog.get_by_role("button", name="Check").click()
    expect(dialog.get_by_text(re.compile(r"^Will assign .+ to \d+ (person|people), due "))).to_be_visible()
    screenshot(page, "assignments-02-check")
    assign = dialog.get_by_role("button", name=re.compile(r"^Assign \d+ (person|people)$"))
    made = int(re.search(r"\d+", assign.inner_text()).group())
    assign.click()
    expect(page.get_by_text(re.compile(r"^Assigned .+ to \d+ (person|people)\."))).to_be_visible()
    expect(page.get_by_text(f"{before + made} assignments", exact=True)).to_be_visible()
    screenshot(page, "assignments-03-assigned")

    # The new ones, by their due window and status; then one of them gets a week more.
    page.goto(f"{demo_console.url}/assignments?due=month&status=assigned&sort=assigned_at&desc=1")
    rows = page.locator("tbody tr")
    expect(rows.first.get_by_text(due)).to_be_visible()
    rows.first.get_by_role("button", name=re.compile("^Due date")).click()
    later = (date.today() + timedelta(days=28)).isoformat()
    page.get_by_role("dialog").get_by_label("New due date").fill(later)
    page.get_by_role("dialog").get_by_role("button", name="Save").click()
    expect(page.get_by_text("1 assignment now due")).to_be_visible()
    expect(page.locator("tbody").get_by_text(later)).to_be_visible()
    screenshot(page, "assignments-04-extended")


def test_assign_from_a_selection_on_people(page, demo_console):
    sign_in(page, demo_console, demo_console.logins["enterprise_admin"])
    page.goto(f"{demo_console.url}/people?role=participant")
    expect(page.get_by_text(re.compile(r"^\d+ members$"))).to_be_visible()
    rows = page.locator("tbody tr")
    emails = [rows.nth(i).locator("td").nth(2).inner_text().strip() for i in range(2)]
    for i in range(2):
        rows.nth(i).get_by_role("checkbox").click()
    page.get_by_role("button", name="Assign a simulation").click()
    dialog = page.get_by_role("dialog")
    for email in emails:  # the selection comes in chosen
        expect(dialog.locator(".q-chip").filter(has_text=email)).to_be_visible()
    pick_simulation(page, dialog)
    dialog.get_by_role("button", name="Check").click()
    expect(dialog.get_by_text(re.compile(r"^Will assign .+ to \d (person|people)"))).to_be_visible()
    expect(
        dialog.get_by_text(re.compile(r"(Will assign .+ to 2 people|already hold an open assignment)"))
    ).to_have_count(1)
    screenshot(page, "assignments-08-from-people")


def test_progress_matrix_and_a_persons_page(page, demo_console):
    sign_in(page, demo_console, demo_console.logins["enterprise_admin"])
    page.goto(f"{demo_console.url}/assignments/progress")
    expect(page.get_by_text(re.compile(r"^\d+ (person|people) with assignments matching"))).to_be_visible()
    expect(page.locator("tbody tr").first).to_be_visible()
    screenshot(page, "assignments-05-progress")

    page.get_by_label("Status", exact=True).click()
    page.get_by_role("option", name="Completed", exact=True).click()
    page.wait_for_url(re.compile(r"status=completed"))
    expect(page.locator("tbody .q-badge").first).to_have_text("completed")
    screenshot(page, "assignments-06-progress-completed")

    page.locator("tbody tr").first.get_by_role("link").click()
    page.wait_for_url(re.compile(r"/assignments/person/[0-9a-f-]{36}"))
    expect(page.get_by_role("heading", name="Assignments")).to_be_visible()
    page.locator(".q-expansion-item").first.click()
    expect(page.get_by_text(re.compile(r"^Completed \d{4}-\d\d-\d\d")).first).to_be_visible()
    expect(page.locator("[aria-label^='Total:']").first).to_be_visible()
    page.wait_for_timeout(400)  # the expansion's slide
    screenshot(page, "assignments-07-person")


def test_the_whole_story_assign_launch_play_follow_report_export(browser, demo_console, tmp_path):
    """The issue's story: an admin assigns a simulation to a department with a due date; the
    participant launches it (the launch URL carries a token); an engine starts sessions with that token
    and completes them; the admin sees the assignment completed with its score and debrief, filters the
    report and downloads an Excel file whose rows match the table."""
    import httpx
    from openpyxl import load_workbook

    participant = demo_console.logins["enterprise_participant"]
    admin_context = browser.new_context(viewport={"width": 1400, "height": 900})
    admin = admin_context.new_page()
    admin.set_default_timeout(15_000)
    sign_in(admin, demo_console, demo_console.logins["enterprise_admin"])

    # The participant alone in a new department, and nothing of theirs left open.
    admin.goto(f"{demo_console.url}/people?search={participant.email}")
    expect(admin.get_by_text("1 member", exact=True)).to_be_visible()
    admin.locator("tbody tr").first.get_by_role("checkbox").click()
    admin.get_by_role("button", name="Move to department").click()
    department = admin.get_by_role("dialog").get_by_label("Department")
    department.fill("Launch Team")
    department.press("Enter")
    admin.get_by_role("button", name="Move", exact=True).click()
    expect(admin.get_by_text("Moved 1 member to Launch Team.")).to_be_visible()
    admin.goto(f"{demo_console.url}/assignments?search={participant.email}&department=Launch+Team")
    count = admin.get_by_text(re.compile(r"^\d+ assignments?$"))
    expect(count).to_be_visible()
    if admin.locator("tbody").get_by_role("button", name=re.compile("^Unassign")).count():
        admin.get_by_role("checkbox", name="Select every row on this page").click()
        admin.get_by_role("button", name="Unassign", exact=True).click()
        admin.get_by_role("dialog").get_by_role("button", name="Unassign").click()
        expect(admin.get_by_text(re.compile(r"^Unassigned \d+ assignments?\."))).to_be_visible()

    # Assign: a published simulation, the department, a due date; checked, then done.
    admin.get_by_role("button", name=re.compile("^Assign a simulation")).click()
    dialog = admin.get_by_role("dialog")
    simulation = pick_simulation(admin, dialog)
    dialog.get_by_role("radio", name="Departments").click()
    dialog.get_by_label("Which departments").click()
    admin.get_by_role("listbox").get_by_role("option", name="Launch Team", exact=True).click()
    dialog.get_by_role("heading").first.click()  # closes the menu (Escape would close the dialog)
    expect(admin.get_by_role("listbox")).to_have_count(0)
    due = (date.today() + timedelta(days=14)).isoformat()
    dialog.get_by_label("Due date (optional)").fill(due)
    dialog.get_by_role("button", name="Check").click()
    expect(dialog.get_by_text(f"Will assign {simulation} to 1 person, due {due}.")).to_be_visible()
    dialog.get_by_role("button", name="Assign 1 person").click()
    expect(admin.get_by_text(f"Assigned {simulation} to 1 person.")).to_be_visible()
    screenshot(admin, "story-01-assigned")

    # The participant launches each module; the game (here a stand-in page) gets the token.
    player_context = browser.new_context(viewport={"width": 1400, "height": 900})
    player_context.route("https://play.simvado.example/**", lambda route: route.fulfill(body="<p>game</p>"))
    player = player_context.new_page()
    player.set_default_timeout(15_000)
    sign_in(player, demo_console, participant)
    player.goto(f"{demo_console.url}/my")
    row = player.locator("tbody tr").filter(has_text=simulation).filter(has_text=due)
    expect(row).to_have_count(1)  # earlier play of it may already count: assigned or in progress
    screenshot(player, "story-02-participant")
    launches = row.get_by_role("button", name=re.compile("^Launch "))
    tokens = []
    for i in range(launches.count()):
        with player_context.expect_page() as opened:
            launches.nth(i).click()
        url = opened.value.url
        assert "simvado_launch=" in url, url
        tokens.append(re.search(r"simvado_launch=([^&#]+)", url).group(1))
        opened.value.close()

    # The engine plays each with its token as the player, and completes it.
    engine = httpx.Client(base_url=demo_console.url, headers={"Authorization": f"Bearer {demo_console.api_key}"})
    started = datetime.now(UTC) - timedelta(minutes=20)
    for n, token in enumerate(tokens):
        claims = engine.post(
            "/api/v1/sessions",
            json={
                "external_session_id": f"e2e-story-{n}-{token[-12:]}",
                "module_id": _module_of(engine, token),
                "player": {"launch_token": token},
                "platform": "web",
                "started_at": started.isoformat(),
            },
        )
        assert claims.status_code in (200, 201), claims.text
        session_id = claims.json()["id"]
        posted = engine.post(
            "/api/v1/events",
            json={
                "session_id": session_id,
                "events": [
                    {"id": str(uuid.uuid4()), "type": "completion", "timestamp": (started + timedelta(
                        minutes=10)).isoformat(), "data": {"outcome": "steady"}},
                ],
            },
        )  # fmt: skip
        assert posted.status_code == 200, posted.text

    # The admin sees it completed, with its score, and the debrief on the person's page.
    admin.goto(f"{demo_console.url}/assignments?search={participant.email}&department=Launch+Team")
    done = admin.locator("tbody tr").filter(has_text=simulation)
    expect(done.get_by_text("completed", exact=True)).to_be_visible()
    expect(done.get_by_text(re.compile(r"^\d+\.\d (passed|not passed)$"))).to_be_visible()
    screenshot(admin, "story-03-completed")
    done.get_by_role("link").click()
    admin.wait_for_url(re.compile(r"/assignments/person/"))
    for _ in range(30):  # the debrief is written by a background job
        admin.locator(".q-expansion-item").first.click()
        if admin.get_by_role("heading", name="Debrief").count():
            break
        admin.wait_for_timeout(1000)
        admin.reload()
    expect(admin.get_by_role("heading", name="Debrief").first).to_be_visible()
    admin.wait_for_timeout(500)  # the expansion's slide
    screenshot(admin, "story-04-person-debrief")

    # The report for that department and simulation; its Excel export matches the list.
    admin.goto(f"{demo_console.url}/reports?department=Launch+Team")
    expect(admin.get_by_text("Completed per week", exact=False).first).to_be_visible()
    screenshot(admin, "story-05-report")
    with admin.expect_download() as downloaded:
        admin.get_by_role("button", name="Export progress as Excel").click()
    path = tmp_path / "progress.xlsx"
    downloaded.value.save_as(path)
    sheet = load_workbook(path, read_only=True).active
    rows = list(sheet.iter_rows(values_only=True))
    header, body = rows[0], rows[1:]
    assert len(body) == 1 and participant.email in body[0], (header, body)
    assert simulation in body[0] and "completed" in body[0]
    admin.goto(f"{demo_console.url}/assignments?department=Launch+Team")
    expect(admin.get_by_text("1 assignment", exact=True)).to_be_visible()
    admin_context.close()
    player_context.close()


def _module_of(engine, token: str) -> str:  # noqa: ANN001
    """The module a launch token names (its payload is readable; the engine knows its own module anyway)."""
    import base64
    import json

    payload = token.split(".")[1]
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    return str(uuid.UUID(claims["m"]))
