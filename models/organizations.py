"""Organizations (enterprise customers) and who belongs to them."""

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from models.base import fk, text_array, timestamp, uuid_pk, version
from models.enums import MembershipRole, OrgPlan, pg_enum


class Organization(SQLModel, table=True):
    __tablename__ = "organizations"

    id: uuid.UUID = uuid_pk()
    name: str = Field(max_length=255)
    slug: str = Field(max_length=100, sa_column_kwargs={"unique": True})
    plan: OrgPlan = Field(sa_column=sa.Column(pg_enum(OrgPlan, "org_plan"), nullable=False))
    seat_limit: int | None = Field(default=None)
    stripe_subscription_id: str | None = Field(default=None, max_length=255)
    sso_enabled: bool = Field(default=False)
    sso_provider: str | None = Field(default=None, max_length=50)
    # What an OIDC sign-in through the organization's provider needs (the sign-in itself: the identity
    # issue). The client secret is stored encrypted and never shown again once saved.
    sso_issuer_url: str | None = Field(default=None, max_length=500)
    sso_client_id: str | None = Field(default=None, max_length=255)
    sso_client_secret_encrypted: str | None = Field(default=None, sa_type=sa.Text)
    sso_email_domains: list[str] = text_array()
    # Members must sign in through the provider: password sign-in is refused for them
    # (console/services/identity/sso.py, docs/identity.md).
    sso_required: bool = Field(default=False, sa_column_kwargs={"server_default": sa.false()})
    created_at: datetime = timestamp()
    updated_at: datetime = timestamp(onupdate=True)
    version: int = version()


class OrgMembership(SQLModel, table=True):
    __tablename__ = "org_memberships"
    __table_args__ = (
        sa.UniqueConstraint("user_id", "organization_id"),
        sa.Index("idx_org_memberships_org", "organization_id"),
        sa.Index("idx_org_memberships_user", "user_id"),
        # Departments are the memberships' own words: counted, renamed and merged per organization.
        sa.Index("ix_org_memberships_organization_id_department", "organization_id", "department"),
    )

    id: uuid.UUID = uuid_pk()
    user_id: uuid.UUID = fk("users.id", ondelete="CASCADE")
    organization_id: uuid.UUID = fk("organizations.id", ondelete="CASCADE")
    role: MembershipRole = Field(sa_column=sa.Column(pg_enum(MembershipRole, "membership_role"), nullable=False))
    department: str | None = Field(default=None, max_length=100)
    joined_at: datetime = timestamp()


class Invitation(SQLModel, table=True):
    """A one-time link that lets a member added by an admin set their password.

    The member (user row and membership) exists from the moment of the invitation, so its seat is
    taken then. Only the SHA-256 of the link's token is stored; the link is shown once.
    """

    __tablename__ = "invitations"

    id: uuid.UUID = uuid_pk()
    organization_id: uuid.UUID = fk("organizations.id", ondelete="CASCADE", index=True)
    user_id: uuid.UUID = fk("users.id", ondelete="CASCADE", index=True)
    token_hash: str = Field(max_length=64, sa_column_kwargs={"unique": True})
    created_by_id: uuid.UUID | None = fk("users.id", nullable=True, ondelete="SET NULL")
    created_at: datetime = timestamp()
    expires_at: datetime = timestamp(default_now=False)
    used_at: datetime | None = timestamp(nullable=True, default_now=False)
    revoked_at: datetime | None = timestamp(nullable=True, default_now=False)


class MemberImport(SQLModel, table=True):
    """A CSV of members uploaded for import: kept between its dry run and the admin's confirmation, so
    what is applied is exactly what was checked (and any console process can apply it)."""

    __tablename__ = "member_imports"

    id: uuid.UUID = uuid_pk()
    organization_id: uuid.UUID = fk("organizations.id", ondelete="CASCADE", index=True)
    created_by_id: uuid.UUID | None = fk("users.id", nullable=True, ondelete="SET NULL")
    filename: str = Field(max_length=255)
    content: str = Field(sa_type=sa.Text)
    created_at: datetime = timestamp()
    applied_at: datetime | None = timestamp(nullable=True, default_now=False)
