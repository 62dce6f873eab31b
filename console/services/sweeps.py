"""Periodic housekeeping: sessions nobody plays any more, and assignments past their due date."""

from __future__ import annotations

import uuid
from datetime import date, timedelta

from sqlalchemy import text, update
from sqlmodel import Session

from models import SimulationAssignment
from models.base import utcnow
from models.enums import AssignmentStatus


def mark_abandoned(*, session: Session, idle: timedelta) -> list[uuid.UUID]:
    """In-progress sessions with no event received for `idle` (or none since they started) → abandoned."""
    cutoff = utcnow() - idle
    rows = session.execute(
        text(
            """
            UPDATE sessions AS s SET status = 'abandoned'
            WHERE s.status = 'in_progress'
              AND COALESCE((SELECT max(e.received_at) FROM game_events AS e WHERE e.session_id = s.id), s.started_at)
                  < :cutoff
            RETURNING s.id
            """
        ),
        {"cutoff": cutoff},
    )
    return list(rows.scalars())


def mark_overdue(*, session: Session, today: date | None = None) -> int:
    """Assignments not completed by their due date → overdue."""
    result = session.execute(
        update(SimulationAssignment)
        .where(
            SimulationAssignment.status.in_([AssignmentStatus.assigned, AssignmentStatus.in_progress]),
            SimulationAssignment.due_date < (today or utcnow().date()),
        )
        .values(status=AssignmentStatus.overdue)
    )
    return result.rowcount or 0
