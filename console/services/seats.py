"""Seats: how many members an organization holds against its `seat_limit`, and the one check every
path that adds members goes through (the member form, a CSV import, invitations, and SSO sign-in).

A seat is a participant's membership (invited participants who have not set their password yet
included: their membership exists from the invitation). The organization's admins run it and take
no seat, so an organization of 3 seats has room for 3 participants besides its admins. Removing a
participant, or making them an admin, frees the seat; making an admin a participant takes one.
`seat_limit` NULL means no limit.

Billing (docs/billing.md): an organization whose Stripe subscription is past due gets no new seats
until it is paid; one whose subscription has ended (canceled, unpaid, expired) takes no new members at
all. Members already in keep their seats and their access either way; removing members still works.
Organizations without a subscription (pilots set up by hand) are not held.

`claim` locks the organization's row (FOR NO KEY UPDATE, held to commit) before counting, so two
admins adding the last seat at the same moment cannot both succeed.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlmodel import Session

from console.errors import NotFound, ValidationFailed
from models import MembershipRole, Organization, OrgMembership, StripeSubscription

WARN_AT = 0.9  # the organization page and the dashboard warn from 90 % of the limit


class SeatsExhausted(ValidationFailed):
    """Adding these members would go past the seat limit. `details["seats"]` says by how many."""

    code = "seats_exhausted"


class BillingHold(SeatsExhausted):
    """The organization's subscription stops new members (past due, or ended)."""

    code = "billing_hold"


# What each subscription status means for new members (statuses not listed: nothing).
HOLDS = {
    "past_due": "The subscription's payment is overdue: no new seats until it is paid.",
    "unpaid": "The subscription is unpaid: no new members until it is renewed.",
    "canceled": "The subscription has ended: no new members until a new one starts.",
    "incomplete_expired": "The subscription never started: no new members until a new one starts.",
}


@dataclass(frozen=True)
class SeatUse:
    used: int
    limit: int | None

    @property
    def left(self) -> int | None:
        return None if self.limit is None else max(self.limit - self.used, 0)

    @property
    def share(self) -> float | None:
        """Used / limit (0–1+), None without a limit."""
        if self.limit is None:
            return None
        return self.used / self.limit if self.limit else 1.0

    @property
    def near_limit(self) -> bool:
        return self.share is not None and self.share >= WARN_AT

    def label(self) -> str:
        return f"{self.used} / {self.limit}" if self.limit is not None else f"{self.used} (no limit)"


def takes_seat(role: MembershipRole | str) -> bool:
    return MembershipRole(role) is MembershipRole.participant


def count_used(session: Session, organization_id: uuid.UUID) -> int:
    return session.scalar(
        select(func.count())
        .select_from(OrgMembership)
        .where(OrgMembership.organization_id == organization_id, OrgMembership.role == MembershipRole.participant)
    )


def use(session: Session, organization_id: uuid.UUID) -> SeatUse:
    """Seats used and the limit, as they are now (no lock: for display)."""
    limit = session.scalar(select(Organization.seat_limit).where(Organization.id == organization_id))
    return SeatUse(used=count_used(session, organization_id), limit=limit)


def missing_message(organization_name: str, use: SeatUse, wanted: int) -> str:
    missing = use.used + wanted - (use.limit or 0)
    return (
        f"{organization_name} has {use.left} of {use.limit} seats left and this needs {wanted}: "
        f"{missing} seat{'s' if missing != 1 else ''} missing."
    )


def claim(session: Session, organization_id: uuid.UUID, wanted: int) -> SeatUse:
    """Lock the organization and check that `wanted` more members fit; refuse with how many seats are
    missing. Returns the use before the new members. Call before inserting them, in the same unit of work."""
    org = session.scalar(select(Organization).where(Organization.id == organization_id).with_for_update(key_share=True))
    if org is None:
        raise NotFound("Organization not found.")
    current = SeatUse(used=count_used(session, organization_id), limit=org.seat_limit)
    if wanted > 0 and org.stripe_subscription_id:
        status = session.scalar(
            select(StripeSubscription.status).where(StripeSubscription.id == org.stripe_subscription_id)
        )
        if status in HOLDS:
            raise BillingHold(f"{org.name}: {HOLDS[status]}", details={"seats": HOLDS[status]})
    if wanted > 0 and current.limit is not None and current.used + wanted > current.limit:
        raise SeatsExhausted(
            missing_message(org.name, current, wanted),
            details={"seats": f"{current.used + wanted - current.limit} missing"},
        )
    return current
