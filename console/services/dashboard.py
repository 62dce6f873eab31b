"""Counts for each role's dashboard, straight from the database and scoped like everything else."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import Date, Numeric, cast, func, select
from sqlmodel import Session

from console.auth import Actor, Permission
from console.services import play_sessions, simulations
from models import (
    ApiKey,
    AssignmentStatus,
    GameEvent,
    Organization,
    PlaySession,
    SessionStatus,
    Simulation,
    SimulationAssignment,
    User,
)
from models.base import utcnow


def _count(session: Session, stmt) -> int:  # noqa: ANN001
    return session.scalar(stmt) or 0


def summary(*, session: Session, actor: Actor) -> dict:
    """The figures a role's dashboard shows. Each key is a tile; `sessions_per_day` feeds the chart."""
    actor.require(Permission.view_dashboard)
    out: dict = {}
    sims_by_status = dict(
        session.execute(
            select(Simulation.status, func.count()).where(simulations.readable(actor)).group_by(Simulation.status)
        ).all()
    )
    out["simulations_by_status"] = {status.value: count for status, count in sims_by_status.items()}

    scope = [play_sessions.readable(actor)]
    since = utcnow() - timedelta(days=30)
    out["sessions_in_progress"] = _count(
        session,
        select(func.count()).select_from(PlaySession).where(*scope, PlaySession.status == SessionStatus.in_progress),
    )
    out["sessions_completed_30d"] = _count(
        session,
        select(func.count())
        .select_from(PlaySession)
        .where(*scope, PlaySession.status == SessionStatus.completed, PlaySession.completed_at >= since),
    )
    out["average_total_score"] = session.scalar(
        select(func.round(func.avg(PlaySession.final_scores["total"].as_float()).cast(Numeric), 1)).where(
            *scope, PlaySession.status == SessionStatus.completed
        )
    )
    day = cast(PlaySession.started_at, Date)
    out["sessions_per_day"] = [
        (d.isoformat(), n)
        for d, n in session.execute(
            select(day, func.count()).where(*scope, PlaySession.started_at >= since).group_by(day).order_by(day)
        ).all()
    ]
    if actor.can(Permission.manage_platform):
        out["organizations"] = _count(session, select(func.count()).select_from(Organization))
        out["users"] = _count(session, select(func.count()).select_from(User))
        out["active_api_keys"] = _count(
            session, select(func.count()).select_from(ApiKey).where(ApiKey.is_active.is_(True))
        )
        out["events_30d"] = _count(
            session, select(func.count()).select_from(GameEvent).where(GameEvent.received_at >= since)
        )
    if actor.can(Permission.manage_organization) and actor.organization_id:
        org = actor.organization_id
        out["members"] = _count(session, select(func.count()).select_from(User).where(User.organization_id == org))
        out["seat_limit"] = session.scalar(select(Organization.seat_limit).where(Organization.id == org))
        by_status = dict(
            session.execute(
                select(SimulationAssignment.status, func.count())
                .where(SimulationAssignment.organization_id == org)
                .group_by(SimulationAssignment.status)
            ).all()
        )
        out["assignments_by_status"] = {s.value: by_status.get(s, 0) for s in AssignmentStatus}
    return out
