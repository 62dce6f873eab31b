"""In Chromium: a creator builds a simulation (two modules, a stakeholder with a portrait, scoring, an
image and a PDF), submits it; an admin stages and publishes it. Screenshots of each editor."""

import re
import uuid

import httpx

from tests import media_samples as samples
from tests.e2e.conftest import screenshot
from tests.e2e.test_simulations_flow import login

XSS = "<img src=x onerror=alert(1)>"


def choose(page, label: str, option: str) -> None:
    """Pick an option of the Quasar select whose floating label is `label`."""
    field = page.locator(".q-select", has=page.locator(".q-field__label", has_text=re.compile(f"^{re.escape(label)}$")))
    field.first.click()
    page.locator(".q-menu .q-item", has_text=re.compile(f"^{re.escape(option)}$")).first.click()


def test_creator_builds_and_admin_publishes(console_server, page, tmp_path):
    dialogs = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    login(page, console_server, console_server.creator)
    page.wait_for_url(f"{console_server.url}/simulations")

    title = f"Boardroom Crisis {uuid.uuid4().hex[:6]}"
    page.goto(f"{console_server.url}/simulations/new")
    page.get_by_label("Title *").fill(title)
    page.get_by_label("Description").fill(XSS)
    page.keyboard.press("Control+s")
    page.wait_for_url(re.compile(r"/simulations/[0-9a-f-]{36}$"))
    sim_url = page.url
    page.get_by_text("Submit for review").wait_for()

    # Modules: two of them.
    page.get_by_role("tab", name="Modules").click()
    for name in ("Opening", "Negotiation"):
        page.get_by_role("button", name="Add module").click()
        # Inside the dialog: the details tab has a "Title *" field too, and the first module's
        # "Module added." may still be on screen, so wait for the dialog itself to go.
        dialog = page.get_by_role("dialog")
        dialog.get_by_label("Title *").fill(name)
        dialog.get_by_role("button", name="Create module").click()
        dialog.wait_for(state="detached")
        page.get_by_text(name, exact=True).first.wait_for()
    page.get_by_text("Opening", exact=True).first.click()
    page.get_by_role("button", name="Save module").wait_for()

    # Media: an image and a PDF, several at once, with the uploader's progress.
    image, handout = tmp_path / "ana.png", tmp_path / "handout.pdf"
    image.write_bytes(samples.png(64, 64))
    handout.write_bytes(samples.pdf())
    page.get_by_role("tab", name="Media").click()
    choose(page, "Module", "Opening")
    page.locator(".q-uploader input[type=file]").set_input_files([str(image), str(handout)])
    page.get_by_text("ana.png uploaded.").wait_for()
    page.get_by_text("handout.pdf uploaded.").wait_for()
    page.get_by_text("2 files").wait_for()
    page.get_by_text("Not used yet").nth(1).wait_for()  # both cards drawn
    screenshot(page, "10-studio-media")

    # The module editor: every field, a stakeholder with the portrait, the briefing preview.
    page.get_by_role("tab", name="Modules").click()
    page.wait_for_timeout(500)  # the tab redraws: new images for the portrait picker
    page.get_by_text("Opening", exact=True).first.click()
    page.wait_for_timeout(500)
    editor = page.locator(".q-card", has=page.get_by_role("button", name="Save module"))
    choose(page, "Status", "Published")
    choose(page, "Platform", "Web")
    editor.get_by_label("Launch URL").fill("https://play.example/opening")
    editor.get_by_label("Build version").fill("1.4.2")
    editor.get_by_label("Duration (minutes)").fill("25")
    editor.locator("textarea").first.fill(f"# You are the CFO\n\nThe board meets at **nine**. {XSS}")
    page.get_by_text("You are the CFO").wait_for()
    page.get_by_role("button", name="Add stakeholder").click()
    editor.get_by_label("Name *").fill("Ana Ruiz")
    editor.get_by_label("Role").fill(XSS)
    editor.get_by_label("Motivation").fill("Keep the share price up")
    choose(page, "Portrait (from this module's images)", "ana.png")
    editor.get_by_role("img", name="Portrait of stakeholder 1").wait_for()
    traits = editor.get_by_label("Personality traits")
    traits.fill("blunt")
    traits.press("Enter")
    editor.locator(".q-chip", has_text="blunt").wait_for()  # what the user sees: the trait became a chip
    traits.fill("frank")  # typed, never confirmed with Enter: saving keeps it all the same
    page.get_by_role("button", name="Save module").click()
    page.get_by_text("Module saved.").wait_for()
    page.get_by_role("button", name="Preview as engine").click()
    page.get_by_text('"build_version": "1.4.2"').wait_for()
    screenshot(page, "11-studio-engine-preview")
    page.get_by_role("button", name="Close").click()
    screenshot(page, "12-studio-module-editor")

    # The second module: the essentials publishing checks for.
    page.get_by_text("Negotiation", exact=True).first.click()
    page.wait_for_timeout(500)
    choose(page, "Platform", "Unity")
    editor.get_by_label("Launch URL").fill("https://play.example/negotiation")
    editor.get_by_label("Build version").fill("0.9.0")
    editor.locator("textarea").first.fill("Close the deal before the quarter ends.")
    page.keyboard.press("Control+s")  # the shortcut saves the editor on screen (not the hidden details form)
    page.get_by_text("Module saved.").last.wait_for()

    # Scoring: two dimensions, then try it.
    page.get_by_role("tab", name="Scoring").click()
    rows = [("financial", "Financial", "60"), ("people", "People", "40")]
    for index, (key, label, weight) in enumerate(rows):
        if index:
            page.get_by_role("button", name="Add dimension").click()
        page.get_by_label("Key").nth(index).fill(key)
        page.get_by_label("Label", exact=True).nth(index).fill(label)
        page.get_by_label("Weight").nth(index).fill(weight)
    page.get_by_text("Valid. Weights as shares: financial 60.0%, people 40.0%").wait_for()
    page.get_by_label("Financial (0–100)").fill("80")
    page.get_by_label("People (0–100)").fill("50")
    page.get_by_text("Total 68.0 → pass (pass mark 60)").wait_for()
    page.get_by_role("button", name="Save scoring").click()
    page.get_by_text("Scoring saved.").wait_for()
    screenshot(page, "13-studio-scoring")

    # Submit for review.
    page.get_by_role("button", name="Submit for review").click()
    page.get_by_label("Comment (optional)").fill("First cut, please review")
    page.get_by_role("dialog").get_by_role("button", name="Submit for review").click()
    page.get_by_role("button", name="Withdraw to draft").wait_for()
    page.get_by_role("tab", name="History").click()
    page.get_by_role("cell", name="First cut, please review").wait_for()
    history = page.locator(".q-table__container", has=page.get_by_role("cell", name="First cut, please review"))
    shown = history.locator("tbody tr").count()
    # The count is what the server has (a pager once read "1-0 of 0" under a full page).
    page.get_by_text(f"{shown} change{'s' if shown != 1 else ''}", exact=True).wait_for()
    screenshot(page, "14-studio-history")
    page.get_by_role("button", name="Log out").click()
    page.wait_for_url(re.compile(r"/login\?signed_out=1"))

    # The admin stages and publishes.
    page.goto(sim_url)
    page.get_by_label("Email").fill(console_server.admin.email)
    page.get_by_label("Password").fill(console_server.admin.password)
    page.get_by_label("Password").press("Enter")
    page.get_by_role("button", name="Stage").click()
    page.get_by_role("dialog").get_by_role("button", name="Stage").click()
    page.get_by_text("Ready to publish: every check passes.").wait_for()
    page.get_by_role("button", name="Publish").click()
    page.get_by_role("dialog").get_by_role("button", name="Publish").click()
    page.get_by_text("is published and read-only").wait_for()
    screenshot(page, "15-studio-published")

    # What an engine gets now: the new content.
    page.get_by_role("tab", name="Modules").click()
    page.get_by_text("Opening", exact=True).first.click()
    page.get_by_role("button", name="Preview as engine").click()
    page.get_by_text('"name": "Ana Ruiz"').wait_for()
    page.get_by_text('"status": "published"').first.wait_for()
    assert dialogs == []  # no payload ever ran

    # And an engine, with a key of its own, reads exactly that from the engine API.
    module_id = re.search(r"module=([0-9a-f-]{36})", page.url).group(1)
    key = console_server.cli("create-api-key", "--name", "e2e engine", "--scope", "game:read").strip().splitlines()[-1]
    answer = httpx.get(
        f"{console_server.url}/api/v1/modules/{module_id}", headers={"Authorization": f"Bearer {key}"}, timeout=10
    )
    assert answer.status_code == 200, answer.text
    module = answer.json()
    assert module["title"] == "Opening" and module["build_version"] == "1.4.2"
    assert module["briefing"].startswith("# You are the CFO")
    assert module["stakeholders"][0]["name"] == "Ana Ruiz"
    assert module["stakeholders"][0]["personality_traits"] == ["blunt", "frank"]
    assert [d["key"] for d in module["scoring"]["dimensions"]] == ["financial", "people"]
    assert module["simulation"]["status"] == "published"
