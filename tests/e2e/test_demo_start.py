"""The quick start: `serve --demo` on an empty data folder prints a login per role, and the platform
admin it prints can log in and browse the demo catalogue in a real browser."""

import re

from tests.e2e.conftest import screenshot, serving


def test_serve_demo_prints_logins_that_work(browser):
    with serving("--demo") as served:
        output = served.output.read_text()
        logins = {role: (email, pw) for role, email, pw in re.findall(r"^(\w+)\s+(\S+@\S+)\s+(\S+)$", output, re.M)}
        assert set(logins) == {
            "platform_admin",
            "studio_creator",
            "enterprise_admin",
            "enterprise_participant",
            "individual",
        }, output
        email, password = logins["platform_admin"]
        context = browser.new_context(viewport={"width": 1400, "height": 900})
        page = context.new_page()
        page.set_default_timeout(15_000)
        page.goto(f"{served.url}/login")
        page.get_by_label("Email").fill(email)
        page.get_by_label("Password").fill(password)
        page.get_by_label("Password").press("Enter")
        page.get_by_text("Simulations by status").wait_for()
        screenshot(page, "04-demo-dashboard")
        page.goto(f"{served.url}/simulations")
        page.get_by_text("5 simulations").wait_for()
        assert page.locator("tbody tr").count() == 5
        page.get_by_text("Activist Investor Showdown").wait_for()
        screenshot(page, "05-demo-simulations")
        # The demo's pictures are the console's own: a cover and portraits that load (no CDN needed).
        page.get_by_text("Activist Investor Showdown").click()
        cover = page.get_by_role("img", name="The simulation's thumbnail")
        cover.wait_for()
        page.wait_for_function("() => [...document.querySelectorAll('.q-img__image')].some(i => i.naturalWidth > 0)")
        page.get_by_role("tab", name="Media").click()
        page.get_by_text(re.compile(r"^\d+ files$")).wait_for()
        screenshot(page, "06-demo-media")
        context.close()
