"""In a real browser: log in, create a simulation, find it in the list, log out."""

import re
import uuid

from tests.e2e.conftest import screenshot


def login(page, console, account):
    page.goto(f"{console.url}/simulations")
    page.wait_for_url(re.compile(r"/login\?next="))
    page.get_by_label("Email").fill(account.email)
    page.get_by_label("Password").fill(account.password)
    page.get_by_label("Password").press("Enter")


def test_creator_creates_finds_and_logs_out(console_server, page):
    page.goto(f"{console_server.url}/login")
    page.get_by_text("Sign in").first.wait_for()
    screenshot(page, "01-login")

    # A wrong password is refused with the same message an unknown email gets.
    page.get_by_label("Email").fill(console_server.creator.email)
    page.get_by_label("Password").fill("definitely wrong")
    page.get_by_role("button", name="Sign in").click()
    page.get_by_text("Email or password is incorrect.").wait_for()

    login(page, console_server, console_server.creator)
    page.wait_for_url(f"{console_server.url}/simulations")
    page.get_by_text("No simulations match").wait_for()

    title = f"Negotiation Lab {uuid.uuid4().hex[:6]}"
    page.get_by_role("button", name="New simulation").click()
    page.wait_for_url("**/simulations/new")
    page.get_by_role("button", name="Save").click()
    page.get_by_text("a title is required").wait_for()  # inline, under the field
    page.get_by_label("Title *").fill(title)
    page.get_by_label("Category").fill("Negotiation")
    tags = page.get_by_label("Skill tags")
    tags.fill("influence")
    tags.press("Enter")
    page.get_by_label("Estimated duration (minutes)").fill("45")
    page.keyboard.press("Control+s")
    page.wait_for_url(re.compile(r"/simulations/[0-9a-f-]{36}$"))
    page.get_by_text("negotiation-lab-").wait_for()  # the generated slug

    page.goto(f"{console_server.url}/")
    page.get_by_text("Simulations by status").wait_for()
    screenshot(page, "02-dashboard")

    page.goto(f"{console_server.url}/simulations")
    page.get_by_placeholder("Search title").fill("Negotiation Lab")
    page.wait_for_url(re.compile(r"search=Negotiation"))  # the filtered view is in the address bar
    row = page.locator("tbody tr", has_text=title)
    row.wait_for()
    assert page.locator("tbody tr").count() == 1
    page.get_by_placeholder("Search title").fill("no such simulation")
    page.get_by_text("No simulations match").wait_for()
    page.get_by_placeholder("Search title").fill("Negotiation Lab")
    row.wait_for()
    screenshot(page, "03-simulations")

    page.get_by_role("button", name="Log out").click()
    page.wait_for_url(re.compile(r"/login\?signed_out=1"))
    page.goto(f"{console_server.url}/simulations")
    page.wait_for_url(re.compile(r"/login\?next="))
