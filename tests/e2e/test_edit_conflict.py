"""Two people on one module in two browsers: B renames it and saves; A then saves the copy opened
earlier. A is told who changed it and when, sees the difference, and B's title is still there; after
"Reload" A sees B's title."""

from __future__ import annotations

import secrets

from tests.e2e.conftest import Account, screenshot
from tests.e2e.test_lists_and_access import new_simulation, sign_in


def _open_module(page, url: str) -> None:
    page.goto(url)
    page.get_by_text("Opening", exact=True).first.click()
    page.get_by_role("button", name="Save module").wait_for()
    page.wait_for_timeout(300)


def test_a_save_from_an_older_copy_is_refused_with_the_difference(browser, console_server):
    author = Account("conflict-author@e2e.example", secrets.token_urlsafe(12), "Ana Author")
    console_server.cli(
        "create-user", "--email", author.email, "--name", author.name, "--role", "studio_creator",
        "--password", author.password,
    )  # fmt: skip
    a = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
    a.set_default_timeout(15_000)
    sign_in(a, console_server, author)
    sim_id = new_simulation(a, console_server, "Conflict Lab")
    a.get_by_role("tab", name="Modules").click()
    a.get_by_role("button", name="Add module").click()
    dialog = a.get_by_role("dialog")
    dialog.get_by_label("Title *").fill("Opening")
    dialog.get_by_role("button", name="Create module").click()
    dialog.wait_for(state="detached")
    modules_url = f"{console_server.url}/simulations/{sim_id}?tab=modules"
    _open_module(a, modules_url)

    b = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()  # the platform admin
    b.set_default_timeout(15_000)
    sign_in(b, console_server, console_server.admin)
    _open_module(b, modules_url)
    editor_b = b.locator(".q-card", has=b.get_by_role("button", name="Save module"))
    editor_b.get_by_label("Title *").fill("The opening")
    b.get_by_role("button", name="Save module").click()
    b.get_by_text("Module saved.").wait_for()

    editor_a = a.locator(".q-card", has=a.get_by_role("button", name="Save module"))
    editor_a.get_by_label("Build version").fill("2.0")
    a.get_by_role("button", name="Save module").click()
    conflict = a.get_by_role("dialog", name="Changed while you were editing")
    conflict.wait_for()
    conflict.get_by_text(f"{console_server.admin.name} changed this module at").wait_for()
    differences = conflict.get_by_role("table")
    differences.get_by_role("row", name="Title Opening The opening").wait_for()
    differences.get_by_role("row", name="Build version 2.0").wait_for()
    screenshot(a, "19-edit-conflict")

    conflict.get_by_role("button", name="Reload").click()
    a.get_by_text("The opening", exact=True).first.wait_for()  # B's title, kept
    a.context.close()
    b.context.close()
