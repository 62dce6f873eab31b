"""Organizations (enterprise customers) and who belongs to them."""

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from models.base import fk, timestamp, uuid_pk
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
    created_at: datetime = timestamp()
    updated_at: datetime = timestamp(onupdate=True)


class OrgMembership(SQLModel, table=True):
    __tablename__ = "org_memberships"
    __table_args__ = (
        sa.UniqueConstraint("user_id", "organization_id"),
        sa.Index("idx_org_memberships_org", "organization_id"),
        sa.Index("idx_org_memberships_user", "user_id"),
    )

    id: uuid.UUID = uuid_pk()
    user_id: uuid.UUID = fk("users.id", ondelete="CASCADE")
    organization_id: uuid.UUID = fk("organizations.id", ondelete="CASCADE")
    role: MembershipRole = Field(sa_column=sa.Column(pg_enum(MembershipRole, "membership_role"), nullable=False))
    department: str | None = Field(default=None, max_length=100)
    joined_at: datetime = timestamp()
