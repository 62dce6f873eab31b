"""What admins do with an organization's subscription, and what the billing pages read.

- `overview`: plan, seats used and paid for, the subscription's status (platform admins: any
  organization; an enterprise admin: their own — `organizations.readable`).
- `subscribe`: a platform admin starts the organization's subscription in Stripe (quantity = seats).
- `change_seats`: a platform admin sets seats (and plan) to any number ≥ 1; an enterprise admin may
  only **add** seats to their own organization's subscription while it is in good standing (active or
  trialing) — Stripe prorates the charge. Fewer seats, or a plan change, is a platform admin's act.
- `invoices`: the organization's invoices, read from Stripe.
- `list_`: every organization with its subscription's status and seats (platform admins' /billing).

Stripe is called inside the caller's unit of work, before anything is written: a refusal by Stripe
changes nothing here. If Stripe succeeds and the commit then fails, Stripe's own webhook for the change
brings the organization in line (events.py), so the two still converge.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlmodel import Session

from console.auth import Actor, Permission
from console.errors import ValidationFailed
from console.services import seats as seat_rules
from console.services.billing import client, events, plans
from console.services.listing import ListQuery, Page, paged, search_clause
from console.services.organizations.records import members_count
from console.services.organizations.records import row as organization_row
from models import AuditAction, Organization, StripeSubscription
from models.enums import OrgPlan

MAX_SEATS = 100_000
GOOD_STANDING = frozenset({"active", "trialing"})
STATUS_LABELS = {
    None: "No subscription",
    "incomplete": "Incomplete (first payment pending)",
    "trialing": "Trial",
    "active": "Active",
    "paused": "Paused",
    "past_due": "Past due",
    "unpaid": "Unpaid",
    "incomplete_expired": "Expired",
    "canceled": "Canceled",
}


@dataclass(frozen=True)
class BillingOverview:
    organization_id: uuid.UUID
    organization_name: str
    plan: OrgPlan
    seats: seat_rules.SeatUse
    subscription_id: str | None
    status: str | None
    quantity: int | None
    current_period_end: datetime | None
    customer_id: str | None
    stripe_configured: bool
    hold: str | None  # what the subscription's status means for new members, if anything

    @property
    def status_label(self) -> str:
        return STATUS_LABELS.get(self.status, self.status or "No subscription")

    @property
    def in_good_standing(self) -> bool:
        return self.status in GOOD_STANDING


@dataclass(frozen=True)
class InvoiceLine:
    id: str
    number: str | None
    created: datetime
    amount_due: int  # in the currency's smallest unit
    currency: str
    status: str | None
    url: str | None  # Stripe's hosted page of the invoice (https only)

    @property
    def amount(self) -> str:
        return f"{self.amount_due / 100:,.2f} {self.currency.upper()}"


def overview(*, session: Session, actor: Actor, organization_id: uuid.UUID) -> BillingOverview:
    org = organization_row(session, actor, organization_id)
    sub = session.get(StripeSubscription, org.stripe_subscription_id) if org.stripe_subscription_id else None
    status = sub.status if sub else None
    return BillingOverview(
        organization_id=org.id,
        organization_name=org.name,
        plan=OrgPlan(org.plan),
        seats=seat_rules.use(session, org.id),
        subscription_id=org.stripe_subscription_id,
        status=status,
        quantity=sub.quantity if sub else None,
        current_period_end=sub.current_period_end if sub else None,
        customer_id=sub.customer_id if sub else None,
        stripe_configured=client.configured(),
        hold=seat_rules.HOLDS.get(status),
    )


def _price(plan: OrgPlan) -> str:
    price = plans.org_prices().get(plan)
    if price is None:
        raise ValidationFailed(
            f"No Stripe price is configured for the {plan.value} plan.",
            details={"plan": f"set SIMVADO_STRIPE_PRICE_{plan.value.upper()}"},
        )
    return price


def _seats(seats: int) -> int:
    if not isinstance(seats, int) or isinstance(seats, bool) or not 1 <= seats <= MAX_SEATS:
        raise ValidationFailed("Check the highlighted fields.", details={"seats": f"a whole number, 1 to {MAX_SEATS}"})
    return seats


def subscribe(
    *,
    session: Session,
    actor: Actor,
    organization_id: uuid.UUID,
    plan: OrgPlan | str,
    seats: int,
    customer_id: str | None = None,
) -> BillingOverview:
    """Start the organization's subscription (platform admins): a Stripe customer (or the given existing
    one, `cus_…`, e.g. with payment details set up by sales) and a subscription of `seats` on `plan`."""
    org = organization_row(session, actor, organization_id, for_write=True)
    plan, seats = OrgPlan(plan), _seats(seats)
    current = session.get(StripeSubscription, org.stripe_subscription_id) if org.stripe_subscription_id else None
    if current is not None and current.status not in ("canceled", "incomplete_expired"):
        raise ValidationFailed(f"{org.name} already has a subscription ({current.status}): change its seats instead.")
    price = _price(plan)
    customer_id = (customer_id or "").strip() or None
    if customer_id is not None:
        if not customer_id.startswith("cus_") or len(customer_id) > 255:
            details = {"customer_id": "a Stripe customer id, cus_…"}
            raise ValidationFailed("Check the highlighted fields.", details=details)
        client.retrieve_customer(customer_id)
    else:
        customer_id = client.create_customer(name=org.name, metadata={"organization_id": str(org.id)})["id"]
    answer = client.create_subscription(
        customer_id=customer_id, price_id=price, quantity=seats, metadata={"organization_id": str(org.id)}
    )
    state = events.SubscriptionState.of(answer)
    org.stripe_subscription_id = None  # the new subscription replaces an ended one
    events.record_state(
        session=session,
        actor=actor,
        state=state,
        at=time.time_ns() // 1_000_000,
        action=AuditAction.organization_subscribe,
        comment=f"subscription {state.id} started in Stripe: {seats} seats, {plan.value}",
    )
    return overview(session=session, actor=actor, organization_id=org.id)


def can_add_seats(actor: Actor, seen: BillingOverview) -> bool:
    """Whether this actor may add seats now (pages ask, the service decides the same way)."""
    if not seen.subscription_id or not seen.stripe_configured:
        return False
    return actor.can(Permission.manage_platform) or (
        actor.can(Permission.manage_organization) and seen.in_good_standing
    )


def change_seats(
    *, session: Session, actor: Actor, organization_id: uuid.UUID, seats: int, plan: OrgPlan | str | None = None
) -> BillingOverview:
    """Set the subscription's seats (and, for platform admins, its plan); Stripe first, then here."""
    org = organization_row(session, actor, organization_id)
    seats = _seats(seats)
    platform = actor.can(Permission.manage_platform)
    if not platform:
        actor.require(Permission.manage_organization)
        if plan is not None:
            raise ValidationFailed("Only a platform admin changes the plan.", details={"plan": "not yours to change"})
    sub = session.get(StripeSubscription, org.stripe_subscription_id) if org.stripe_subscription_id else None
    if sub is None or sub.status in ("canceled", "incomplete_expired"):
        raise ValidationFailed(f"{org.name} has no running subscription: a platform admin starts one.")
    if not platform:
        if sub.status not in GOOD_STANDING:
            raise ValidationFailed(
                f"The subscription is {STATUS_LABELS.get(sub.status, sub.status).lower()}: seats can be added "
                "once it is paid. Ask Simvado's support."
            )
        if seats <= (sub.quantity or 0):
            raise ValidationFailed(
                "Check the highlighted fields.",
                details={"seats": f"more than the {sub.quantity} seats paid for (fewer: ask Simvado's support)"},
            )
    new_plan = OrgPlan(plan) if plan is not None else OrgPlan(org.plan)
    price = _price(new_plan) if plan is not None else (sub.plan_id or _price(new_plan))
    current = client.retrieve_subscription(sub.id)
    item = events.SubscriptionState.of(current).item_id
    if item is None:
        raise ValidationFailed("The Stripe subscription has no item to change.")
    answer = client.change_subscription(subscription_id=sub.id, item_id=item, price_id=price, quantity=seats)
    events.record_state(
        session=session,
        actor=actor,
        state=events.SubscriptionState.of(answer),
        at=time.time_ns() // 1_000_000,
        action=AuditAction.organization_billing_update,
        comment=f"seats set to {seats} in Stripe" + (f", plan {new_plan.value}" if plan is not None else ""),
    )
    return overview(session=session, actor=actor, organization_id=org.id)


def invoices(*, session: Session, actor: Actor, organization_id: uuid.UUID) -> list[InvoiceLine]:
    """The organization's newest invoices (from Stripe; empty without a subscription or Stripe)."""
    seen = overview(session=session, actor=actor, organization_id=organization_id)
    if not seen.customer_id or not seen.stripe_configured:
        return []
    out = []
    for inv in client.list_invoices(customer_id=seen.customer_id):
        url = inv.get("hosted_invoice_url")
        out.append(
            InvoiceLine(
                id=inv["id"],
                number=inv.get("number"),
                created=datetime.fromtimestamp(int(inv.get("created") or 0), UTC),
                amount_due=int(inv.get("amount_due") or 0),
                currency=str(inv.get("currency") or "usd"),
                status=inv.get("status"),
                url=url if isinstance(url, str) and url.startswith("https://") else None,
            )
        )
    return out


@dataclass(frozen=True)
class SubscriptionRow:
    """One organization's line in the platform admin's billing list."""

    organization_id: uuid.UUID
    name: str
    slug: str
    plan: OrgPlan
    subscription_id: str | None
    status: str | None
    quantity: int | None
    members: int
    seat_limit: int | None


SORTABLE = {
    "name": Organization.name,
    "status": StripeSubscription.status,
    "quantity": StripeSubscription.quantity,
    "members": members_count(),
}
STATUS_FILTER = {"none": "No subscription", **{k: v for k, v in STATUS_LABELS.items() if k}}


def list_(*, session: Session, actor: Actor, query: ListQuery) -> Page[SubscriptionRow]:
    """Every organization with its subscription's status and seats (platform admins), by name unless
    sorted otherwise. Search: name, slug. Filter `status`: a Stripe status, or `none`."""
    actor.require(Permission.manage_platform)
    used = members_count()
    joined = Organization.stripe_subscription_id == StripeSubscription.id
    conditions = []
    if (search := search_clause(query.search, Organization.name, Organization.slug)) is not None:
        conditions.append(search)
    if status := query.text("status"):
        if status not in STATUS_FILTER:
            raise ValidationFailed(f"Unknown status “{status}”.", details={"status": ", ".join(STATUS_FILTER)})
        column = StripeSubscription.status
        conditions.append(column.is_(None) if status == "none" else column == status)
    statement = (
        select(Organization, StripeSubscription.status, StripeSubscription.quantity, used.label("members"))
        .outerjoin(StripeSubscription, joined)
        .where(*conditions)
    )
    found = paged(
        session,
        statement,
        query,
        sortable=SORTABLE,
        default_sort="name",
        tiebreak=Organization.id,
        count=select(func.count()).select_from(Organization).outerjoin(StripeSubscription, joined).where(*conditions),
        scalars=False,
    )
    rows = [
        SubscriptionRow(
            organization_id=org.id,
            name=org.name,
            slug=org.slug,
            plan=OrgPlan(org.plan),
            subscription_id=org.stripe_subscription_id,
            status=status,
            quantity=quantity,
            members=members,
            seat_limit=org.seat_limit,
        )
        for org, status, quantity, members in found.rows
    ]
    return Page(rows=rows, total=found.total, offset=found.offset, limit=found.limit)
