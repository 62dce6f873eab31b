"""Stripe's deliveries through `POST /webhooks/stripe`, signed as Stripe signs them, on a real PostgreSQL
(SECURITY.md 8–12, docs/billing.md)."""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import time
import uuid

import pytest
from fastapi import FastAPI
from sqlalchemy import func, select, text
from starlette.testclient import TestClient

from console import unit_of_work
from console.billing_routes import STRIPE_WEBHOOK_PATH, billing_router
from console.config import Settings
from models import AuditLogEntry, Organization, StripeEvent, StripeSubscription, User
from models.enums import OrgPlan, SubscriptionTier, UserRole
from tests.factories import make_org, make_user
from tests.support import at_once

SECRET = "whsec_simvado_stripe_test_secret"
PRICES = {
    "SIMVADO_STRIPE_PRICE_STANDARD": "price_standard",
    "SIMVADO_STRIPE_PRICE_ENTERPRISE": "price_enterprise",
    "SIMVADO_STRIPE_PRICE_PRO_MONTHLY": "price_pro_m",
    "SIMVADO_STRIPE_PRICE_PRO_ANNUAL": "price_pro_y",
}
T0 = 1_796_000_000  # Stripe's clock, seconds


@pytest.fixture
def client(database_url, monkeypatch):
    for name, value in PRICES.items():
        monkeypatch.setenv(name, value)
    app = FastAPI()
    app.include_router(billing_router(Settings(stripe_webhook_secret=SECRET, stripe_webhook_max_body_bytes=64 * 1024)))
    with TestClient(app) as c:
        yield c


def subscription(sub_id: str, *, status="active", quantity=5, price="price_standard", org=None, user=None, cus="cus_1"):
    metadata = {}
    if org is not None:
        metadata["organization_id"] = str(org)
    if user is not None:
        metadata["user_id"] = str(user)
    return {
        "id": sub_id,
        "object": "subscription",
        "customer": cus,
        "status": status,
        "metadata": metadata,
        "items": {"object": "list", "data": [{"id": "si_1", "quantity": quantity, "price": {"id": price}}]},
        "current_period_end": T0 + 30 * 86400,
    }


def event(kind: str, obj: dict, *, created: int = T0, event_id: str | None = None) -> dict:
    return {
        "id": event_id or f"evt_{uuid.uuid4().hex}",
        "object": "event",
        "type": kind,
        "created": created,
        "data": {"object": obj},
    }


def signed(body: str, *, at: int | None = None, secret: str = SECRET) -> dict[str, str]:
    at = at or int(time.time())
    mac = hmac.new(secret.encode(), f"{at}.{body}".encode(), hashlib.sha256).hexdigest()
    return {"stripe-signature": f"t={at},v1={mac}", "content-type": "application/json"}


def deliver(client: TestClient, payload: dict):
    body = json.dumps(payload)
    return client.post(STRIPE_WEBHOOK_PATH, content=body, headers=signed(body))


def count(model, *where) -> int:  # noqa: ANN001
    with unit_of_work.read_only() as s:
        return s.scalar(select(func.count()).select_from(model).where(*where))


def new_org(**overrides) -> Organization:
    with unit_of_work.transaction() as s:
        return make_org(s, **overrides)


def org_state(org_id) -> tuple:  # noqa: ANN001
    with unit_of_work.read_only() as s:
        org = s.get(Organization, org_id)
        sub = s.get(StripeSubscription, org.stripe_subscription_id) if org.stripe_subscription_id else None
        return (OrgPlan(org.plan), org.seat_limit, org.stripe_subscription_id, sub.status if sub else None)


# ------------------------------------------------------------------------------------ the events


def test_a_subscription_sets_the_organizations_plan_seats_and_status_audited_as_the_webhook(client):
    org = new_org(plan=OrgPlan.pilot, seat_limit=3)
    answer = deliver(client, event("customer.subscription.created", subscription("sub_a", quantity=12, org=org.id)))
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"status": "applied"}
    assert org_state(org.id) == (OrgPlan.standard, 12, "sub_a", "active")
    with unit_of_work.read_only() as s:
        entry = s.scalar(select(AuditLogEntry).where(AuditLogEntry.entity_id == str(org.id)))
    assert (entry.action, entry.actor_label, entry.organization_id) == (
        "organization.billing_update",
        "Stripe webhook",
        org.id,
    )
    assert entry.before["seat_limit"] == 3 and entry.after["seat_limit"] == 12
    assert SECRET not in json.dumps([entry.before, entry.after, entry.comment])


def test_past_due_and_canceled_show_on_the_subscription_and_the_seats_stay(client):
    org = new_org()
    deliver(client, event("customer.subscription.created", subscription("sub_b", quantity=4, org=org.id)))
    late = subscription("sub_b", quantity=4, org=org.id, status="past_due")
    deliver(client, event("customer.subscription.updated", late, created=T0 + 5))
    assert org_state(org.id)[3] == "past_due"
    ended = subscription("sub_b", quantity=4, org=org.id, status="canceled")
    deliver(client, event("customer.subscription.deleted", ended, created=T0 + 9))
    assert org_state(org.id) == (OrgPlan.standard, 4, "sub_b", "canceled")


def test_a_persons_tier_follows_their_subscription(client):
    with unit_of_work.transaction() as s:
        person = make_user(s, role=UserRole.individual)
    monthly = subscription("sub_p", quantity=1, price="price_pro_m", user=person.id, cus="cus_p")
    deliver(client, event("customer.subscription.created", monthly))
    with unit_of_work.read_only() as s:
        got = s.get(User, person.id)
        assert (got.subscription_tier, got.stripe_customer_id) == (SubscriptionTier.pro_monthly, "cus_p")
    annual = subscription("sub_p", quantity=1, price="price_pro_y", user=person.id, cus="cus_p")
    deliver(client, event("customer.subscription.updated", annual, created=T0 + 1))
    with unit_of_work.read_only() as s:
        assert s.get(User, person.id).subscription_tier is SubscriptionTier.pro_annual
    ended = subscription("sub_p", quantity=1, price="price_pro_y", cus="cus_p", status="canceled")  # no metadata
    deliver(client, event("customer.subscription.deleted", ended, created=T0 + 2))
    with unit_of_work.read_only() as s:
        assert s.get(User, person.id).subscription_tier is SubscriptionTier.free
        actions = list(s.scalars(select(AuditLogEntry.action).where(AuditLogEntry.entity_id == str(person.id))))
    assert actions == ["user.subscription_update"] * 3


def test_an_older_state_arriving_late_changes_nothing(client):
    org = new_org()
    newer = subscription("sub_c", quantity=9, org=org.id)
    deliver(client, event("customer.subscription.updated", newer, created=T0 + 10))
    late = deliver(client, event("customer.subscription.created", subscription("sub_c", quantity=2, org=org.id)))
    assert late.json() == {"status": "stale"}
    assert org_state(org.id)[1] == 9


def test_other_events_are_acknowledged_and_invoice_events_queue_a_sync(client):
    assert deliver(client, event("customer.created", {"id": "cus_x", "object": "customer"})).json() == {
        "status": "ignored"
    }
    invoice = {"id": "in_1", "object": "invoice", "subscription": "sub_q", "status": "open"}
    assert deliver(client, event("invoice.payment_failed", invoice)).json() == {"status": "queued"}
    with unit_of_work.read_only() as s:
        queued = s.execute(text("SELECT args FROM procrastinate_jobs WHERE task_name = 'console:billing_sync'"))
        assert [row.args for row in queued] == [{"subscription_id": "sub_q"}]


# ------------------------------------------------------------------------------------ once, in any order


def test_the_same_event_twenty_times_at_once_has_one_effect(client):
    org = new_org(seat_limit=1)
    body = json.dumps(event("customer.subscription.created", subscription("sub_d", quantity=20, org=org.id)))
    headers = signed(body)
    answers = at_once(20, lambda: client.post(STRIPE_WEBHOOK_PATH, content=body, headers=headers))
    assert sorted(a.status_code for a in answers) == [200] * 20
    assert sorted(a.json()["status"] for a in answers) == ["applied"] + ["duplicate"] * 19
    assert count(StripeEvent) == 1
    assert count(AuditLogEntry) == 1
    assert org_state(org.id)[1] == 20


def test_every_order_of_created_updated_past_due_canceled_ends_the_same(client):
    def sequence(org_id, sub_id):
        return [
            event("customer.subscription.created", subscription(sub_id, quantity=5, org=org_id), created=T0),
            event("customer.subscription.updated", subscription(sub_id, quantity=7, org=org_id), created=T0 + 1),
            event(
                "customer.subscription.updated",
                subscription(sub_id, quantity=7, org=org_id, status="past_due"),
                created=T0 + 2,
            ),
            event(
                "customer.subscription.deleted",
                subscription(sub_id, quantity=7, org=org_id, status="canceled"),
                created=T0 + 3,
            ),
        ]

    finals = set()
    for n, order in enumerate(itertools.permutations(range(4))):
        org = new_org(plan=OrgPlan.pilot, seat_limit=1)
        steps = sequence(org.id, f"sub_perm{n}")
        for i in order:
            assert deliver(client, steps[i]).status_code == 200
        plan, seats, sub, status = org_state(org.id)
        finals.add((plan, seats, sub.startswith("sub_perm"), status))
    assert finals == {(OrgPlan.standard, 7, True, "canceled")}


def test_canceled_stays_canceled_and_same_second_states_resolve_alike(client):
    """Two states in one second: past_due outranks active whichever comes first."""
    for order in ((0, 1), (1, 0)):
        org = new_org()
        sub_id = f"sub_tie{order[0]}"
        steps = [
            event("customer.subscription.updated", subscription(sub_id, org=org.id, status="active"), created=T0),
            event("customer.subscription.updated", subscription(sub_id, org=org.id, status="past_due"), created=T0),
        ]
        for i in order:
            deliver(client, steps[i])
        assert org_state(org.id)[3] == "past_due"
    org = new_org()
    deliver(client, event("customer.subscription.deleted", subscription("sub_e", org=org.id, status="canceled")))
    deliver(client, event("customer.subscription.updated", subscription("sub_e", org=org.id), created=T0 + 60))
    assert org_state(org.id)[3] == "canceled"


# ------------------------------------------------------------------------------------ refused requests


def _nothing_written():
    assert count(StripeEvent) == 0
    assert count(StripeSubscription) == 0
    assert count(AuditLogEntry) == 0


def test_a_tampered_byte_is_refused_and_nothing_is_written(client, caplog):
    caplog.set_level("DEBUG")
    org = new_org()
    body = json.dumps(event("customer.subscription.created", subscription("sub_f", quantity=5, org=org.id)))
    headers = signed(body)
    answer = client.post(STRIPE_WEBHOOK_PATH, content=body.replace('"quantity": 5', '"quantity": 9'), headers=headers)
    assert answer.status_code == 400
    _nothing_written()
    assert SECRET not in caplog.text


def test_reserialized_json_is_refused(client):
    org = new_org()
    payload = event("customer.subscription.created", subscription("sub_g", org=org.id))
    headers = signed(json.dumps(payload))
    answer = client.post(STRIPE_WEBHOOK_PATH, content=json.dumps(payload, indent=1), headers=headers)
    assert answer.status_code == 400
    _nothing_written()


def test_a_stale_timestamp_is_refused(client):
    org = new_org()
    body = json.dumps(event("customer.subscription.created", subscription("sub_h", org=org.id)))
    answer = client.post(STRIPE_WEBHOOK_PATH, content=body, headers=signed(body, at=int(time.time()) - 301))
    assert answer.status_code == 400
    _nothing_written()


def test_another_secret_a_missing_header_and_a_large_body_are_refused(client):
    body = json.dumps(event("customer.subscription.created", subscription("sub_i")))
    assert client.post(STRIPE_WEBHOOK_PATH, content=body, headers=signed(body, secret="whsec_other")).status_code == 400
    assert client.post(STRIPE_WEBHOOK_PATH, content=body).status_code == 400
    big = json.dumps({"pad": "x" * 70 * 1024})
    assert client.post(STRIPE_WEBHOOK_PATH, content=big, headers=signed(big)).status_code == 413
    _nothing_written()


def test_a_signed_event_we_cannot_read_is_422_and_nothing_is_kept(client):
    payload = event("customer.subscription.updated", {"id": "sub_j", "status": "weird"})
    answer = deliver(client, payload)
    assert answer.status_code == 422
    _nothing_written()


def test_a_failure_answers_500_and_keeps_nothing_so_stripe_retries(client, monkeypatch):
    from console.services.billing import events

    org = new_org()

    def broken(**kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr(events, "follow_organization", broken)
    answer = deliver(client, event("customer.subscription.created", subscription("sub_k", org=org.id)))
    assert answer.status_code == 500
    _nothing_written()


def test_unconfigured_answers_503(database_url):
    app = FastAPI()
    app.include_router(billing_router(Settings(stripe_webhook_secret=None)))
    with TestClient(app) as c:
        body = json.dumps(event("customer.subscription.created", subscription("sub_l")))
        assert c.post(STRIPE_WEBHOOK_PATH, content=body, headers=signed(body)).status_code == 503


def test_a_subscription_without_metadata_reaches_the_organization_linked_to_it(client):
    org = new_org(stripe_subscription_id="sub_m", seat_limit=1)
    deliver(client, event("customer.subscription.updated", subscription("sub_m", quantity=30)))
    assert org_state(org.id)[1:] == (30, "sub_m", "active")
    # a deletion whose object still says active (it never should) is the end all the same
    deliver(client, event("customer.subscription.deleted", subscription("sub_m", quantity=30), created=T0 + 1))
    assert org_state(org.id)[3] == "canceled"
