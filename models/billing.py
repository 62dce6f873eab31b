"""Stripe billing: the deliveries applied and what the console knows of each subscription.

- `StripeEvent`: one row per Stripe event applied (its `evt_…` id), written in the same transaction as
  its effect, so a delivery seen twice — even twice at once — changes nothing the second time.
- `StripeSubscription`: the newest state of one Stripe subscription applied, with the position of that
  state on the subscription's own timeline (the event's `created`, then a rank of its status, then a
  digest), so deliveries in any order end in the same state. It is also the row every delivery about
  that subscription locks, so two deliveries about one subscription take turns. The organization or
  person it pays for follows it (docs/billing.md).
"""

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from models.base import fk, jsonb, timestamp, uuid_pk


class StripeEvent(SQLModel, table=True):
    __tablename__ = "stripe_events"

    # Stripe's event id (`evt_…`): the same for every retry of one event.
    id: str = Field(primary_key=True, max_length=255)
    event_type: str = Field(max_length=100)
    object_id: str | None = Field(default=None, max_length=255)
    received_at: datetime = timestamp()


class StripeSubscription(SQLModel, table=True):
    __tablename__ = "stripe_subscriptions"

    id: str = Field(primary_key=True, max_length=255)  # `sub_…`
    customer_id: str | None = Field(default=None, max_length=255)
    # What it pays for: an organization's seats, or one person's Pro tier.
    organization_id: uuid.UUID | None = fk("organizations.id", nullable=True, ondelete="SET NULL", index=True)
    user_id: uuid.UUID | None = fk("users.id", nullable=True, ondelete="SET NULL", index=True)
    status: str | None = Field(default=None, max_length=40)
    plan_id: str | None = Field(default=None, max_length=255)
    quantity: int | None = Field(default=None)
    current_period_end: datetime | None = timestamp(nullable=True, default_now=False)
    # Where the applied state sits on the subscription's timeline: the event's `created` (in milliseconds;
    # Stripe's events give whole seconds) or when the console read it from Stripe,
    # the status's rank (a tie in the same second), a digest of the object (a tie still).
    applied_created: int | None = Field(default=None, sa_type=sa.BigInteger)
    applied_rank: int | None = Field(default=None)
    applied_digest: str | None = Field(default=None, max_length=64)
    created_at: datetime = timestamp()
    updated_at: datetime = timestamp(onupdate=True)


class BillingReconciliation(SQLModel, table=True):
    """One comparison of Stripe's subscriptions with the database (console/services/billing/reconcile.py):
    what differed, each as {kind, subscription, organization, stripe, console}. The billing page shows
    the newest."""

    __tablename__ = "billing_reconciliations"
    __table_args__ = (sa.Index("ix_billing_reconciliations_ran_at", "ran_at"),)

    id: uuid.UUID = uuid_pk()
    ran_at: datetime = timestamp()
    subscriptions_checked: int = Field(default=0)
    differences: list | None = jsonb()
    error: str | None = Field(default=None, max_length=500)
