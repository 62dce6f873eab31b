"""Counts for each role's dashboard, straight from the database and scoped like everything else.

Every figure reads what is live or recent — sessions in progress, the last 30 days — or a count kept
current by the database (assignments by status), through indexes made for it (migration 0005): the
dashboard costs the same after a year of play as after a month (bench/pages.py, docs/scale.md).
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import Date, Numeric, cast, func, select
from sqlmodel import Session

from console.auth import Actor, Permission
from console.services import play_sessions, seats, simulations
from models import (
    ApiKey,
    AssignmentCount,
    AssignmentStatus,
    GameEvent,
    Organization,
    PlaySession,
    SessionStatus,
    Simulation,
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

    scope = [play_sessions.readable(actor), play_sessions.real()]
    since = utcnow() - timedelta(days=30)
    out["sessions_in_progress"] = _count(
        session,
        select(func.count()).select_from(PlaySession).where(*scope, PlaySession.status == SessionStatus.in_progress),
    )
    # One pass over the recent completions, read from idx_sessions_completed_at alone (it carries the
    # organization, module and total): the cost follows the last 30 days, never the whole history.
    completed, average = session.execute(
        select(func.count(), func.round(func.avg(PlaySession.total_score).cast(Numeric), 1)).where(
            *scope, PlaySession.status == SessionStatus.completed, PlaySession.completed_at >= since
        )
    ).one()
    out["sessions_completed_30d"] = completed or 0
    out["average_total_score_30d"] = average
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
        # A day, not 30: the last day's events are a few adjacent block ranges of the BRIN index on
        # arrival; 30 days' are most of a month's table, read whatever the index (docs/scale.md).
        out["events_24h"] = _count(
            session,
            select(func.count()).select_from(GameEvent).where(GameEvent.received_at >= utcnow() - timedelta(days=1)),
        )
    if actor.can(Permission.manage_organization) and actor.organization_id:
        org = actor.organization_id
        # A seat is a membership (console/services/seats.py): the same count the member form checks.
        use = seats.use(session, org)
        out["members"], out["seat_limit"] = use.used, use.limit
        out["seats"] = use
        # Kept by PostgreSQL's triggers on every change (models.AssignmentCount): four rows, not a count of
        # every assignment the organization ever had.
        by_status = dict(
            session.execute(
                select(AssignmentCount.status, AssignmentCount.count).where(AssignmentCount.organization_id == org)
            ).all()
        )
        out["assignments_by_status"] = {s.value: by_status.get(s, 0) for s in AssignmentStatus}
    return out
