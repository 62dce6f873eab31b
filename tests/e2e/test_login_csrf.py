"""In a real browser: a page on another origin that auto-submits the login form with the attacker's
email and password signs nobody in (the browser sends its own Origin; the page cannot know the token)."""

from __future__ import annotations

from tests.e2e.conftest import screenshot
from tests.e2e.test_lists_and_access import sign_in

EVIL = "http://evil.example"


def _attacker_page(target: str, email: str, password: str) -> str:
    return f"""<!doctype html><html><body>
<form id="f" method="post" action="{target}/auth/login">
  <input name="email" value="{email}"><input name="password" value="{password}">
  <input name="csrf" value="guessed-token-guessed-token-guessed-token">
  <input name="next" value="/">
</form>
<script>document.getElementById('f').submit()</script>
</body></html>"""


def test_a_cross_origin_login_form_signs_nobody_in(browser, console_server):
    context = browser.new_context(viewport={"width": 1200, "height": 800})
    page = context.new_page()
    page.set_default_timeout(15_000)
    # The victim has visited the console before: the browser holds its token cookie.
    page.goto(f"{console_server.url}/login")
    attacker = console_server.creator  # "the attacker's own account"
    page.route(
        f"{EVIL}/**",
        lambda route: route.fulfill(
            content_type="text/html",
            body=_attacker_page(console_server.url, attacker.email, attacker.password),
        ),
    )
    page.goto(f"{EVIL}/win-a-prize")
    page.wait_for_url(f"{console_server.url}/login?error=expired&next=%2F")
    page.get_by_text("This sign-in form had expired").wait_for()
    assert not [c for c in context.cookies() if c["name"] == "simvado_session"]
    screenshot(page, "login-cross-origin-refused")

    # The console's own login form, in the same browser, still signs in.
    sign_in(page, console_server, console_server.admin)
    assert [c for c in context.cookies() if c["name"] == "simvado_session"]
    context.close()
