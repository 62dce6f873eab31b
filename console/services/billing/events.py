"""Stripe's deliveries applied: subscriptions mirrored onto the organization or person they pay for.

The web boundary (console/billing_routes.py) has already checked the Stripe-Signature on the raw body;
this module applies one event inside the boundary's unit of work. The rules (docs/billing.md says why):

1. **An event applies once.** Its id (`evt_…`) is inserted into `stripe_events` (ON CONFLICT DO
   NOTHING) in the same transaction as the effect: a retry finds the row; a concurrent copy waits on
   the key for the first to commit, then finds it (if the first rolls back, the copy applies it).
2. **Any order converges.** Stripe promises no order. A subscription event carries the whole
   subscription; its state is applied only if it sits later on the subscription's own timeline than the
   state applied before: the event's `created` (Stripe gives seconds; kept in milliseconds, so a state
   the console read from Stripe itself — an admin's change, a sync — sits at the moment it was read),
   then the status's rank (two events in one second), then a digest of the object. `canceled` is
   final (Stripe never revives a canceled subscription): once applied, only a later canceled state
   replaces it. Deliveries about one subscription lock its `stripe_subscriptions` row and take turns.
3. **The customer follows the subscription, not the event.** After a state is applied, the organization
   (`metadata.organization_id`) gets plan and seat_limit (= quantity) from that state; a person (by
   `metadata.user_id` or their `stripe_customer_id`) gets subscription_tier from it. Audited as the one
   actor "Stripe webhook".
4. **Slow work is queued.** Invoice events carry no subscription state: one that names a subscription
   queues `billing_sync` (console/jobs.py), which reads the subscription from Stripe and applies it at
   the time it was read.
"""

from __future__ import annotations

import hashlib
import json
import logging
import uuid
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlmodel import Session

from console.auth import Actor, ActorKind
from console.errors import PermissionDenied, ValidationFailed
from console.services import audit, deliveries, versions
from console.services.billing import plans
from models import AuditAction, Organization, StripeEvent, StripeSubscription, User
from models.audit import AuditEntity
from models.enums import SubscriptionTier

log = logging.getLogger(__name__)

WEBHOOK_ACTOR = Actor.webhook("Stripe webhook", frozenset())
# The queued sync and reconciliation apply what they read from Stripe as the console itself.
JOB_ACTOR = Actor.system("Stripe sync")
SUBSCRIPTION_EVENTS = frozenset(
    {
        "customer.subscription.created",
        "customer.subscription.updated",
        "customer.subscription.deleted",
        "customer.subscription.paused",
        "customer.subscription.resumed",
    }
)
INVOICE_EVENTS = frozenset({"invoice.paid", "invoice.payment_succeeded", "invoice.payment_failed"})
# Two states in the same second: the one further along wins. canceled is also final (rule 2).
STATUS_RANK = {
    "incomplete": 0,
    "trialing": 1,
    "active": 2,
    "paused": 3,
    "past_due": 4,
    "unpaid": 5,
    "incomplete_expired": 6,
    "canceled": 7,
}
# What the organization's audit entry keeps of a billing change.
ORG_FIELDS = ("plan", "seat_limit", "stripe_subscription_id")


@dataclass(frozen=True)
class Outcome:
    """What a delivery did: applied, duplicate (seen before), stale (an older state), queued, ignored."""

    status: str
    object_id: str | None = None


@dataclass(frozen=True)
class SubscriptionState:
    """The parts of a Stripe subscription the console keeps."""

    id: str
    customer_id: str | None
    status: str
    price_id: str | None
    item_id: str | None
    quantity: int | None
    current_period_end: int | None
    organization_id: uuid.UUID | None
    user_id: uuid.UUID | None
    digest: str

    @classmethod
    def of(cls, obj: dict[str, Any]) -> SubscriptionState:
        try:
            sub_id = obj["id"]
            status = obj["status"]
            if not isinstance(sub_id, str) or not sub_id or len(sub_id) > 255 or status not in STATUS_RANK:
                raise ValueError
            items = ((obj.get("items") or {}).get("data")) or []
            item = items[0] if items else {}
            price = item.get("price") or item.get("plan") or obj.get("plan") or {}
            quantity = item.get("quantity", obj.get("quantity"))
            customer = obj.get("customer")
            if isinstance(customer, dict):
                customer = customer.get("id")
            metadata = obj.get("metadata") or {}
            period_end = item.get("current_period_end") or obj.get("current_period_end")
            return cls(
                id=sub_id,
                customer_id=customer if isinstance(customer, str) else None,
                status=status,
                price_id=price.get("id") if isinstance(price, dict) else None,
                item_id=item.get("id"),
                quantity=int(quantity) if quantity is not None else None,
                current_period_end=int(period_end) if period_end else None,
                organization_id=_uuid(metadata.get("organization_id")),
                user_id=_uuid(metadata.get("user_id")),
                digest=hashlib.sha256(json.dumps(obj, sort_keys=True, default=str).encode()).hexdigest(),
            )
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise ValidationFailed("The Stripe event is not a subscription we can read.") from exc


def _uuid(value: Any) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value)) if value else None
    except ValueError:
        return None


def _require_mirror(actor: Actor) -> None:
    if actor.kind not in (ActorKind.webhook, ActorKind.system):
        raise PermissionDenied("Only Stripe's webhook and the console's own jobs apply Stripe's state.")


def apply_event(*, session: Session, actor: Actor, event: dict) -> Outcome:
    """Apply one verified Stripe event (the parsed JSON body) once. Never commits."""
    _require_mirror(actor)
    event_id, event_type = event.get("id"), event.get("type")
    created = event.get("created")
    obj = (event.get("data") or {}).get("object") if isinstance(event.get("data"), dict) else None
    if not (isinstance(event_id, str) and 0 < len(event_id) <= 255 and isinstance(event_type, str)):
        raise ValidationFailed("The Stripe event has no id or type.")
    if not isinstance(created, int) or isinstance(created, bool) or not isinstance(obj, dict):
        raise ValidationFailed("The Stripe event has no created time or object.")
    state = SubscriptionState.of(obj) if event_type in SUBSCRIPTION_EVENTS else None
    if state is not None and event_type == "customer.subscription.deleted":
        state = replace(state, status="canceled")  # a deletion is the end, whatever else the object says
    object_id = obj.get("id") if isinstance(obj.get("id"), str) else None
    if not deliveries.first_time(
        session,
        StripeEvent,
        key={"id": event_id},
        event_type=event_type[:100],
        object_id=(object_id or "")[:255] or None,
    ):
        return Outcome("duplicate", object_id)
    if state is not None:
        applied = apply_state(session=session, actor=actor, state=state, at=created * 1000)
        return Outcome("applied" if applied else "stale", state.id)
    if event_type in INVOICE_EVENTS and isinstance(obj.get("subscription"), str):
        from console import jobs

        jobs.defer(session, jobs.BILLING_SYNC, subscription_id=obj["subscription"][:255])
        return Outcome("queued", obj["subscription"])
    return Outcome("ignored", object_id)


def _later(row: StripeSubscription, state: SubscriptionState, at: int) -> bool:
    if row.applied_created is None:
        return True
    if row.status == "canceled" and state.status != "canceled":
        return False  # final: nothing revives a canceled subscription
    if state.status == "canceled" and row.status != "canceled":
        return True
    return (at, STATUS_RANK[state.status], state.digest) > (row.applied_created, row.applied_rank, row.applied_digest)


def apply_state(*, session: Session, actor: Actor, state: SubscriptionState, at: int) -> bool:
    """Apply a subscription's state as of `at` (milliseconds since the epoch) if it is later than the one
    applied; then bring its organization or person in line. False: an older state, nothing changed."""
    _require_mirror(actor)
    return record_state(
        session=session, actor=actor, state=state, at=at, action=AuditAction.organization_billing_update
    )


def record_state(
    *, session: Session, actor: Actor, state: SubscriptionState, at: int, action: AuditAction, comment: str = ""
) -> bool:
    """apply_state for any caller that has its own right to it (billing/subscriptions.py: an admin's change
    read back from Stripe's answer); the organization's entry is `action`, named after `actor`."""
    row = deliveries.locked(session, StripeSubscription, key={"id": state.id})
    if not _later(row, state, at):
        return False
    row.customer_id = state.customer_id or row.customer_id
    row.status = state.status
    row.plan_id = state.price_id
    row.quantity = state.quantity
    row.current_period_end = datetime.fromtimestamp(state.current_period_end, UTC) if state.current_period_end else None
    row.applied_created, row.applied_rank, row.applied_digest = at, STATUS_RANK[state.status], state.digest
    if state.organization_id is not None and session.get(Organization, state.organization_id) is not None:
        row.organization_id = state.organization_id
    elif row.organization_id is None:
        # Made in Stripe without our metadata, but linked here by id (an admin, or an earlier import).
        linked = select(Organization.id).where(Organization.stripe_subscription_id == row.id)
        row.organization_id = session.scalar(linked)
    if row.organization_id is None and row.user_id is None:
        row.user_id = _person_of(session, state)
    session.flush()
    if row.organization_id is not None:
        follow_organization(session=session, actor=actor, row=row, action=action, comment=comment)
    elif row.user_id is not None:
        _follow_person(session, actor, row)
    return True


def _person_of(session: Session, state: SubscriptionState) -> uuid.UUID | None:
    if state.user_id is not None and session.get(User, state.user_id) is not None:
        return state.user_id
    if state.customer_id:
        return session.scalar(select(User.id).where(User.stripe_customer_id == state.customer_id).limit(1))
    return None


def follow_organization(
    *,
    session: Session,
    actor: Actor,
    row: StripeSubscription,
    action: AuditAction = AuditAction.organization_billing_update,
    comment: str = "",
) -> None:
    """Bring the organization in line with its subscription's applied state (audited if it changed)."""
    # FOR NO KEY UPDATE, as seats.claim takes it: members joining (KEY SHARE on the row) are not blocked.
    org = session.scalar(
        select(Organization).where(Organization.id == row.organization_id).with_for_update(key_share=True)
    )
    if org is None:
        return
    if org.stripe_subscription_id not in (None, row.id):
        current = session.get(StripeSubscription, org.stripe_subscription_id)
        if (current is not None and current.status != "canceled") or row.status == "canceled":
            # Another live subscription pays for it: this one is kept, and reconciliation shows both.
            return
    before = {k: _plain(getattr(org, k)) for k in ORG_FIELDS}
    org.stripe_subscription_id = row.id
    if (plan := plans.org_plan_of(row.plan_id)) is not None:
        org.plan = plan
    if row.quantity is not None:
        org.seat_limit = row.quantity
    after = {k: _plain(getattr(org, k)) for k in ORG_FIELDS}
    if before != after:
        versions.bump(org)  # an editor holding the old version is told who changed it
        audit.record(
            session=session,
            actor=actor,
            action=action,
            subject=org,
            organization_id=org.id,
            before=before,
            after=after,
            comment=comment or f"from Stripe: subscription {row.id} {row.status}",
        )


def _follow_person(session: Session, actor: Actor, row: StripeSubscription) -> None:
    user = session.scalar(select(User).where(User.id == row.user_id).with_for_update())
    if user is None or user.subscription_tier is SubscriptionTier.enterprise:
        return  # an organization's member: their access comes from the organization
    tier = plans.tier_of(row.plan_id, row.status)
    if user.stripe_customer_id is None and row.customer_id:
        user.stripe_customer_id = row.customer_id
    if user.subscription_tier == tier:
        return
    audit.record(
        session=session,
        actor=actor,
        action=AuditAction.user_subscription_update,
        subject=(AuditEntity.user, user.id),
        before={"subscription_tier": _plain(user.subscription_tier)},
        after={"subscription_tier": tier.value},
        comment=f"from Stripe: subscription {row.id} {row.status}",
    )
    user.subscription_tier = tier


def _plain(value: Any) -> Any:
    return value.value if hasattr(value, "value") else value
