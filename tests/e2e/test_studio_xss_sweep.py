"""A sweep: script payloads typed into every text field of the studio's editors fire nothing in
Chromium and come back as text; `javascript:` links are refused where a URL is asked for."""

import re

from tests import media_samples as samples
from tests.e2e.conftest import screenshot
from tests.e2e.test_simulations_flow import login

XSS = "<img src=x onerror=alert(1)>"
JS = "javascript:alert(1)"


def test_payloads_are_text_everywhere(console_server, page, tmp_path):
    fired = []
    page.on("dialog", lambda d: (fired.append(d.message), d.dismiss()))
    login(page, console_server, console_server.creator)
    page.wait_for_url(f"{console_server.url}/simulations")

    page.goto(f"{console_server.url}/simulations/new")
    page.get_by_label("Title *").fill(f"Sweep {XSS}")
    page.get_by_label("Category").fill(XSS)
    page.get_by_label("Description").fill(XSS)
    page.get_by_label("Thumbnail URL").fill(JS)
    tags = page.get_by_label("Skill tags")
    tags.fill(XSS)
    tags.press("Enter")
    page.keyboard.press("Control+s")
    page.get_by_text("must be an http(s) URL").first.wait_for()
    page.get_by_label("Thumbnail URL").fill("")
    page.keyboard.press("Control+s")
    page.wait_for_url(re.compile(r"/simulations/[0-9a-f-]{36}$"))
    page.get_by_role("heading").or_(page.get_by_text(f"Sweep {XSS}")).first.wait_for()

    page.get_by_role("tab", name="Modules").click()
    page.get_by_role("button", name="Add module").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Title *").fill(XSS)
    dialog.get_by_role("button", name="Create module").click()
    dialog.wait_for(state="detached")
    page.get_by_text("Module added.").wait_for()
    page.wait_for_timeout(500)
    editor = page.locator(".q-card", has=page.get_by_role("button", name="Save module"))
    editor.get_by_label("Launch URL").fill(JS)
    editor.get_by_label("Build version").fill(XSS[:50])
    editor.locator("textarea").first.fill(f"{XSS}\n\n[click me]({JS})\n\n<script>alert(2)</script>")
    page.get_by_role("button", name="Add stakeholder").click()
    for label in ("Name *", "Role", "Motivation"):
        editor.get_by_label(label).fill(XSS)
    traits = editor.get_by_label("Personality traits")
    traits.fill(XSS[:40])
    traits.press("Enter")
    page.get_by_role("button", name="Save module").click()
    page.get_by_text("must be an http(s) URL").first.wait_for()
    editor.get_by_label("Launch URL").fill("https://play.example/x")
    page.get_by_role("button", name="Save module").click()
    page.get_by_text("Module saved.").wait_for()
    # The rendered briefing keeps no javascript: link and no script.
    preview = page.locator(".nicegui-markdown").first
    assert preview.locator("a[href^='javascript']").count() == 0
    assert preview.locator("script").count() == 0
    page.get_by_role("button", name="Preview as engine").click()
    page.get_by_text('"briefing":').wait_for()
    page.get_by_role("button", name="Close").click()

    page.get_by_role("tab", name="Scoring").click()
    page.get_by_label("Key").first.fill(XSS)
    page.get_by_label("Label", exact=True).first.fill(XSS)
    page.get_by_text("use lower-case letters").wait_for()

    image = tmp_path / f"{XSS[:20]}.png".replace("/", "_")
    image.write_bytes(samples.png())
    page.get_by_role("tab", name="Media").click()
    page.locator(".q-uploader input[type=file]").set_input_files(str(image))
    page.get_by_text("uploaded.").first.wait_for()
    page.get_by_role("button").filter(has_text="edit").first.click()
    page.get_by_label("File name").fill(f"{XSS}.png")
    page.get_by_role("button", name="Rename", exact=True).click()
    page.get_by_text(f"{XSS}.png").wait_for()

    page.get_by_role("button", name="Submit for review").click()
    page.get_by_label("Comment (optional)").fill(XSS)
    page.get_by_role("dialog").get_by_role("button", name="Submit for review").click()
    page.get_by_role("button", name="Withdraw to draft").wait_for()
    page.get_by_role("tab", name="History").click()
    page.get_by_role("cell", name=XSS, exact=True).first.wait_for()
    page.get_by_role("tab", name="Modules").click()
    page.get_by_text(XSS, exact=True).first.wait_for()
    page.wait_for_timeout(600)  # let the tab transition finish
    screenshot(page, "16-studio-xss-sweep")
    assert page.locator("img[src='x']").count() <= 1  # at most the sanitized briefing's inert image
    assert fired == []
