"""Stripe compared with the database: every difference between Stripe's subscriptions and the
organizations they pay for, kept as one `billing_reconciliations` row (the billing page shows the newest).

Run hourly by the worker (console/jobs.py `billing_reconcile`) and on demand by a platform admin from
/billing. It changes nothing: a difference is for a person to look at (a webhook that never arrived, a
change made in Stripe's dashboard, a subscription for an organization that already has one).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlmodel import Session

from console import unit_of_work
from console.auth import Actor, Permission
from console.errors import ValidationFailed
from console.services.billing import client, events, plans
from models import BillingReconciliation, Organization, StripeSubscription

configured = client.configured


@dataclass(frozen=True)
class Difference:
    kind: str
    subscription: str | None
    organization: str | None
    stripe: str
    console: str


def _state(sub: dict) -> events.SubscriptionState | None:
    try:
        return events.SubscriptionState.of(sub)
    except ValidationFailed:
        return None


def compare(
    stripe_subscriptions: list[dict], organizations: list[Organization], stored: dict[str, str | None] | None = None
) -> list[Difference]:
    """What differs, organization by organization and subscription by subscription. `stored`: the
    status the console last applied for each subscription id (a missed webhook shows as a status
    difference)."""
    out: list[Difference] = []
    stored = stored or {}
    by_id = {s["id"]: s for s in stripe_subscriptions if isinstance(s.get("id"), str)}
    linked = {o.stripe_subscription_id: o for o in organizations if o.stripe_subscription_id}
    orgs = {o.id: o for o in organizations}
    for sub_id, org in sorted(linked.items(), key=lambda kv: kv[1].name):
        found = by_id.get(sub_id)
        if found is None:
            out.append(Difference("missing_in_stripe", sub_id, org.name, "no such subscription", "linked"))
            continue
        state = _state(found)
        if state is None:
            out.append(Difference("unreadable", sub_id, org.name, "a subscription the console cannot read", "—"))
            continue
        if state.status != stored.get(sub_id):
            out.append(Difference("status", sub_id, org.name, state.status, stored.get(sub_id) or "unknown"))
        if state.quantity is not None and state.quantity != org.seat_limit:
            seats = f"seat limit {org.seat_limit}"
            out.append(Difference("seats", sub_id, org.name, f"quantity {state.quantity}", seats))
        plan = plans.org_plan_of(state.price_id)
        if plan is not None and plan != org.plan:
            out.append(Difference("plan", sub_id, org.name, plan.value, str(getattr(org.plan, "value", org.plan))))
    for sub_id, sub in by_id.items():
        state = _state(sub)
        if state is None or state.organization_id is None or sub_id in linked:
            continue
        org = orgs.get(state.organization_id)
        if org is None:
            out.append(Difference("unknown_organization", sub_id, None, state.status, "no such organization"))
        elif state.status != "canceled":
            other = f"linked to {org.stripe_subscription_id}"
            out.append(Difference("not_linked", sub_id, org.name, state.status, other))
    return out


def compare_now(*, session: Session, actor: Actor) -> int:
    """Compare now and keep the result (platform admins; a Stripe failure is kept as its error).
    Answers how many differences were found."""
    actor.require(Permission.manage_platform)
    organizations = list(session.scalars(select(Organization)))
    applied = session.execute(select(StripeSubscription.id, StripeSubscription.status))
    stored = {sub_id: status for sub_id, status in applied}
    try:
        subscriptions = client.list_subscriptions()
        differences, error = compare(subscriptions, organizations, stored), None
    except client.StripeUnavailable as exc:
        subscriptions, differences, error = [], [], exc.message[:500]
    session.add(
        BillingReconciliation(
            subscriptions_checked=len(subscriptions),
            differences=[d.__dict__ for d in differences],
            error=error,
        )
    )
    return len(differences)


def run() -> int:
    """The hourly job's comparison."""
    with unit_of_work.transaction() as session:
        return compare_now(session=session, actor=events.JOB_ACTOR)


@dataclass(frozen=True)
class Reconciliation:
    id: uuid.UUID
    ran_at: datetime
    subscriptions_checked: int
    differences: list[Difference]
    error: str | None


def latest(*, session: Session, actor: Actor) -> Reconciliation | None:
    """The newest comparison (platform admins)."""
    actor.require(Permission.manage_platform)
    row = session.scalar(select(BillingReconciliation).order_by(BillingReconciliation.ran_at.desc()).limit(1))
    if row is None:
        return None
    return Reconciliation(
        id=row.id,
        ran_at=row.ran_at,
        subscriptions_checked=row.subscriptions_checked,
        differences=[Difference(**d) for d in row.differences or []],
        error=row.error,
    )
