"""Where people's identities come from: the Clerk user mirror and single sign-on links.

- `ClerkDelivery`: one row per Clerk (svix) delivery applied, written in the same transaction as its
  effect, so a delivery seen twice — even twice at once — changes nothing the second time.
- `ClerkUser`: what the mirror knows of one Clerk user id, whether or not a `users` row stands for it:
  the newest version of the Clerk object applied (by Clerk's own `updated_at`) and the tombstone of a
  deletion. It is also the row every delivery about that Clerk user locks, so two deliveries about the
  same person take turns.
- `SsoIdentity`: a person proven by an organization's OIDC provider, keyed by (issuer, subject) — the
  only pair OIDC promises is stable and unique. An email address is never enough to sign anyone in.

docs/identity.md has the rules and why.
"""

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from models.base import fk, timestamp, uuid_pk


class ClerkDelivery(SQLModel, table=True):
    __tablename__ = "clerk_deliveries"

    # The `svix-id` header: the same for every retry of one message (Svix's idempotency key).
    svix_id: str = Field(primary_key=True, max_length=255)
    event_type: str = Field(max_length=100)
    clerk_id: str | None = Field(default=None, max_length=255)
    received_at: datetime = timestamp()


class ClerkUser(SQLModel, table=True):
    __tablename__ = "clerk_users"

    clerk_id: str = Field(primary_key=True, max_length=255)
    # The console's person for this Clerk user, once one is created or linked.
    user_id: uuid.UUID | None = fk("users.id", nullable=True, ondelete="SET NULL", index=True)
    # Clerk's `updated_at` (milliseconds since the epoch) of the newest object applied, and a digest of
    # that object so two versions with the same timestamp still resolve the same way in any order.
    applied_updated_at: int | None = Field(default=None, sa_type=sa.BigInteger)
    applied_digest: str | None = Field(default=None, max_length=64)
    # The tombstone: set by user.deleted, never cleared (Clerk never reuses a user id).
    deleted_at: datetime | None = timestamp(nullable=True, default_now=False)
    # Why the last version could not be applied to a person (an email another account holds), if so.
    conflict: str | None = Field(default=None, max_length=255)
    created_at: datetime = timestamp()
    updated_at: datetime = timestamp(onupdate=True)


class SsoIdentity(SQLModel, table=True):
    __tablename__ = "sso_identities"
    __table_args__ = (sa.UniqueConstraint("issuer", "subject"),)

    id: uuid.UUID = uuid_pk()
    issuer: str = Field(max_length=500)
    subject: str = Field(max_length=255)
    user_id: uuid.UUID = fk("users.id", ondelete="CASCADE", index=True)
    # The organization whose provider proved it (its settings may later change issuer: the link stays
    # with the issuer that made it).
    organization_id: uuid.UUID | None = fk("organizations.id", nullable=True, ondelete="SET NULL")
    email_at_link: str | None = Field(default=None, max_length=255)
    created_at: datetime = timestamp()
    last_sign_in_at: datetime | None = timestamp(nullable=True, default_now=False)
