"""In a real browser, on the demo console: the platform admin's Users list, filtered by role and by
organization (the searching picker), and the Change role dialog with a rule's refusal shown in it."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.e2e.conftest import screenshot


def test_users_list_filters_and_the_role_dialog(browser, demo_console):
    admin = demo_console.logins["platform_admin"]
    context = browser.new_context(viewport={"width": 1500, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.goto(f"{demo_console.url}/login")
    page.get_by_label("Email").fill(admin.email)
    page.get_by_label("Password").fill(admin.password)
    page.get_by_label("Password").press("Enter")
    page.wait_for_url(re.compile(r"^(?!.*/login)"))

    page.goto(f"{demo_console.url}/users")
    page.get_by_text(re.compile(r"^\d+ people$")).wait_for()
    screenshot(page, "users-01-list")

    # Organization: type to find it; the URL keeps the view.
    page.get_by_label("Organization").click()
    expect(page.get_by_role("option", name="Acme Corporation", exact=True)).to_be_visible()  # not "Any" alone
    screenshot(page, "users-01b-organization-filter-open")
    page.get_by_label("Organization").fill("Initech")
    # Opened, the picker offers the first organizations; typed, the ones that match: click once the
    # answer for what was typed is in (a click as a list is redrawn under the pointer may miss).
    expect(page.get_by_role("option")).to_have_text(["Any", "Initech Pilot"])
    page.get_by_role("option", name="Initech Pilot", exact=True).click()
    page.wait_for_url(re.compile(r"organization=[0-9a-f-]{36}"))
    page.get_by_label("Role", exact=True).click()
    page.get_by_role("option", name="Enterprise participant", exact=True).click()
    page.wait_for_url(re.compile(r"role=enterprise_participant"))
    page.get_by_text(re.compile(r"^\d+ (people|person)$")).wait_for()
    rows = page.locator("tbody tr")
    assert rows.count() >= 1
    assert all("Initech Pilot" in rows.nth(i).inner_text() for i in range(rows.count()))
    screenshot(page, "users-02-filtered")

    # A member cannot become a studio creator while in their organization: the dialog says why.
    rows.first.get_by_role("button", name=re.compile("^Change role")).click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Role").click()
    page.get_by_role("option", name="Studio creator", exact=True).click()
    dialog.get_by_role("button", name="Save role").click()
    dialog.get_by_text(re.compile("is a member of an organization. Remove them from it")).wait_for()
    screenshot(page, "users-03-role-refused")
    dialog.get_by_role("button", name="Cancel").click()

    # Individuals: the "no organization" choice.
    page.goto(f"{demo_console.url}/users?organization=none&role=individual")
    page.get_by_text(re.compile(r"^\d+ (people|person)$")).wait_for()
    assert page.get_by_label("Organization").input_value() == "No organization"
    assert page.locator("tbody tr").count() >= 1
    screenshot(page, "users-04-individuals")
    context.close()
