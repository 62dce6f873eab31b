"""Login, logout, redirects and the shell, through NiceGUI's simulated user (no browser)."""

import pytest
from nicegui import ui
from nicegui.testing import User

from console import unit_of_work
from models.enums import UserRole
from tests.factories import PASSWORD, make_user
from tests.support import sign_in, sign_out


@pytest.fixture
def accounts_db(database_url):
    with unit_of_work.transaction() as session:
        admin = make_user(session, role=UserRole.platform_admin, name="Pat Admin")
        participant = make_user(session, role=UserRole.enterprise_participant, name="Pia Player")
    return {"admin": admin, "participant": participant}


async def login(user: User, email: str, password: str = PASSWORD, next_: str = "/"):
    return await sign_in(user.http_client, email, password, next_)


async def test_anonymous_user_is_sent_to_login_with_next(user: User, database_url):
    response = await user.http_client.get("/simulations?status=draft", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=%2Fsimulations%3Fstatus%3Ddraft"


async def test_login_sets_httponly_cookie_and_redirects_to_relative_next(user: User, accounts_db):
    response = await login(user, accounts_db["admin"].email, next_="/simulations")
    assert response.status_code == 303
    assert response.headers["location"] == "/simulations"
    cookie = response.headers["set-cookie"]
    assert "simvado_session=" in cookie and "HttpOnly" in cookie and "SameSite=lax" in cookie
    await user.open("/")
    await user.should_see("Pat Admin")
    await user.should_see("Dashboard")


@pytest.mark.parametrize(
    "target", ["//evil.example/x", "https://evil.example", "javascript:alert(1)", "/\\evil.example", "http:/evil"]
)
async def test_login_never_redirects_off_site(user: User, accounts_db, target):
    response = await login(user, accounts_db["admin"].email, next_=target)
    assert response.headers["location"] == "/"


async def test_wrong_password_and_unknown_email_get_the_same_answer(user: User, accounts_db):
    wrong = await login(user, accounts_db["admin"].email, password="not the password")
    unknown = await login(user, "nobody@nowhere.example", password="not the password")
    assert wrong.status_code == unknown.status_code == 303
    assert wrong.headers["location"] == unknown.headers["location"] == "/login?error=invalid&next=%2F"
    assert "set-cookie" not in wrong.headers or "simvado_session" not in wrong.headers["set-cookie"]
    await user.open("/login?error=invalid")
    await user.should_see("Email or password is incorrect.")


async def test_repeated_failures_lock_out_even_the_right_password(user: User, accounts_db):
    email = accounts_db["admin"].email
    for _ in range(5):
        await login(user, email, password="wrong password!")
    response = await login(user, email)
    assert response.headers["location"].startswith("/login?error=locked")
    # Unknown emails are throttled the same way, so the lock reveals nothing.
    for _ in range(5):
        await login(user, "ghost@nowhere.example", password="wrong password!")
    ghost = await login(user, "ghost@nowhere.example", password="wrong password!")
    assert ghost.headers["location"].startswith("/login?error=locked")


async def test_logout_revokes_the_session(user: User, accounts_db):
    await login(user, accounts_db["admin"].email)
    token = user.http_client.cookies.get("simvado_session")
    assert (await user.http_client.get("/auth/logout", follow_redirects=False)).status_code == 405
    response = await sign_out(user.http_client)
    assert response.headers["location"] == "/login?signed_out=1"
    # Even a copy of the old cookie no longer works.
    user.http_client.cookies.set("simvado_session", token)
    again = await user.http_client.get("/", follow_redirects=False)
    assert again.status_code == 303 and again.headers["location"].startswith("/login")


async def _login_form_token(user: User) -> str:
    await user.http_client.get("/login")
    return user.http_client.cookies["simvado_csrf"]


def _signed_in(user: User) -> bool:
    return bool(user.http_client.cookies.get("simvado_session"))


async def test_login_form_carries_a_token_in_an_httponly_strict_cookie(user: User, accounts_db):
    response = await user.http_client.get("/login")
    cookie = response.headers["set-cookie"]
    assert "simvado_csrf=" in cookie and "HttpOnly" in cookie and "SameSite=strict" in cookie
    token = user.http_client.cookies["simvado_csrf"]
    assert token in response.text  # in the form's hidden field, drawn by the server
    # The next page keeps the browser's token rather than setting a new one.
    assert "simvado_csrf" not in (await user.http_client.get("/login")).headers.get("set-cookie", "")


@pytest.mark.parametrize(
    ("origin", "token"),
    [
        ("https://evil.example", "cookie"),  # another site's page, even if it somehow had the token
        (None, "cookie"),  # no Origin and no Referer: cannot tell where it came from
        ("null", "cookie"),  # a sandboxed or data: page
        ("same", None),  # no token
        ("same", "another"),  # a token that is not this browser's
    ],
)
async def test_cross_site_login_signs_nobody_in(user: User, accounts_db, origin, token):
    cookie = await _login_form_token(user)
    headers = (
        {} if origin is None else {"Origin": str(user.http_client.base_url).rstrip("/") if origin == "same" else origin}
    )
    data = {"email": accounts_db["admin"].email, "password": PASSWORD, "next": "/simulations"}
    if token is not None:
        data["csrf"] = cookie if token == "cookie" else "A" * 43
    response = await user.http_client.post("/auth/login", data=data, headers=headers, follow_redirects=False)
    assert response.headers["location"] == "/login?error=expired&next=%2Fsimulations"
    assert not _signed_in(user)
    await user.open("/login?error=expired")
    await user.should_see("This sign-in form had expired. Please sign in again.")


async def test_login_from_the_login_page_with_a_referer_only_still_works(user: User, accounts_db):
    token = await _login_form_token(user)
    base = str(user.http_client.base_url).rstrip("/")
    response = await user.http_client.post(
        "/auth/login",
        data={"email": accounts_db["admin"].email, "password": PASSWORD, "csrf": token},
        headers={"Referer": f"{base}/login"},
        follow_redirects=False,
    )
    assert response.headers["location"] == "/" and _signed_in(user)


async def test_cross_site_logout_signs_nobody_out(user: User, accounts_db):
    await login(user, accounts_db["admin"].email)
    token = user.http_client.cookies["simvado_csrf"]
    response = await user.http_client.post(
        "/auth/logout", data={"csrf": token}, headers={"Origin": "https://evil.example"}, follow_redirects=False
    )
    assert response.headers["location"] == "/"
    assert (await user.http_client.get("/", follow_redirects=False)).status_code == 200  # still signed in


async def test_pages_carry_security_headers(user: User, accounts_db):
    await login(user, accounts_db["admin"].email)
    response = await user.http_client.get("/simulations")
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    assert response.headers["referrer-policy"]


async def test_participant_sees_only_their_page(user: User, accounts_db):
    await login(user, accounts_db["participant"].email)
    await user.open("/")
    await user.should_see("My assignments and results")
    await user.should_not_see("Simulations")
    await user.open("/simulations")
    await user.should_see("There is nothing here, or you do not have access to it.")


async def test_shell_is_accessible_by_construction(user: User, accounts_db):
    """The shell's accessibility hooks (the browser test runs axe on them; this says where they are)."""
    await login(user, accounts_db["admin"].email)
    assert '<html lang="en-US"' in (await user.http_client.get("/simulations")).text
    await user.open("/simulations")
    title = user.find(marker="page-title").elements.pop()
    assert (title.tag, title.text) == ("h1", "Simulations")
    nav = {marker: user.find(marker=marker).elements.pop() for marker in ("nav-home", "nav-simulations")}
    assert all(isinstance(link, ui.link) for link in nav.values())  # real <a href>, reachable by Tab
    assert nav["nav-simulations"].props["href"] == "/simulations"
    assert nav["nav-simulations"].props.get("aria-current") == "page"
    assert "aria-current" not in nav["nav-home"].props
    assert user.find(marker="nav-toggle").elements.pop().props["aria-label"] == "Toggle navigation"
