"""Completing a play session: duration on the engine's clock, final scores, percentile, assignments."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select, text
from sqlmodel import Session

from console.errors import ValidationFailed
from console.services import assignments, cohorts, scoring
from models import PlaySession, Simulation
from models.enums import SessionStatus

# ---------------------------------------------------------------------------------------- completion


def dimension_values(config: scoring.ScoringConfig, events: Sequence[tuple[str, dict]]) -> dict[str, float]:
    """Each dimension's value after a session's events (in time order); see the module docstring.

    Keys that are not dimensions are skipped: the engine API refuses them (ingest.dimensions.dimension_refusal),
    so only events stored before it did, or under an older scoring config, can carry them."""
    bounds = {d.key: (d.min, d.max) for d in config.dimensions}
    values = {d.key: (d.min + d.max) / 2 for d in config.dimensions}
    for event_type, data in events:
        if event_type == "decision":
            for dim, delta in (data.get("impacts") or {}).items():
                if dim in bounds:
                    low, high = bounds[dim]
                    values[dim] = min(max(values[dim] + float(delta), low), high)
        elif event_type in ("score_update", "completion"):
            for dim, value in (data.get("scores") or {}).items():
                if dim in bounds:
                    values[dim] = float(value)
    return values


def complete_session(
    *, session: Session, play: PlaySession, simulation_id: uuid.UUID, completed_at: datetime
) -> PlaySession:
    """Close a session: completed_at, duration on the engine's clock, final scores, assignment progress."""
    rows = session.execute(
        text(
            "SELECT CAST(event_type AS text) AS type, event_data, timestamp FROM game_events "
            "WHERE session_id = :sid ORDER BY timestamp, received_at"
        ),
        {"sid": play.id},
    ).all()
    simulation = session.get(Simulation, simulation_id)
    final_scores: dict[str, float] | None = None
    if simulation is not None and simulation.scoring_config:
        try:
            config = scoring.parse_config(simulation.scoring_config)
        except ValidationFailed:
            config = None
        if config is not None:
            values = dimension_values(config, [(r.type, r.event_data) for r in rows])
            final_scores = scoring.compute_final_scores(config, values)
            final_scores["percentile"] = cohorts.percentile(
                session=session, module_id=play.module_id, total=final_scores["total"], exclude=play.id
            )
    started = play.started_at
    if rows and rows[0].timestamp < started:
        started = rows[0].timestamp
    play.status = SessionStatus.completed
    play.completed_at = completed_at
    play.total_duration_seconds = max(0, int((completed_at - started).total_seconds()))
    play.final_scores = final_scores
    session.add(play)
    session.flush()
    if not play.is_test:  # a test session's completion changes no assignment
        assignments.session_completed(
            session=session, user_id=play.user_id, simulation_id=simulation_id, organization_id=play.organization_id
        )
    return play


def sessions_awaiting_debrief(*, session: Session, limit: int = 100) -> list[uuid.UUID]:
    """Completed sessions whose debrief was never written (a lost background job): for the sweep."""
    return list(
        session.scalars(
            select(PlaySession.id)
            .where(PlaySession.status == SessionStatus.completed, PlaySession.debrief_generated_at.is_(None))
            .order_by(PlaySession.completed_at)
            .limit(limit)
        )
    )
