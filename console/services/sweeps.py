"""Periodic housekeeping: sessions nobody plays any more. (Overdue assignments: `assignments.mark_overdue`.)"""

from __future__ import annotations

import uuid
from datetime import timedelta

from sqlalchemy import text
from sqlmodel import Session

from console import live
from console.live import ChangeKind, SessionChange
from models.base import utcnow


def mark_abandoned(*, session: Session, idle: timedelta) -> list[uuid.UUID]:
    """In-progress sessions with no event received for `idle` (or none since they started) → abandoned.

    Open pages hear of each one (console/live) once the sweep's work commits."""
    cutoff = utcnow() - idle
    rows = session.execute(
        text(
            """
            UPDATE sessions AS s SET status = 'abandoned'
            FROM modules AS m
            WHERE m.id = s.module_id
              AND s.status = 'in_progress'
              AND COALESCE((SELECT max(e.received_at) FROM game_events AS e WHERE e.session_id = s.id), s.started_at)
                  < :cutoff
            RETURNING s.id, s.organization_id, m.simulation_id, s.module_id
            """
        ),
        {"cutoff": cutoff},
    ).all()
    for session_id, organization_id, simulation_id, module_id in rows:
        live.session_changed(
            session, SessionChange(session_id, organization_id, simulation_id, module_id, ChangeKind.abandoned)
        )
    return [row[0] for row in rows]
