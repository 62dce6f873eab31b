"""Organizations' plan and seats as a Stripe subscription, against localstripe started by this module
(tests/stripe_peer.py), and Stripe's deliveries reaching the organization through a served webhook."""

from __future__ import annotations

import socket
import threading
import time

import pytest
from sqlalchemy import select

from console import unit_of_work
from console.errors import NotFound, ValidationFailed
from console.services import seats
from console.services.billing import reconcile, subscriptions
from console.services.people import members
from models import AuditLogEntry, Organization, StripeSubscription
from models.enums import OrgPlan, UserRole
from tests import stripe_peer
from tests.factories import actor_of, make_org, make_user

KEY = stripe_peer.KEY
SECRET = stripe_peer.WEBHOOK_SECRET
customer_with_card = stripe_peer.customer_with_card
stripe_quantity = stripe_peer.quantity


@pytest.fixture(scope="module")
def peer():
    return stripe_peer.start()


@pytest.fixture
def stripe_api(peer, database_url, monkeypatch):
    return stripe_peer.configure(peer, monkeypatch)


def setup_org(**overrides):
    with unit_of_work.transaction() as s:
        org = make_org(s, plan=OrgPlan.pilot, seat_limit=2, **overrides)
        admin = make_user(s, role=UserRole.platform_admin)
        org_admin = make_user(s, role=UserRole.enterprise_admin, organization_id=org.id)
        return org, actor_of(admin), actor_of(org_admin)


def act(fn, **kwargs):  # noqa: ANN001
    with unit_of_work.transaction() as s:
        return fn(session=s, **kwargs)


def test_a_platform_admin_subscribes_and_changes_seats_and_stripe_follows(stripe_api):
    org, admin, _ = setup_org()
    seen = act(
        subscriptions.subscribe,
        actor=admin,
        organization_id=org.id,
        plan="standard",
        seats=5,
        customer_id=customer_with_card(stripe_api),
    )
    assert (seen.status, seen.quantity, seen.plan, seen.seats.limit) == ("active", 5, OrgPlan.standard, 5)
    assert stripe_quantity(stripe_api, seen.subscription_id) == 5
    assert stripe_api.v1.subscriptions.retrieve(seen.subscription_id).metadata["organization_id"] == str(org.id)

    seen = act(subscriptions.change_seats, actor=admin, organization_id=org.id, seats=8, plan="enterprise")
    assert stripe_quantity(stripe_api, seen.subscription_id) == 8
    with unit_of_work.read_only() as s:
        stored = s.get(Organization, org.id)
        assert (stored.seat_limit, stored.plan) == (8, OrgPlan.enterprise)
        entries = list(s.scalars(select(AuditLogEntry).where(AuditLogEntry.entity_id == str(org.id))))
    assert [e.action for e in entries] == ["organization.subscribe", "organization.billing_update"]
    assert {e.actor_id for e in entries} == {admin.user_id}
    assert all(KEY not in str([e.before, e.after, e.comment]) for e in entries)


def test_an_enterprise_admin_may_only_add_seats_to_their_own_subscription(stripe_api):
    org, admin, org_admin = setup_org()
    other, _, outsider = setup_org()
    act(subscriptions.subscribe, actor=admin, organization_id=org.id, plan="standard", seats=3,
        customer_id=customer_with_card(stripe_api))  # fmt: skip
    seen = act(subscriptions.change_seats, actor=org_admin, organization_id=org.id, seats=6)
    assert (seen.quantity, stripe_quantity(stripe_api, seen.subscription_id)) == (6, 6)
    with pytest.raises(ValidationFailed) as fewer:
        act(subscriptions.change_seats, actor=org_admin, organization_id=org.id, seats=4)
    assert "seats" in fewer.value.details
    with pytest.raises(ValidationFailed):
        act(subscriptions.change_seats, actor=org_admin, organization_id=org.id, seats=9, plan="enterprise")
    with pytest.raises(NotFound):
        act(subscriptions.change_seats, actor=outsider, organization_id=org.id, seats=20)
    with pytest.raises(NotFound):
        act(subscriptions.overview, actor=outsider, organization_id=org.id)
    with pytest.raises(Exception, match="access"):
        act(subscriptions.subscribe, actor=org_admin, organization_id=org.id, plan="standard", seats=3)
    assert stripe_quantity(stripe_api, seen.subscription_id) == 6


def test_a_stripe_refusal_changes_nothing_here(stripe_api):
    org, admin, _ = setup_org()
    with pytest.raises(Exception, match="Stripe"):
        act(subscriptions.subscribe, actor=admin, organization_id=org.id, plan="standard", seats=5)  # no card
    with unit_of_work.read_only() as s:
        stored = s.get(Organization, org.id)
        assert (stored.seat_limit, stored.stripe_subscription_id) == (2, None)
        assert s.scalar(select(AuditLogEntry).where(AuditLogEntry.entity_id == str(org.id))) is None


@pytest.mark.parametrize(
    ("status", "held"), [("active", False), ("past_due", True), ("canceled", True), ("unpaid", True)]
)
def test_past_due_or_ended_subscriptions_stop_new_members_but_keep_the_present_ones(database_url, status, held):
    with unit_of_work.transaction() as s:
        org = make_org(s, seat_limit=10)
        admin = actor_of(make_user(s, role=UserRole.enterprise_admin, organization_id=org.id))
        members.add(session=s, actor=admin, organization_id=org.id, data={"email": "a@x.example", "name": "A"})
        s.add(StripeSubscription(id=f"sub_{status}", organization_id=org.id, status=status, quantity=10))
        org.stripe_subscription_id = f"sub_{status}"
    new = {"email": "b@x.example", "name": "B"}
    if held:
        with pytest.raises(seats.BillingHold) as refused:
            act(members.add, actor=admin, organization_id=org.id, data=new)
        assert refused.value.code == "billing_hold"
    else:
        act(members.add, actor=admin, organization_id=org.id, data=new)
    with unit_of_work.read_only() as s:
        assert seats.count_used(s, org.id) == (1 if held else 2)
    # an admin, who takes no seat, may still be added; and removing members still works
    act(members.add, actor=admin, organization_id=org.id, data={"email": "c@x.example", "name": "C", "role": "admin"})


# ------------------------------------------------------------------------------------ through the webhook


@pytest.fixture
def console_server(stripe_api):
    """The console's Stripe webhook served on 127.0.0.1, where localstripe delivers its events."""
    import uvicorn
    from fastapi import FastAPI

    from console.billing_routes import STRIPE_WEBHOOK_PATH, billing_router
    from console.config import get_settings

    get_settings.cache_clear()
    app = FastAPI()
    app.include_router(billing_router(get_settings()))
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    for _ in range(100):
        if server.started:
            break
        time.sleep(0.05)
    url = f"http://127.0.0.1:{port}{STRIPE_WEBHOOK_PATH}"
    yield url
    server.should_exit = True
    thread.join(5)


def wait_for(check, seconds: float = 10):  # noqa: ANN001
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if result := check():
            return result
        time.sleep(0.1)
    raise AssertionError("not reached in time")


def test_a_subscription_made_and_canceled_in_stripe_reaches_the_organization(stripe_api, peer, console_server):
    org, _, _ = setup_org()
    peer.send_webhooks_to(console_server, SECRET)
    made = stripe_api.v1.subscriptions.create(
        params={
            "customer": customer_with_card(stripe_api),
            "items": [{"plan": "plan_enterprise", "quantity": 14}],
            "metadata": {"organization_id": str(org.id)},
        }
    )

    def linked():
        with unit_of_work.read_only() as s:
            stored = s.get(Organization, org.id)
            return stored if stored.stripe_subscription_id == made.id else None

    stored = wait_for(linked)
    assert (stored.seat_limit, stored.plan) == (14, OrgPlan.enterprise)
    stripe_api.v1.subscriptions.cancel(made.id)

    def canceled():
        with unit_of_work.read_only() as s:
            return s.get(StripeSubscription, made.id).status == "canceled"

    wait_for(canceled)
    with unit_of_work.read_only() as s:
        entries = list(s.scalars(select(AuditLogEntry.actor_label).where(AuditLogEntry.entity_id == str(org.id))))
    assert entries and set(entries) == {"Stripe webhook"}
    with pytest.raises(seats.BillingHold):
        act(lambda session: seats.claim(session, org.id, 1))


def test_reconciliation_lists_a_change_made_in_stripe_that_no_event_told(stripe_api):
    org, admin, _ = setup_org()
    seen = act(subscriptions.subscribe, actor=admin, organization_id=org.id, plan="standard", seats=5,
               customer_id=customer_with_card(stripe_api))  # fmt: skip
    assert act(reconcile.compare_now, actor=admin) == 0
    item = stripe_api.v1.subscriptions.retrieve(seen.subscription_id)["items"].data[0].id
    stripe_api.v1.subscriptions.update(seen.subscription_id, params={"items": [{"id": item, "quantity": 9}]})
    assert act(reconcile.compare_now, actor=admin) == 1
    found = act(reconcile.latest, actor=admin)
    assert [(d.kind, d.organization, d.stripe, d.console) for d in found.differences] == [
        ("seats", org.name, "quantity 9", "seat limit 5")
    ]
    stripe_api.v1.subscriptions.cancel(seen.subscription_id)  # its webhook never reaches the console
    act(reconcile.compare_now, actor=admin)
    kinds = [(d.kind, d.stripe, d.console) for d in act(reconcile.latest, actor=admin).differences]
    assert ("status", "canceled", "active") in kinds


def test_the_queued_sync_reads_the_subscription_from_stripe_and_applies_it(stripe_api):
    """What an invoice event queues (console:billing_sync): the subscription as Stripe has it now."""
    from console import jobs

    org, admin, _ = setup_org()
    seen = act(subscriptions.subscribe, actor=admin, organization_id=org.id, plan="standard", seats=5,
               customer_id=customer_with_card(stripe_api))  # fmt: skip
    item = stripe_api.v1.subscriptions.retrieve(seen.subscription_id)["items"].data[0].id
    stripe_api.v1.subscriptions.update(seen.subscription_id, params={"items": [{"id": item, "quantity": 11}]})
    jobs.billing_sync(seen.subscription_id)
    with unit_of_work.read_only() as s:
        assert s.get(Organization, org.id).seat_limit == 11
        entry = s.scalars(
            select(AuditLogEntry).where(AuditLogEntry.entity_id == str(org.id)).order_by(AuditLogEntry.created_at)
        ).all()[-1]
    assert (entry.action, entry.actor_label) == ("organization.billing_update", "Stripe sync")
    jobs.billing_reconcile(0)  # the hourly comparison: now nothing differs
    assert act(reconcile.latest, actor=admin).differences == []


def test_the_platform_admins_list_of_subscriptions_filters_by_status(stripe_api):
    from console.errors import PermissionDenied
    from console.services.listing import ListQuery

    org, admin, org_admin = setup_org()
    other, _, _ = setup_org()
    act(subscriptions.subscribe, actor=admin, organization_id=org.id, plan="standard", seats=4,
        customer_id=customer_with_card(stripe_api))  # fmt: skip

    def names(**filters):
        page = act(subscriptions.list_, actor=admin, query=ListQuery(filters=filters, limit=100))
        return {(r.name, r.status, r.quantity) for r in page.rows}

    assert names(status="active") == {(org.name, "active", 4)}
    assert (other.name, None, None) in names(status="none")
    assert org.name not in {name for name, _, _ in names(status="none")}
    with pytest.raises(ValidationFailed):
        names(status="bogus")
    with pytest.raises(PermissionDenied):
        act(subscriptions.list_, actor=org_admin, query=ListQuery())
