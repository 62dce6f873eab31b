"""In a real browser: a platform admin creates an organization with 3 seats and opens its page
(screenshots of the list, the page and its tabs in artifacts/screenshots/)."""

from __future__ import annotations

import re

from tests.e2e.conftest import screenshot
from tests.e2e.test_lists_and_access import sign_in


def test_a_platform_admin_creates_an_organization_and_opens_its_page(page, console_server):
    sign_in(page, console_server, console_server.admin)
    page.goto(f"{console_server.url}/organizations")
    page.get_by_text(re.compile(r"^\d+ organizations?$")).wait_for()
    page.get_by_role("button", name="New organization").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Name *").fill("Initech Labs")
    dialog.get_by_label("Seat limit (empty = no limit)").fill("3")
    dialog.get_by_text("Empty: made from the name (initech-labs)").wait_for()
    screenshot(page, "organizations-new-dialog")
    dialog.get_by_role("button", name="Create organization").click()
    page.wait_for_url(re.compile(r"/organizations/initech-labs$"))
    page.get_by_role("heading", level=1, name="Initech Labs").wait_for()
    page.get_by_text("0 / 3", exact=True).wait_for()
    screenshot(page, "organization-page")

    page.get_by_role("tab", name="Seat use").click()
    page.wait_for_url(re.compile(r"\?tab=seats$"))
    page.get_by_text("The numbers").click()
    page.get_by_role("cell", name="0", exact=True).first.wait_for()
    screenshot(page, "organization-seat-use")

    page.get_by_role("tab", name="Single sign-on").click()
    page.get_by_text("No client secret is stored yet.").wait_for()
    screenshot(page, "organization-sso")

    page.goto(f"{console_server.url}/organizations")
    page.get_by_role("link", name="Initech Labs").wait_for()
    screenshot(page, "organizations-list")
    page.get_by_role("link", name="Initech Labs").click()
    page.wait_for_url(re.compile(r"/organizations/initech-labs$"))
