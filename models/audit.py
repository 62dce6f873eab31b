"""The audit log: who changed what, in which organization, from what to what, and when."""

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from models.base import fk, jsonb, timestamp, uuid_pk


class AuditLogEntry(SQLModel, table=True):
    __tablename__ = "audit_log"
    __table_args__ = (
        sa.Index("ix_audit_log_entity", "entity_type", "entity_id"),
        sa.Index("ix_audit_log_organization_id_created_at", "organization_id", "created_at"),
        sa.Index("ix_audit_log_created_at", "created_at"),
    )

    id: uuid.UUID = uuid_pk()
    # The actor may be deleted later; the label keeps the entry readable.
    actor_id: uuid.UUID | None = fk("users.id", nullable=True, ondelete="SET NULL")
    actor_label: str = Field(max_length=255)
    action: str = Field(max_length=100)
    entity_type: str = Field(max_length=50)
    entity_id: str | None = Field(default=None, max_length=64)
    organization_id: uuid.UUID | None = fk("organizations.id", nullable=True, ondelete="SET NULL")
    before: dict | None = jsonb()
    after: dict | None = jsonb()
    comment: str | None = Field(default=None, sa_type=sa.Text)
    created_at: datetime = timestamp()
