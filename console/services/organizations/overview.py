"""What the organization page shows besides the organization itself: seats, members, engine keys,
assigned simulations, seat use over time and the audit trail. Each figure is computed in SQL."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import and_, func, or_, select, text
from sqlmodel import Session

from console.auth import Actor
from console.services import api_keys, audit, seats
from console.services.listing import ListQuery, Page, keyset, search_clause
from console.services.organizations.records import OrganizationView, deletion_blockers, row
from models import (
    ApiKey,
    AssignmentStatus,
    AuditAction,
    AuditEntity,
    AuditLogEntry,
    OrgMembership,
    Simulation,
    SimulationAssignment,
    User,
)
from models.base import utcnow
from models.enums import MembershipRole

MEMBERS_SHOWN = 20  # the page shows these; the People page lists them all
LISTED = 100  # keys and simulations shown on the page at most
SERIES_DAYS = 90


@dataclass(frozen=True)
class MemberLine:
    user_id: uuid.UUID
    name: str
    email: str
    role: MembershipRole
    department: str | None
    joined_at: datetime


@dataclass(frozen=True)
class KeyLine:
    id: uuid.UUID
    name: str
    key_prefix: str
    status: str
    last_used_at: datetime | None


@dataclass(frozen=True)
class SimulationLine:
    simulation_id: uuid.UUID
    title: str
    assignments: int
    completed: int


@dataclass(frozen=True)
class Overview:
    organization: OrganizationView
    seats: seats.SeatUse
    members: list[MemberLine]  # the first MEMBERS_SHOWN by name; `seats.used` counts them all
    api_keys: list[KeyLine]
    simulations: list[SimulationLine]
    seat_series: list[tuple[date, int]]  # members at the end of each of the last SERIES_DAYS days (UTC)
    delete_blockers: list[str]  # empty: it may be deleted


def overview(*, session: Session, actor: Actor, organization_id: uuid.UUID) -> Overview:
    """Everything the organization page shows about an organization the actor may read."""
    org = row(session, actor, organization_id)
    members = session.execute(
        select(User.id, User.name, User.email, OrgMembership.role, OrgMembership.department, OrgMembership.joined_at)
        .join(User, User.id == OrgMembership.user_id)
        .where(OrgMembership.organization_id == org.id)
        .order_by(User.name, User.id)
        .limit(MEMBERS_SHOWN)
    ).all()
    now = utcnow()
    keys = session.scalars(
        select(ApiKey)
        .where(ApiKey.organization_id == org.id, api_keys.readable(actor))
        .order_by(ApiKey.is_active.desc(), ApiKey.created_at.desc())
        .limit(LISTED)
    ).all()
    done = func.count().filter(SimulationAssignment.status == AssignmentStatus.completed)
    sims = session.execute(
        select(Simulation.id, Simulation.title, func.count(), done)
        .join(Simulation, Simulation.id == SimulationAssignment.simulation_id)
        .where(SimulationAssignment.organization_id == org.id)
        .group_by(Simulation.id, Simulation.title)
        .order_by(func.count().desc(), Simulation.title)
        .limit(LISTED)
    ).all()
    return Overview(
        organization=OrganizationView.of(org),
        seats=seats.use(session, org.id),
        members=[MemberLine(*m) for m in members],
        api_keys=[KeyLine(k.id, k.name, k.key_prefix, api_keys.status_of(k, now), k.last_used_at) for k in keys],
        simulations=[SimulationLine(*s) for s in sims],
        seat_series=seat_series(session, org.id, today=now.date()),
        delete_blockers=deletion_blockers(session, org.id),
    )


# Members at the end of each day: a membership counts from `joined_at`; one removed since counts
# from its `joined_at` (in the removal entry's `before`, or from always when the entry lacks it) to
# the removal entry's time. A running sum over the window, started from what was in before it.
_SERIES = text(
    """
    WITH changes AS (
        SELECT joined_at AS at, 1 AS delta FROM org_memberships WHERE organization_id = :org
        UNION ALL
        SELECT coalesce((before ->> 'joined_at')::timestamptz, '-infinity'), 1
          FROM audit_log WHERE organization_id = :org AND action = :removed
        UNION ALL
        SELECT created_at, -1 FROM audit_log WHERE organization_id = :org AND action = :removed
    ),
    days AS (
        SELECT generate_series(CAST(:first AS timestamp), CAST(:last AS timestamp), interval '1 day')::date AS day
    ),
    per_day AS (
        SELECT (at AT TIME ZONE 'UTC')::date AS day, sum(delta) AS delta
          FROM changes WHERE at >= CAST(:start AS timestamptz) GROUP BY 1
    )
    SELECT days.day,
           (SELECT coalesce(sum(delta), 0) FROM changes WHERE at < CAST(:start AS timestamptz))
           + coalesce(sum(per_day.delta) OVER (ORDER BY days.day), 0) AS members
      FROM days LEFT JOIN per_day USING (day)
     ORDER BY days.day
    """
)


def seat_series(session: Session, organization_id: uuid.UUID, *, today: date) -> list[tuple[date, int]]:
    """(day, members at its end) for the SERIES_DAYS days ending today (UTC)."""
    first = today - timedelta(days=SERIES_DAYS - 1)
    rows = session.execute(
        _SERIES,
        {
            "org": organization_id,
            "removed": AuditAction.membership_remove.value,
            "first": first,
            "last": today,
            "start": datetime.combine(first, datetime.min.time(), tzinfo=UTC),
        },
    ).all()
    return [(day, int(members)) for day, members in rows]


def history(*, session: Session, actor: Actor, organization_id: uuid.UUID, query: ListQuery) -> Page[AuditLogEntry]:
    """The organization's audit trail, newest first: entries about it and entries made in it (members,
    keys, assignments…). Starts from the audit log's own readable clause."""
    org = row(session, actor, organization_id)
    about = or_(
        AuditLogEntry.organization_id == org.id,
        and_(AuditLogEntry.entity_type == AuditEntity.organization.value, AuditLogEntry.entity_id == str(org.id)),
    )
    conditions = [audit.readable(actor), about]
    search = search_clause(query.search, AuditLogEntry.actor_label, AuditLogEntry.action, AuditLogEntry.comment)
    if search is not None:
        conditions.append(search)
    if action := query.choice("action", AuditAction):
        conditions.append(AuditLogEntry.action == action.value)
    return keyset(
        session,
        select(AuditLogEntry).where(*conditions),
        query,
        sortable=audit.SORTABLE,
        default_sort="created_at",
        default_descending=True,
        key=AuditLogEntry.id,
    )
