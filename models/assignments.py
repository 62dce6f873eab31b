"""Simulations an enterprise admin assigns to the participants of their organization."""

import uuid
from datetime import date, datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from models.base import fk, timestamp, uuid_pk
from models.enums import AssignmentStatus, pg_enum


class SimulationAssignment(SQLModel, table=True):
    __tablename__ = "simulation_assignments"
    __table_args__ = (
        sa.Index("idx_assignments_org", "organization_id"),
        sa.Index("idx_assignments_user", "assigned_to_user_id"),
    )

    id: uuid.UUID = uuid_pk()
    organization_id: uuid.UUID = fk("organizations.id", ondelete="CASCADE")
    assigned_by_user_id: uuid.UUID | None = fk("users.id", nullable=True, ondelete="SET NULL")
    assigned_to_user_id: uuid.UUID = fk("users.id", ondelete="CASCADE")
    simulation_id: uuid.UUID = fk("simulations.id", ondelete="CASCADE")
    due_date: date | None = Field(default=None)
    status: AssignmentStatus = Field(
        default=AssignmentStatus.assigned,
        sa_column=sa.Column(pg_enum(AssignmentStatus, "assignment_status"), nullable=False),
    )
    assigned_at: datetime = timestamp()
