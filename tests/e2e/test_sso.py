"""SSO sign-in end to end in Chromium: the login page → the organization's provider (a real
oidc-provider-mock on 127.0.0.1) → back on the console, signed in as the person the provider proved."""

from __future__ import annotations

import subprocess
import sys

import httpx
import pytest

from tests.e2e import conftest as e2e
from tests.e2e.conftest import screenshot, serving
from tests.oidc_provider import oidc_provider  # noqa: F401  (the fixture)

_MAKE_ORG = """
import sys
from console import db, unit_of_work
from console.services import sso_secrets
from models import Organization, User
from models.enums import OrgPlan, UserRole

db.configure()
with unit_of_work.transaction() as s:
    s.add(Organization(name="Acme E2E", slug="acme-e2e", plan=OrgPlan.standard, seat_limit=5, sso_enabled=True,
                       sso_provider="oidc", sso_issuer_url=sys.argv[1], sso_client_id="simvado-e2e",
                       sso_client_secret_encrypted=sso_secrets.encrypt("e2e-client-secret"),
                       sso_email_domains=["acme-e2e.example"]))
    # A platform admin Clerk knows (the mirror set their Clerk user id): staff sign-in finds them by it.
    s.add(User(email="pat@simvado-staff.example", name="Pat Staffer", role=UserRole.platform_admin,
               clerk_id="user_2e2eStaff"))
"""


@pytest.fixture(scope="module")
def sso_console(oidc_provider):  # noqa: F811
    port = e2e._free_port()  # chosen first: the callback URL the provider is given names it

    def prepare(env: dict) -> None:
        env["SIMVADO_PUBLIC_URL"] = f"http://127.0.0.1:{port}"
        env["SIMVADO_STAFF_OIDC_ISSUER"] = oidc_provider.issuer
        env["SIMVADO_STAFF_OIDC_CLIENT_ID"] = "simvado-staff-e2e"
        env["SIMVADO_STAFF_OIDC_CLIENT_SECRET"] = "e2e-staff-secret"
        env["SIMVADO_STAFF_OIDC_CLERK_SUBJECTS"] = "true"
        subprocess.run([sys.executable, "-m", "console.cli", "migrate"], env=env, check=True, capture_output=True)
        subprocess.run([sys.executable, "-c", _MAKE_ORG, oidc_provider.issuer], env=env, check=True)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(e2e, "_free_port", lambda: port)
        with serving(prepare=prepare) as served:
            yield served.url


def test_sso_happy_path_in_chromium(page, sso_console, oidc_provider):  # noqa: F811
    httpx.put(
        f"{oidc_provider.issuer}/users/ana-e2e",
        json={"email": "ana@acme-e2e.example", "email_verified": True, "name": "Ana Ssotest"},
    ).raise_for_status()
    page.goto(f"{sso_console}/login")
    page.get_by_label("Work address for SSO").fill("ana@acme-e2e.example")
    screenshot(page, "sso-1-login-page")
    page.get_by_role("button", name="Continue with SSO").click()
    page.wait_for_url(f"{oidc_provider.issuer}/oauth2/authorize*")
    screenshot(page, "sso-2-provider-form")
    page.locator("input[name=sub]").fill("ana-e2e")
    page.get_by_role("button", name="Authorize").click()
    page.wait_for_url(f"{sso_console}/**")
    page.get_by_text("Ana Ssotest").first.wait_for()
    assert "/login" not in page.url
    screenshot(page, "sso-3-signed-in")
    # Signed in through the console's own login session: a fresh page load stays signed in.
    page.reload()
    page.get_by_text("Ana Ssotest").first.wait_for()


def test_sso_for_an_unknown_domain_ends_on_the_login_page_with_a_message(page, sso_console):
    page.goto(f"{sso_console}/login")
    page.get_by_label("Work address for SSO").fill("someone@nowhere.example")
    page.get_by_role("button", name="Continue with SSO").click()
    page.wait_for_url("**/login?error=sso_unknown_domain*")
    page.get_by_text("Single sign-on is not set up for this email's domain").wait_for()
    screenshot(page, "sso-4-unknown-domain")


def test_staff_sign_in_in_chromium(page, sso_console, oidc_provider):  # noqa: F811
    claims = {"email": "pat@elsewhere.example"}  # not the account's email: the Clerk user id is what counts
    httpx.put(f"{oidc_provider.issuer}/users/user_2e2eStaff", json=claims).raise_for_status()
    page.goto(f"{sso_console}/login?next=/organizations")
    page.get_by_role("button", name="Staff sign-in").click()
    page.wait_for_url(f"{oidc_provider.issuer}/oauth2/authorize*")
    page.locator("input[name=sub]").fill("user_2e2eStaff")
    page.get_by_role("button", name="Authorize").click()
    page.wait_for_url(f"{sso_console}/organizations")
    page.get_by_text("Pat Staffer").first.wait_for()
    screenshot(page, "sso-5-staff-signed-in")
    # Someone the provider knows but nobody linked: back on the login page, told why.
    page.get_by_role("button", name="Log out").click()
    page.wait_for_url("**/login**")
    page.get_by_role("button", name="Staff sign-in").click()
    page.wait_for_url(f"{oidc_provider.issuer}/oauth2/authorize*")
    page.locator("input[name=sub]").fill("user_nobody")
    page.get_by_role("button", name="Authorize").click()
    page.wait_for_url("**/login?error=sso_not_linked*")
    page.get_by_text("not linked to a console account").wait_for()
    screenshot(page, "sso-6-staff-not-linked")
