"""In a real browser: a list's view lives in the URL (filters, Back and Forward, `/` to search), and a
page opened before signing out in another tab can neither save nor upload."""

from __future__ import annotations

import re
import secrets

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import Account, screenshot
from tests.media_samples import png


@pytest.fixture(scope="module")
def author(console_server) -> Account:
    """A creator of this file's own (the shared one's list must stay empty for the simulations flow)."""
    account = Account("lists-author@e2e.example", secrets.token_urlsafe(12), "Lee Lister")
    console_server.cli(
        "create-user", "--email", account.email, "--name", account.name, "--role", "studio_creator",
        "--password", account.password,
    )  # fmt: skip
    return account


def sign_in(page, console, account) -> None:
    page.goto(f"{console.url}/login")
    page.get_by_label("Email").fill(account.email)
    page.get_by_label("Password").fill(account.password)
    page.get_by_label("Password").press("Enter")
    page.wait_for_url(re.compile(r"^(?!.*/login)"))


def new_simulation(page, console, title: str) -> str:
    page.goto(f"{console.url}/simulations/new")
    page.get_by_label("Title *").fill(title)
    page.keyboard.press("Control+s")
    page.wait_for_url(re.compile(r"/simulations/[0-9a-f-]{36}$"))
    return page.url.rsplit("/", 1)[-1]


def choose(page, label: str, option: str) -> None:
    page.get_by_label(label).click()
    page.get_by_role("option", name=option, exact=True).click()


def test_the_audit_logs_view_is_in_the_url_and_back_walks_through_it(browser, console_server, author):
    console_server.cli("create-api-key", "--name", "List test key")
    creator = browser.new_context(viewport={"width": 1400, "height": 900}).new_page()
    sign_in(creator, console_server, author)
    new_simulation(creator, console_server, "Audit Trail Alpha")
    creator.context.close()

    page = browser.new_context(viewport={"width": 1500, "height": 900}).new_page()
    page.set_default_timeout(15_000)
    sign_in(page, console_server, console_server.admin)
    page.goto(f"{console_server.url}/audit")
    page.get_by_text(re.compile(r"^\d+ entr(y|ies)$")).wait_for()

    choose(page, "Kind of record", "Simulation")
    page.wait_for_url(re.compile(r"entity_type=simulation"))
    page.get_by_text("Simulation · create").first.wait_for()
    assert page.get_by_text("API key · create").count() == 0
    choose(page, "Action", "Simulation · create")
    page.wait_for_url(re.compile(r"action=simulation.create"))
    search_box = page.locator(".list-search input")
    for _ in range(3):  # under load the filter's menu may still be closing when the heading is clicked
        page.get_by_role("heading", name="Audit log").click()  # focus leaves the filter
        page.keyboard.press("/")  # the search box takes the keyboard
        try:
            expect(search_box).to_be_focused(timeout=3_000)
            break
        except AssertionError:
            page.keyboard.press("Escape")
    expect(search_box).to_be_focused()
    page.keyboard.type("lists-author@e2e")
    page.wait_for_url(re.compile(r"search=lists-author%40e2e"))
    page.get_by_text("1 entry").wait_for()
    screenshot(page, "20-audit-log-filtered")

    # Bookmarkable: the same URL in a fresh tab shows the same view.
    shared = page.context.new_page()
    shared.goto(page.url)
    shared.get_by_text("1 entry").wait_for()
    shared.close()

    # Back undoes the action filter (typing the search was not a step of its own), then the kind.
    page.go_back()
    page.wait_for_url(re.compile(r"entity_type=simulation(?!.*action=)"))
    page.get_by_text("API key · create").wait_for(state="detached")
    # The filter redraws from the URL after Back: wait for it (it raced the read before).
    expect(page.get_by_label("Action")).to_have_value("Any")
    page.go_back()
    page.wait_for_url(re.compile(r"/audit$"))
    page.get_by_text("API key · create").first.wait_for()
    page.context.close()


def test_a_page_opened_before_logout_in_another_tab_saves_and_uploads_nothing(browser, console_server, author):
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15_000)
    sign_in(page, console_server, author)
    sim_id = new_simulation(page, console_server, "Before Logout")
    media = context.new_page()
    media.set_default_timeout(15_000)
    page.goto(f"{console_server.url}/simulations/{sim_id}?tab=modules")
    page.get_by_role("button", name="Add module").click()
    page.get_by_label("Title *").fill("Opening")
    page.get_by_role("button", name="Create module").click()
    page.get_by_text("Module added.").wait_for()
    media.goto(f"{console_server.url}/simulations/{sim_id}?tab=media")
    media.get_by_text("0 files").wait_for()
    page.goto(f"{console_server.url}/simulations/{sim_id}")
    page.get_by_label("Title *").wait_for()

    other = context.new_page()  # another tab of the same browser signs out
    other.goto(f"{console_server.url}/")
    other.get_by_role("button", name="Log out").click()
    other.wait_for_url(re.compile(r"/login"))

    page.get_by_label("Title *").fill("Renamed after logout")
    page.get_by_role("button", name=re.compile("Save")).click()
    page.wait_for_url(re.compile(r"/login\?next="))  # sent to sign in, nothing saved

    with media.expect_response(re.compile(r"/media/upload")) as upload:
        media.locator("input[type=file]").set_input_files(
            files=[{"name": "portrait.png", "mimeType": "image/png", "buffer": png()}]
        )
    assert upload.value.status == 401

    sign_in(other, console_server, author)
    other.goto(f"{console_server.url}/simulations/{sim_id}")
    assert other.get_by_label("Title *").input_value() == "Before Logout"
    other.goto(f"{console_server.url}/simulations/{sim_id}?tab=media")
    other.get_by_text("0 files").wait_for()
    other.goto(f"{console_server.url}/simulations/{sim_id}?tab=history")
    other.get_by_text(re.compile(r"^\d+ changes?$")).wait_for()
    assert other.get_by_text("Renamed after logout").count() == 0
    context.close()


def test_a_list_is_sorted_from_the_keyboard_and_keeps_the_focus(page, demo_console):
    """Each sortable header is a Tab stop: Enter sorts by it, Space turns the order round; the header
    says how it is sorted (aria-sort), the order goes into the URL, and the focus stays on the header."""
    sign_in(page, demo_console, demo_console.logins["platform_admin"])
    page.goto(f"{demo_console.url}/sessions")
    player = page.locator("thead th", has_text="Player")
    expect(player).to_have_attribute("aria-sort", "none")
    expect(page.locator("thead th", has_text="Started")).to_have_attribute("aria-sort", "descending")
    page.locator(".list-search input").focus()
    for _ in range(40):  # from the search box, past the filters, to the first sortable header
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.dataset.sortCol") == "player":
            break
    expect(player).to_be_focused()

    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"sort=player&desc=0"))
    expect(player).to_have_attribute("aria-sort", "ascending")
    expect(player).to_be_focused()
    first = page.locator("tbody tr").first.locator("td").nth(1).inner_text()
    page.keyboard.press(" ")
    page.wait_for_url(re.compile(r"sort=player&desc=1"))
    expect(player).to_have_attribute("aria-sort", "descending")
    expect(page.locator("tbody tr").first.locator("td").nth(1)).not_to_have_text(first)
    expect(player).to_be_focused()
    screenshot(page, "21-sorted-from-the-keyboard")
