"""Periodic housekeeping: sessions nobody plays any more. (Overdue assignments: `assignments.mark_overdue`.)"""

from __future__ import annotations

import uuid
from datetime import timedelta

from sqlalchemy import text
from sqlmodel import Session

from models.base import utcnow


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
