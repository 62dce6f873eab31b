"""People: the mirrored `users` row, and the console's own login data kept beside it.

`users` mirrors Clerk's record (the seed's words), so anything the console needs only for its own
login — password hashes, failed-attempt counters, login sessions — lives in tables of its own.
"""

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from models.base import fk, timestamp, uuid_pk, version
from models.enums import SubscriptionTier, UserRole, pg_enum


class User(SQLModel, table=True):
    __tablename__ = "users"
    __table_args__ = (
        # Engines name players by email, in any case: found through this, not a scan of every user.
        sa.Index("idx_users_email_lower", sa.text("lower(email)")),
        sa.Index("idx_users_org", "organization_id"),
    )

    id: uuid.UUID = uuid_pk()
    clerk_id: str | None = Field(default=None, max_length=255, sa_column_kwargs={"unique": True})
    email: str = Field(max_length=255)
    name: str = Field(max_length=255)
    role: UserRole = Field(sa_column=sa.Column(pg_enum(UserRole, "user_role"), nullable=False))
    organization_id: uuid.UUID | None = fk("organizations.id", nullable=True, ondelete="SET NULL")
    subscription_tier: SubscriptionTier = Field(
        default=SubscriptionTier.free,
        sa_column=sa.Column(pg_enum(SubscriptionTier, "subscription_tier"), nullable=False),
    )
    stripe_customer_id: str | None = Field(default=None, max_length=255)
    # Set when a platform admin deactivates the person: no sign-in, open pages stop, history stays.
    deactivated_at: datetime | None = timestamp(nullable=True, default_now=False)
    created_at: datetime = timestamp()
    updated_at: datetime = timestamp(onupdate=True)
    version: int = version()
    # What a search of people reads: name and email already lower-cased, so a "contains" search is a
    # plain LIKE. ILIKE lowered both columns of every row on every search — most of the time a search of
    # 50,000 users took (no trigram index: the embedded PostgreSQL ships without pg_trgm).
    search_text: str | None = Field(
        default=None,
        sa_column=sa.Column(sa.Text, sa.Computed("lower(name) || chr(10) || lower(email)", persisted=True)),
    )


class LocalCredential(SQLModel, table=True):
    """Email + password login for a user (OIDC identities will sit beside this, not in it)."""

    __tablename__ = "local_credentials"

    user_id: uuid.UUID = Field(
        sa_column=sa.Column(sa.Uuid(), sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    )
    # Lower-cased login name; unique so a login can never match two people.
    email: str = Field(max_length=255, sa_column_kwargs={"unique": True})
    password_hash: str = Field(max_length=255)
    failed_attempts: int = Field(default=0)
    locked_until: datetime | None = timestamp(nullable=True, default_now=False)
    password_changed_at: datetime = timestamp()
    last_login_at: datetime | None = timestamp(nullable=True, default_now=False)


class LoginSession(SQLModel, table=True):
    """A signed-in browser. The cookie carries only this row's random id; logout revokes it."""

    __tablename__ = "login_sessions"

    id: str = Field(primary_key=True, max_length=64)
    user_id: uuid.UUID = fk("users.id", ondelete="CASCADE", index=True)
    created_at: datetime = timestamp()
    expires_at: datetime = timestamp(default_now=False)
    revoked_at: datetime | None = timestamp(nullable=True, default_now=False)
    method: str = Field(default="password", max_length=20)
