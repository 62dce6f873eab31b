"""In a real browser, the issue's story: a platform admin creates an organization with 3 seats and its
enterprise admin; that admin (who takes no seat) imports a CSV of 4 people and is told a seat is
missing, fixes the file, imports 3, moves two to a department, and is refused the invitation of a
fourth for want of a seat."""

from __future__ import annotations

import re
import secrets

from playwright.sync_api import expect

from tests.e2e.conftest import Account, screenshot
from tests.e2e.test_lists_and_access import sign_in


def _platform_admin_sets_up(browser, console, admin: Account) -> Account:
    """A platform admin creates Harbor Logistics with 3 seats, then its enterprise admin (Users, New user
    with an initial password); returns the new admin's login."""
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15_000)
    sign_in(page, console, admin)
    page.goto(f"{console.url}/organizations")
    page.get_by_role("button", name="New organization").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Name *").fill("Harbor Logistics")
    dialog.get_by_label("Seat limit (empty = no limit)").fill("3")
    dialog.get_by_role("button", name="Create organization").click()
    page.wait_for_url(re.compile(r"/organizations/harbor-logistics$"))
    expect(page.get_by_text("0 / 3", exact=True)).to_be_visible()

    account = Account("hana@harbor.example", secrets.token_urlsafe(12), "Hana Harbor")
    page.goto(f"{console.url}/users")
    page.get_by_role("button", name=re.compile("^New user")).click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Name *").fill(account.name)
    dialog.get_by_label("Email *").fill(account.email)
    dialog.get_by_label("Role *").click()
    page.get_by_role("option", name="Enterprise admin", exact=True).click()
    dialog.get_by_label("Organization *").click()
    dialog.get_by_label("Organization *").fill("Harbor")
    page.get_by_role("option", name="Harbor Logistics", exact=True).click()
    dialog.get_by_label("Initial password (optional)").fill(account.password)
    screenshot(page, "people-00-new-enterprise-admin")
    dialog.get_by_role("button", name="Create user").click()
    expect(page.get_by_text("Created Hana Harbor (hana@harbor.example).")).to_be_visible()
    context.close()
    return account


def _csv(tmp_path, name: str, people: list[tuple[str, str]]) -> str:
    path = tmp_path / name
    path.write_text("email,name,role,department\n" + "".join(f"{e},{n},participant,\n" for e, n in people))
    return str(path)


PEOPLE = [
    ("ivy@harbor.example", "Ivy Imports"),
    ("jon@harbor.example", "Jon Jetty"),
    ("kai@harbor.example", "Kai Keel"),
    ("lea@harbor.example", "Lea Ledger"),
]


def test_admin_imports_moves_and_runs_out_of_seats(browser, page, console_server, tmp_path):
    org_admin = _platform_admin_sets_up(browser, console_server, console_server.admin)
    sign_in(page, console_server, org_admin)
    page.goto(f"{console_server.url}/people")
    expect(page.get_by_text("1 member", exact=True)).to_be_visible()
    expect(page.get_by_text("0 / 3 used")).to_be_visible()  # the admin takes no seat
    screenshot(page, "people-01-members")

    page.goto(f"{console_server.url}/people/import")
    expect(page.get_by_role("button", name="Download the template")).to_be_visible()
    screenshot(page, "people-02-import")
    page.locator("input[type=file]").set_input_files(_csv(tmp_path, "four.csv", PEOPLE))
    expect(page.get_by_text("1 seat missing", exact=False)).to_be_visible()
    expect(page.get_by_text("Seats needed: 4 · 3 left")).to_be_visible()
    expect(page.get_by_role("button", name=re.compile("Confirm import"))).to_be_disabled()
    screenshot(page, "people-03-dry-run-seats-missing")

    page.locator("input[type=file]").set_input_files(_csv(tmp_path, "three.csv", PEOPLE[:3]))
    expect(page.get_by_text("will be added: 3")).to_be_visible()
    confirm = page.get_by_role("button", name="Confirm import of 3 members")
    expect(confirm).to_be_enabled()
    screenshot(page, "people-04-dry-run-ok")
    confirm.click()
    expect(page.get_by_text("Added 3 members.")).to_be_visible()
    screenshot(page, "people-05-imported")

    page.goto(f"{console_server.url}/people")
    expect(page.get_by_text("4 members", exact=True)).to_be_visible()
    expect(page.get_by_text("3 / 3 used")).to_be_visible()
    page.get_by_label("Select Ivy Imports").click()
    page.get_by_label("Select Jon Jetty").click()
    page.get_by_role("button", name="Move to department").click()
    department = page.get_by_role("dialog").get_by_label("Department")
    department.fill("Dispatch")
    department.press("Enter")
    page.get_by_role("button", name="Move", exact=True).click()
    expect(page.get_by_text("Moved 2 members to Dispatch.")).to_be_visible()
    expect(page.locator("td").filter(has_text=re.compile(r"^\s*Dispatch\s*$"))).to_have_count(2)
    screenshot(page, "people-06-moved")

    page.get_by_role("button", name="Invite", exact=True).click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Email *").fill("lea@harbor.example")
    dialog.get_by_label("Name *").fill("Lea Ledger")
    dialog.get_by_role("button", name="Send invitation").click()
    expect(page.get_by_text("No seat left: 1 missing")).to_be_visible()
    screenshot(page, "people-07-invite-refused")
    dialog.get_by_role("button", name="Cancel").click()

    page.goto(f"{console_server.url}/people/departments")
    expect(page.locator("td").filter(has_text=re.compile(r"^\s*Dispatch\s*$"))).to_be_visible()
    screenshot(page, "people-08-departments")

    page.goto(f"{console_server.url}/invite/not-a-real-token")
    expect(page.get_by_text("This invitation link is not valid")).to_be_visible()
    screenshot(page, "people-09-invite-bad-link")
