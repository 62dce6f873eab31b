"""The organizations pages through NiceGUI's simulated user: the list, New organization, the
organization page (seats, warning, edit with its version, SSO with a write-only secret, delete), the
enterprise dashboard's seats tile, and who may open them."""

from __future__ import annotations

from datetime import timedelta

import pytest
from nicegui import ui
from nicegui.testing import User
from sqlalchemy import select

from console import unit_of_work
from console.auth import Actor
from console.services import organizations, sso_secrets
from models import AuditLogEntry, Organization, OrgMembership
from models.base import utcnow
from models.enums import MembershipRole, OrgPlan, UserRole
from tests.factories import make_org, make_user
from tests.pages.test_login_and_shell import login
from tests.support import wait_until_async

SECRET = "page-test-client-secret-Xy7"


def add_members(session, org: Organization, n: int) -> None:  # noqa: ANN001
    for _ in range(n):
        person = make_user(session, role=UserRole.enterprise_participant, organization_id=org.id, password=None)
        session.add(
            OrgMembership(
                user_id=person.id,
                organization_id=org.id,
                role=MembershipRole.participant,
                joined_at=utcnow() - timedelta(days=3),
            )
        )
    session.flush()


@pytest.fixture
def world(database_url):
    with unit_of_work.transaction() as session:
        admin = make_user(session, role=UserRole.platform_admin, name="Pat Admin")
        acme = make_org(session, name="Acme Corp", slug="acme-corp", seat_limit=10, plan=OrgPlan.enterprise)
        add_members(session, acme, 10)  # 10 participants of 10 seats (its admin, below, takes none)
        roomy = make_org(session, name="Roomy Ltd", slug="roomy", seat_limit=100)
        add_members(session, roomy, 2)
        org_admin = make_user(session, role=UserRole.enterprise_admin, organization_id=acme.id, name="Olga Org")
        session.add(OrgMembership(user_id=org_admin.id, organization_id=acme.id, role=MembershipRole.admin))
        creator = make_user(session, role=UserRole.studio_creator)
        participant = make_user(session, role=UserRole.enterprise_participant, organization_id=roomy.id)
    return {
        "admin": admin,
        "acme": acme,
        "roomy": roomy,
        "org_admin": org_admin,
        "creator": creator,
        "participant": participant,
    }


@pytest.fixture(autouse=True)
async def _settle(user: User):
    """Let the page's handlers finish before the app and the database go away."""
    yield
    from nicegui import background_tasks

    def ours(task) -> bool:  # noqa: ANN001
        name = task.get_name()
        # NiceGUI's own loops and the dashboard's 30-second timer run for the app's lifetime.
        return not (name.startswith(("refresh bindings", "outbox loop")) or "prune" in name or ".refresh " in name)

    await wait_until_async(
        lambda: not any(ours(t) and not t.done() for t in background_tasks.running_tasks),
        what="the page's handlers to finish",
        timeout=10,
        interval=0.05,
    )


def stored(slug: str) -> Organization | None:
    with unit_of_work.read_only() as session:
        return session.scalar(select(Organization).where(Organization.slug == slug))


async def find(user: User, marker: str):
    await user.should_see(marker=marker, retries=80)
    return user.find(marker=marker)


def page_title(user: User) -> str | None:
    return next((e.text for e in user.client.elements.values() if "page-title" in e._markers), None)


def every_text_on_the_page(user: User) -> str:
    """What the browser could be sent: every element's text and props."""
    return "\n".join(f"{getattr(el, 'text', '')} {el._props!r}" for el in user.client.elements.values())


async def test_the_list_shows_members_against_seats_with_a_warning(user: User, world):
    await login(user, world["admin"].email)
    await user.open("/organizations")
    await user.should_see("2 organizations", retries=80)
    rows = {r["name"]: r for r in user.find(marker="org-table").elements.pop().rows}
    assert rows["Acme Corp"]["members"] == "10 / 10" and rows["Acme Corp"]["seats_warn"] is True
    assert rows["Roomy Ltd"]["members"] == "2 / 100" and rows["Roomy Ltd"]["seats_warn"] is False
    assert rows["Acme Corp"]["plan"] == "Enterprise" and rows["Acme Corp"]["sso"] == "Off"
    await user.open("/organizations?seats=near_limit")
    await user.should_see("1 organization", retries=80)
    assert [r["name"] for r in user.find(marker="org-table").elements.pop().rows] == ["Acme Corp"]


async def test_new_organization_validates_in_place_and_opens_its_page(user: User, world):
    await login(user, world["admin"].email)
    await user.open("/organizations")
    (await find(user, "org-new")).click()
    await user.should_see(marker="org-create-dialog")
    user.find(marker="field-name").type("Globex Industries")
    user.find(marker="field-slug").type("acme-corp")  # taken
    user.find(marker="field-seat_limit").elements.pop().set_value(3)
    user.find(marker="org-create-submit").click()
    await user.should_see("already the slug of another organization", retries=80)
    assert stored("globex-industries") is None
    user.find(marker="field-slug").clear()  # empty: made from the name
    user.find(marker="org-create-submit").click()
    await user.should_see(marker="org-seats", retries=80)
    created = stored("globex-industries")
    assert created is not None and created.seat_limit == 3 and created.plan == OrgPlan.standard
    assert user.find(marker="org-seats").elements.pop().text == "0 / 3"


async def test_the_organization_page_shows_seats_and_warns_near_the_limit(user: User, world):
    await login(user, world["admin"].email)
    await user.open("/organizations/acme-corp")
    assert (await find(user, "org-seats")).elements.pop().text == "10 / 10"
    await user.should_see(marker="seat-warning")
    await user.should_see("Every seat is used")
    await user.should_see(marker="org-people-link")
    link = user.find(marker="org-people-link").elements.pop()
    assert link.props["href"] == f"/people?organization={world['acme'].id}"
    members = user.find(marker="org-members").elements.pop().rows
    assert len(members) == 11  # 10 participants and the admin
    # Members block deletion: the button is disabled and says why.
    assert not user.find(marker="org-delete").elements.pop().enabled
    await user.should_see("remove them in People first")
    await user.open("/organizations/roomy?tab=seats")
    await user.should_see(marker="seat-chart", retries=80)
    await user.should_not_see(marker="seat-warning")
    chart = user.find(marker="seat-chart").elements.pop()
    assert chart.options["series"][0]["data"][-1] == 2 and chart.options["series"][1]["data"][-1] == 100
    table = user.find(marker="seat-table").elements.pop()
    assert table.rows[0]["members"] == 2 and len(table.rows) == organizations.SERIES_DAYS


async def test_an_unknown_slug_is_not_found(user: User, world):
    await login(user, world["admin"].email)
    await user.open("/organizations/no-such-org")
    await user.should_see(marker="not-found")


async def test_edit_saves_with_the_version_and_a_stale_save_is_refused(user: User, world):
    await login(user, world["admin"].email)
    await user.open("/organizations/roomy")
    (await find(user, "org-edit")).click()
    await user.should_see(marker="slug-warning")
    user.find(marker="field-name").clear().type("Roomy Limited")
    user.find(marker="field-slug").clear().type("roomy-limited")
    user.find(marker="org-edit-save").click()
    # The page moves to the new address (the old page shows seats too: wait for the new title).
    await wait_until_async(lambda: page_title(user) == "Roomy Limited", what="the page at its new address")
    saved = stored("roomy-limited")
    assert saved.name == "Roomy Limited" and saved.version == 2
    assert stored("roomy") is None

    await user.open("/organizations/roomy-limited")
    (await find(user, "org-edit")).click()
    await user.should_see(marker="org-edit-dialog")
    with unit_of_work.transaction() as session:  # another admin saves first
        organizations.update(
            session=session,
            actor=Actor.for_user(user_id=world["admin"].id, role=UserRole.platform_admin, organization_id=None),
            organization_id=saved.id,
            data={"seat_limit": 7},
            version=2,
        )
    user.find(marker="field-name").clear().type("Mine")
    user.find(marker="org-edit-save").click()
    await user.should_see(marker="stale-message", retries=80)
    rows = user.find(marker="stale-differences").elements.pop().rows
    assert {"field": "Seat limit", "yours": "100", "theirs": "7"} in rows
    user.find(marker="stale-keep").click()  # the dialog waits for a choice
    assert stored("roomy-limited").name == "Roomy Limited"


async def test_the_sso_secret_is_never_sent_to_the_page(user: User, world):
    with unit_of_work.transaction() as session:
        admin = Actor.for_user(user_id=world["admin"].id, role=UserRole.platform_admin, organization_id=None)
        organizations.update_sso(
            session=session,
            actor=admin,
            organization_id=world["roomy"].id,
            data={
                "sso_enabled": True,
                "sso_provider": "okta",
                "sso_issuer_url": "https://roomy.okta.com",
                "sso_client_id": "roomy-client",
                "sso_client_secret": SECRET,
                "sso_email_domains": ["roomy.example"],
            },
            version=1,
        )
    ciphertext = stored("roomy").sso_client_secret_encrypted
    await login(user, world["admin"].email)
    await user.open("/organizations/roomy?tab=sso")
    await user.should_see("A client secret is stored", retries=80)
    assert user.find(marker="field-sso_client_secret").elements.pop().value == ""
    page = every_text_on_the_page(user)
    assert SECRET not in page and ciphertext not in page
    assert "roomy-client" in page  # the rest of the settings are shown

    # A new secret replaces the stored one and leaves the field.
    user.find(marker="field-sso_client_secret").type("a-brand-new-secret")
    user.find(marker="sso-save").click()
    await user.should_see("Single sign-on settings saved.", retries=80)
    assert sso_secrets.decrypt(stored("roomy").sso_client_secret_encrypted) == "a-brand-new-secret"
    assert user.find(marker="field-sso_client_secret").elements.pop().value == ""

    # Turning SSO on without a domain is refused under the field.
    chips = user.find(marker="field-sso_email_domains").elements.pop()
    chips.set_value([])
    user.find(marker="sso-save").click()
    await user.should_see("required to turn single sign-on on", retries=80)
    assert stored("roomy").sso_email_domains == ["roomy.example"]


async def test_an_empty_organization_is_deleted_after_confirmation(user: User, world):
    with unit_of_work.transaction() as session:
        make_org(session, name="Empty Co", slug="empty-co")
    await login(user, world["admin"].email)
    await user.open("/organizations/empty-co")
    button = (await find(user, "org-delete")).elements.pop()
    assert button.enabled
    user.find(marker="org-delete").click()
    await user.should_see(marker="confirm-ok")
    user.find(marker="confirm-ok").click()
    await wait_until_async(lambda: stored("empty-co") is None, what="the delete")


@pytest.mark.parametrize("who", ["creator", "participant", "org_admin"])
async def test_only_platform_admins_open_the_organizations_pages(user: User, world, who):
    await login(user, world[who].email)
    for path in ("/organizations", "/organizations/acme-corp", "/organizations/roomy"):
        await user.open(path)
        await user.should_see(marker="not-found")
        await user.should_not_see(marker="org-table")
        await user.should_not_see(marker="org-seats")


async def test_the_enterprise_dashboard_shows_seats_with_a_warning_and_links_to_people(user: User, world):
    await login(user, world["org_admin"].email)
    await user.open("/")
    tile = await find(user, "tile-members")
    links = [el for el in tile.elements.pop().descendants() if isinstance(el, ui.link)]
    assert [(link.text, link.props["href"]) for link in links] == [("10 / 10", "/people")]
    await user.should_see(marker="seat-warning")
    await user.should_see("All seats used")


async def test_require_sso_is_switched_on_the_organization_page_only_with_sso_on(user: User, world):
    await login(user, world["admin"].email)
    await user.open("/organizations/roomy?tab=sso")
    await user.should_see(marker="sso-required-why", retries=80)
    user.find(marker="sso-required").click()  # SSO is off: refused, and the switch goes back
    await user.should_see("Turn single sign-on on first.", retries=80)
    assert stored("roomy").sso_required is False
    with unit_of_work.transaction() as session:
        session.get(Organization, world["roomy"].id).sso_enabled = True
    await user.open("/organizations/roomy?tab=sso")
    await user.should_see(marker="sso-required", retries=80)
    user.find(marker="sso-required").click()
    await user.should_see("SSO is now required for members.", retries=80)
    assert stored("roomy").sso_required is True
    with unit_of_work.read_only() as session:
        entry = session.scalar(
            select(AuditLogEntry)
            .where(AuditLogEntry.entity_id == str(world["roomy"].id))
            .order_by(AuditLogEntry.created_at.desc())
        )
    assert (entry.action, entry.after["sso_required"]) == ("organization.sso_update", True)
