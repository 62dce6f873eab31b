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
        sa.Index("idx_assignments_assigned_by", "assigned_by_user_id"),  # a user's deletion sets it NULL
        # The open ones by due date: the overdue sweep reads only these.
        sa.Index(
            "idx_assignments_open_due",
            "due_date",
            postgresql_where=sa.text("status IN ('assigned', 'in_progress')"),
        ),
        # A person holds at most one open assignment of a simulation in an organization: assigning
        # again reports the one they have; once it is completed, a new one can be made (re-assignment).
        # Per organization: what another organization assigned them is none of this one's business.
        sa.Index(
            "uq_assignments_open",
            "organization_id",
            "assigned_to_user_id",
            "simulation_id",
            unique=True,
            postgresql_where=sa.text("status <> 'completed'"),
        ),
        # An organization's assignments of a simulation (progress matrix, reports, funnel), and of a
        # period (reports open on the last 30 days: a range of the index, however long the history).
        sa.Index("idx_assignments_org_simulation", "organization_id", "simulation_id", "assigned_at"),
        sa.Index("idx_assignments_org_assigned", "organization_id", "assigned_at"),
        # The assignments list in its default order (soonest due, then id): the first and last pages
        # are the two ends of this index, never a sort of every assignment.
        sa.Index("idx_assignments_org_due", "organization_id", "due_date", "id"),
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
    # When the first session counted for it started, and when it was completed (its lateness is
    # completed_at's date against due_date). Set by console.services.assignments only.
    started_at: datetime | None = timestamp(nullable=True, default_now=False)
    completed_at: datetime | None = timestamp(nullable=True, default_now=False)
    # Its result, fixed when it completes: the mean of the totals of the sessions that completed each
    # published module (the latest of each), and whether that reaches the simulation's pass mark.
    score: float | None = Field(default=None)
    passed: bool | None = Field(default=None)


class AssignmentCount(SQLModel, table=True):
    """How many of an organization's assignments are in each status, kept by PostgreSQL itself.

    Statement-level triggers on `simulation_assignments` (migration 0005) add and subtract every
    insert, status change and deletion — COPY, bulk sweeps and cascades included — in the same
    transaction, so the dashboard reads a handful of rows instead of counting an organization's
    whole history, and the figures can never drift from a recount.
    """

    __tablename__ = "assignment_counts"

    organization_id: uuid.UUID = Field(
        sa_column=sa.Column(sa.Uuid(), sa.ForeignKey("organizations.id", ondelete="CASCADE"), primary_key=True)
    )
    status: AssignmentStatus = Field(
        sa_column=sa.Column(pg_enum(AssignmentStatus, "assignment_status"), primary_key=True)
    )
    count: int = Field(default=0)
