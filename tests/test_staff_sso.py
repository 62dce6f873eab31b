"""Staff sign-in through the platform's own OIDC provider (settings SIMVADO_STAFF_OIDC_*), against a real
oidc-provider-mock on 127.0.0.1: a staff account is found by (issuer, subject), linked first either by
its Clerk user id (the provider is Clerk) or by a platform admin; nobody becomes staff by signing in."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest
from fastapi import FastAPI
from sqlalchemy import select
from starlette.testclient import TestClient
from typer.testing import CliRunner

from console import unit_of_work
from console.auth.web import COOKIE_NAME
from console.config import Settings
from console.identity_routes import STAFF_START_PATH, identity_router
from models import AuditLogEntry, SsoIdentity, User
from models.base import utcnow
from models.enums import UserRole
from tests.factories import make_user
from tests.oidc_provider import oidc_provider  # noqa: F401  (the fixture)
from tests.test_sso import come_back, count, login_error, signed_in_actor

CLIENT_SECRET = "staff-client-secret-at-the-provider"


def _client(provider, *, clerk_subjects: bool) -> TestClient:  # noqa: ANN001
    settings = Settings(
        public_url="http://testserver",
        staff_oidc_issuer=provider.issuer,
        staff_oidc_client_id="simvado-staff",
        staff_oidc_client_secret=CLIENT_SECRET,
        staff_oidc_clerk_subjects=clerk_subjects,
    )
    app = FastAPI()
    app.include_router(identity_router(settings))
    return TestClient(app, follow_redirects=False)


@pytest.fixture
def clerk_staff(database_url, oidc_provider):  # noqa: F811
    with _client(oidc_provider, clerk_subjects=True) as c:
        yield c


@pytest.fixture
def plain_staff(database_url, oidc_provider):  # noqa: F811
    with _client(oidc_provider, clerk_subjects=False) as c:
        yield c


def staff_sign_in(client, provider, *, sub: str, next_: str = "/"):  # noqa: ANN001, ANN201
    provider.set_user(sub, email=f"{sub}@staff.example", email_verified=True, name="Someone")
    started = client.get(f"{STAFF_START_PATH}?{urlencode({'next': next_})}")
    assert started.status_code == 303, started.text
    assert started.headers["location"].startswith(provider.issuer)
    return come_back(client, provider.authorize(started.headers["location"], sub=sub))


def test_a_clerk_mirrored_staff_member_is_linked_by_clerk_id_and_signed_in(clerk_staff, oidc_provider):  # noqa: F811
    with unit_of_work.transaction() as s:
        admin = make_user(s, role=UserRole.platform_admin, clerk_id="user_2abcStaff", password=None)
    done = staff_sign_in(clerk_staff, oidc_provider, sub="user_2abcStaff", next_="/organizations")
    assert done.headers["location"] == "/organizations"
    actor = signed_in_actor(done)
    assert actor.id == admin.id and actor.role == UserRole.platform_admin
    with unit_of_work.read_only() as s:
        link = s.scalar(select(SsoIdentity).where(SsoIdentity.user_id == admin.id))
        entry = s.scalar(select(AuditLogEntry).where(AuditLogEntry.action == "user.sso_link"))
    assert (link.issuer, link.subject, link.organization_id) == (oidc_provider.issuer, "user_2abcStaff", None)
    assert entry.entity_id == str(admin.id) and CLIENT_SECRET not in str(entry.after) + (entry.comment or "")
    # The next sign-in finds the same person through the link.
    again = staff_sign_in(clerk_staff, oidc_provider, sub="user_2abcStaff")
    assert signed_in_actor(again).id == admin.id and count(SsoIdentity) == 1


def test_an_identity_nobody_linked_signs_nobody_in(plain_staff, clerk_staff, oidc_provider):  # noqa: F811
    with unit_of_work.transaction() as s:
        make_user(s, role=UserRole.platform_admin, email="stranger@staff.example")  # same email: not enough
    for browser in (plain_staff, clerk_staff):
        answer = staff_sign_in(browser, oidc_provider, sub="stranger")
        assert login_error(answer) == "sso_not_linked"
        assert COOKIE_NAME not in answer.cookies
    assert count(SsoIdentity) == 0 and count(User, User.email == "stranger@staff.example") == 1
    # A provider that is not Clerk: a subject equal to someone's Clerk user id is no link either.
    with unit_of_work.transaction() as s:
        make_user(s, role=UserRole.platform_admin, clerk_id="user_plain")
    assert login_error(staff_sign_in(plain_staff, oidc_provider, sub="user_plain")) == "sso_not_linked"
    assert count(SsoIdentity) == 0


def test_a_platform_admin_links_an_account_and_it_signs_in(plain_staff, oidc_provider, database_url, monkeypatch):  # noqa: F811
    from console.cli import cli

    monkeypatch.setenv("DATABASE_URL", database_url)
    with unit_of_work.transaction() as s:
        creator = make_user(s, role=UserRole.studio_creator, email="cora@studio.example")
    monkeypatch.setenv("SIMVADO_STAFF_OIDC_ISSUER", oidc_provider.issuer)
    from console.config import get_settings

    get_settings.cache_clear()
    linked = CliRunner().invoke(cli, ["link-sso", "--email", "Cora@studio.example", "--subject", "cora-at-idp"])
    assert linked.exit_code == 0, linked.output
    again = CliRunner().invoke(cli, ["link-sso", "--email", "nobody@studio.example", "--subject", "x"])
    assert again.exit_code == 2 and "No person" in again.output
    taken = CliRunner().invoke(cli, ["link-sso", "--email", "cora@studio.example", "--subject", "cora-at-idp"])
    assert taken.exit_code == 0  # the same link again changes nothing
    done = staff_sign_in(plain_staff, oidc_provider, sub="cora-at-idp")
    assert signed_in_actor(done).id == creator.id
    assert count(SsoIdentity) == 1


@pytest.mark.parametrize("who", ["participant", "deactivated"])
def test_linked_people_who_are_not_active_staff_are_refused(clerk_staff, oidc_provider, who):  # noqa: F811
    with unit_of_work.transaction() as s:
        if who == "participant":
            make_user(s, role=UserRole.enterprise_participant, clerk_id=f"user_{who}", password=None)
        else:
            make_user(s, role=UserRole.platform_admin, clerk_id=f"user_{who}", deactivated_at=utcnow())
    answer = staff_sign_in(clerk_staff, oidc_provider, sub=f"user_{who}")
    assert login_error(answer) == ("sso_not_staff" if who == "participant" else "sso_inactive")
    assert COOKIE_NAME not in answer.cookies
    assert count(SsoIdentity) == 0  # refused before anything was written for them


def test_staff_sign_in_is_off_without_its_settings(database_url):
    app = FastAPI()
    app.include_router(identity_router(Settings(public_url="http://testserver")))
    with TestClient(app, follow_redirects=False) as browser:
        assert login_error(browser.get(STAFF_START_PATH)) == "sso_staff_off"


async def test_the_login_page_offers_staff_sign_in_only_when_configured(user, database_url, monkeypatch):
    from console.config import get_settings

    await user.open("/login")
    await user.should_not_see("Staff sign-in")
    monkeypatch.setenv("SIMVADO_STAFF_OIDC_ISSUER", "https://clerk.simvado.example")
    monkeypatch.setenv("SIMVADO_STAFF_OIDC_CLIENT_ID", "console")
    monkeypatch.setenv("SIMVADO_STAFF_OIDC_CLIENT_SECRET", CLIENT_SECRET)
    get_settings.cache_clear()
    await user.open("/login")
    await user.should_see("Staff sign-in")
    await user.open("/login?error=sso_not_linked")
    await user.should_see("not linked to a console account")
