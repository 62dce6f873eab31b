"""The billing pages through NiceGUI's simulated user, against localstripe (tests/stripe_peer.py): a
platform admin starts and changes an organization's subscription from its page, an enterprise admin
reads /billing and adds seats, a past-due subscription shows and holds seats, the reconciliation."""

from __future__ import annotations

import pytest
from nicegui.testing import User

from console import unit_of_work
from models import Organization, StripeSubscription
from models.enums import MembershipRole, OrgPlan, UserRole
from tests import stripe_peer
from tests.factories import make_org, make_user
from tests.pages.test_login_and_shell import login


@pytest.fixture(scope="module")
def peer():
    return stripe_peer.start()


@pytest.fixture
def stripe_api(peer, database_url, monkeypatch):
    return stripe_peer.configure(peer, monkeypatch)


@pytest.fixture
def world(database_url):
    from models import OrgMembership

    with unit_of_work.transaction() as s:
        admin = make_user(s, role=UserRole.platform_admin)
        acme = make_org(s, name="Acme Corp", slug="acme-corp", seat_limit=2, plan=OrgPlan.pilot)
        org_admin = make_user(s, role=UserRole.enterprise_admin, organization_id=acme.id)
        s.add(OrgMembership(user_id=org_admin.id, organization_id=acme.id, role=MembershipRole.admin))
        participant = make_user(s, role=UserRole.enterprise_participant, organization_id=acme.id)
    return {"admin": admin, "acme": acme, "org_admin": org_admin, "participant": participant}


def stored(org_id) -> Organization:  # noqa: ANN001
    with unit_of_work.read_only() as s:
        return s.get(Organization, org_id)


async def test_a_platform_admin_starts_and_changes_the_subscription_from_the_organization_page(
    user: User, world, stripe_api
):
    customer = stripe_peer.customer_with_card(stripe_api)
    await login(user, world["admin"].email)
    await user.open("/organizations/acme-corp?tab=billing")
    await user.should_see("Start a subscription", retries=80)
    user.find(marker="field-plan").elements.pop().set_value("standard")
    user.find(marker="field-seats").elements.pop().set_value(4)
    user.find(marker="field-customer_id").type(customer)
    user.find(marker="org-billing-save").click()
    await user.should_see("Change seats or plan", retries=120)
    org = stored(world["acme"].id)
    assert (org.seat_limit, org.plan) == (4, OrgPlan.standard)
    assert stripe_peer.quantity(stripe_api, org.stripe_subscription_id) == 4
    await user.should_see(marker="billing-status")
    user.find(marker="field-seats").elements.pop().set_value(9)
    user.find(marker="org-billing-save").click()
    await user.should_see("Stripe now bills 9 seats", retries=120)
    assert stripe_peer.quantity(stripe_api, org.stripe_subscription_id) == 9
    assert stored(world["acme"].id).seat_limit == 9


async def test_an_enterprise_admin_sees_billing_with_invoices_and_adds_seats(user: User, world, stripe_api):
    from console.services.billing import subscriptions
    from tests.factories import actor_of

    with unit_of_work.transaction() as s:
        seen = subscriptions.subscribe(
            session=s,
            actor=actor_of(world["admin"]),
            organization_id=world["acme"].id,
            plan="standard",
            seats=3,
            customer_id=stripe_peer.customer_with_card(stripe_api),
        )
    await login(user, world["org_admin"].email)
    await user.open("/billing")
    await user.should_see(marker="billing-summary", retries=80)
    await user.should_see("Active")
    await user.should_see(marker="billing-invoices", retries=80)
    (table,) = user.find(marker="billing-invoices").elements
    assert [(r["amount"], r["status"]) for r in table.rows] == [("60.00 USD", "Paid")]  # 3 seats × 20.00
    user.find(marker="field-seats").elements.pop().set_value(5)
    user.find(marker="billing-add-seats-submit").click()
    await user.should_see(marker="confirm-ok")
    user.find(marker="confirm-ok").click()
    await user.should_see("now pays for 5 seats", retries=120)
    assert stripe_peer.quantity(stripe_api, seen.subscription_id) == 5
    assert stored(world["acme"].id).seat_limit == 5


async def test_a_past_due_subscription_shows_and_holds_seats(user: User, world, database_url):
    with unit_of_work.transaction() as s:
        s.add(StripeSubscription(id="sub_late", organization_id=world["acme"].id, status="past_due", quantity=2))
        s.get(Organization, world["acme"].id).stripe_subscription_id = "sub_late"
    await login(user, world["org_admin"].email)
    await user.open("/billing")
    await user.should_see("Past due", retries=80)
    await user.should_see(marker="billing-hold")
    await user.should_see(marker="billing-add-seats-why")
    await user.should_see("seats can be added once it is paid")


async def test_a_canceled_subscription_shows_on_the_organization_page(user: User, world, database_url):
    with unit_of_work.transaction() as s:
        s.add(StripeSubscription(id="sub_over", organization_id=world["acme"].id, status="canceled", quantity=2))
        s.get(Organization, world["acme"].id).stripe_subscription_id = "sub_over"
    await login(user, world["admin"].email)
    await user.open("/organizations/acme-corp")
    await user.should_see(marker="billing-status", retries=80)
    await user.should_see("Canceled")
    await user.should_see("The subscription has ended: no new members until a new one starts.")


async def test_the_platform_admin_compares_stripe_with_the_console(user: User, world, stripe_api):
    with unit_of_work.transaction() as s:
        s.get(Organization, world["acme"].id).stripe_subscription_id = "sub_gone"
    await login(user, world["admin"].email)
    await user.open("/billing")
    await user.should_see("Not compared yet", retries=80)
    user.find(marker="billing-compare").click()
    await user.should_see("1 difference found.", retries=120)
    await user.should_see(marker="billing-differences", retries=120)  # the page reloads with the result
    (table,) = user.find(marker="billing-differences").elements
    assert [(r["kind"], r["organization"], r["subscription"]) for r in table.rows] == [
        ("Not in Stripe", "Acme Corp", "sub_gone")
    ]
    await user.should_see(marker="billing-list-table", retries=80)  # every organization, with its subscription
    (listed,) = user.find(marker="billing-list-table").elements
    assert ("Acme Corp", "Pilot", "No subscription") in [(r["name"], r["plan"], r["status"]) for r in listed.rows]


async def test_a_participant_cannot_open_billing(user: User, world):
    await login(user, world["participant"].email)
    await user.open("/billing")
    await user.should_see(marker="not-found", retries=80)
