"""Following assignments: the list of an organization's assignments (`/assignments`), with the
filters the progress matrix, reports and exports share (`conditions`)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import ColumnElement, Select, and_, false, func, select, true
from sqlmodel import Session

from console.auth import Actor, Permission
from console.errors import ValidationFailed
from console.services.assignments import status as rules
from console.services.listing import ListQuery, Page, lowered_search_clause, paged
from models import AssignmentCount, Organization, OrgMembership, Simulation, SimulationAssignment, User
from models.enums import AssignmentStatus

NO_DEPARTMENT = "-"
DUE_WINDOWS = {
    "overdue": "Past due",
    "week": "Due within 7 days",
    "month": "Due within 30 days",
    "none": "No due date",
}
# Assigned within the last N days (`assigned` filter). Reports open on the last 30 days: what an
# admin follows is recent work, and a report over a window costs the same after years of history.
ASSIGNED_PERIODS = {
    "30": "Last 30 days",
    "90": "Last 90 days",
    "365": "Last 12 months",
    "all": "All time",
}
RECENT_PERIODS = {key: label for key, label in ASSIGNED_PERIODS.items() if key != "all"}  # lists: "Any" is all


def readable(actor: Actor) -> ColumnElement[bool]:
    """Assignments an admin may follow: every one for platform admins, their organization's for
    enterprise admins, none for anyone else (participants read their own through `mine`)."""
    if actor.can(Permission.manage_platform):
        return true()
    if actor.can(Permission.manage_organization) and actor.organization_id is not None:
        return SimulationAssignment.organization_id == actor.organization_id
    return false()


@dataclass
class AssignmentRow:
    id: uuid.UUID
    organization_id: uuid.UUID
    organization_name: str
    user_id: uuid.UUID
    name: str
    email: str
    department: str | None
    simulation_id: uuid.UUID
    simulation_title: str
    status: AssignmentStatus
    due_date: date | None
    days_late: int
    assigned_at: datetime
    started_at: datetime | None
    completed_at: datetime | None
    score: float | None = None
    passed: bool | None = None


def joined(statement: Select) -> Select:
    """The tables every view of assignments reads beside them: the person, their membership (for
    the department; outer, since a person removed from the organization keeps their assignments'
    history) and the simulation."""
    return (
        statement.join(User, User.id == SimulationAssignment.assigned_to_user_id)
        .outerjoin(
            OrgMembership,
            and_(
                OrgMembership.user_id == SimulationAssignment.assigned_to_user_id,
                OrgMembership.organization_id == SimulationAssignment.organization_id,
            ),
        )
        .join(Simulation, Simulation.id == SimulationAssignment.simulation_id)
    )


def conditions(actor: Actor, query: ListQuery, *, on: date | None = None) -> list[ColumnElement[bool]]:
    """The WHERE of a filtered view, in the viewer's scope. Filters: `organization_id`,
    `simulation_id`, `user_id`, `status` (as of today), `department` (NO_DEPARTMENT for none), `due`
    (a DUE_WINDOWS key), `assigned` (an ASSIGNED_PERIODS key: assigned within the last N days, as of
    the day's start in UTC); search: the person's name or email. For statements built with `joined`."""
    return [*assignment_conditions(actor, query, on=on), *person_conditions(query)]


def assignment_conditions(actor: Actor, query: ListQuery, *, on: date | None = None) -> list[ColumnElement[bool]]:
    """The part of `conditions` on `simulation_assignments` alone (scope included)."""
    on = on or rules.today()
    where = [readable(actor)]
    if organization_id := query.uuid("organization_id"):
        where.append(SimulationAssignment.organization_id == organization_id)
    if simulation_id := query.uuid("simulation_id"):
        where.append(SimulationAssignment.simulation_id == simulation_id)
    if user_id := query.uuid("user_id"):
        where.append(SimulationAssignment.assigned_to_user_id == user_id)
    if status := query.choice("status", AssignmentStatus):
        where.append(rules.status_now(on) == status)
    if due := query.text("due"):
        if due not in DUE_WINDOWS:
            raise ValidationFailed(f"Unknown due window “{due}”.", details={"due": ", ".join(DUE_WINDOWS)})
        open_ = SimulationAssignment.status != AssignmentStatus.completed
        where.append(
            {
                "overdue": and_(open_, SimulationAssignment.due_date < on),
                "week": and_(open_, SimulationAssignment.due_date.between(on, on + timedelta(days=7))),
                "month": and_(open_, SimulationAssignment.due_date.between(on, on + timedelta(days=30))),
                "none": SimulationAssignment.due_date.is_(None),
            }[due]
        )
    if (period := query.text("assigned")) and period != "all":
        if period not in ASSIGNED_PERIODS:
            raise ValidationFailed(f"Unknown period “{period}”.", details={"assigned": ", ".join(ASSIGNED_PERIODS)})
        since = datetime.combine(on - timedelta(days=int(period)), time.min, UTC)
        where.append(SimulationAssignment.assigned_at >= since)
    return where


def person_conditions(query: ListQuery) -> list[ColumnElement[bool]]:
    """The part of `conditions` on the person: their department (`org_memberships`) and the search
    (`users`)."""
    where = []
    if department := query.text("department", max_length=100):
        where.append(
            OrgMembership.department.is_(None)
            if department == NO_DEPARTMENT
            else OrgMembership.department == department
        )
    if (search := lowered_search_clause(query.search, User.search_text)) is not None:
        where.append(search)
    return where


def sortable(now: ColumnElement) -> dict:
    """The list's orders, by name (exports read in the order the list showed)."""
    return {
        "name": User.name,
        "simulation": Simulation.title,
        "department": OrgMembership.department,
        "status": now,
        "due_date": SimulationAssignment.due_date,
        "assigned_at": SimulationAssignment.assigned_at,
        "completed_at": SimulationAssignment.completed_at,
    }


def counted(actor: Actor, query: ListQuery, *, on: date | None = None) -> Select:
    """How many assignments a filtered view holds, read the cheapest way that is still exact: with no
    filter, from the counts PostgreSQL keeps per organization and status (`assignment_counts`, kept by
    triggers in the same transaction, so never stale); with filters on assignments alone, from
    `simulation_assignments` without joining anything; with a department or a search, joined to the
    membership and the person those read."""
    named = {name for name, value in query.filters.items() if value}
    if not named - {"organization_id"} and lowered_search_clause(query.search, User.search_text) is None:
        assignment_conditions(actor, query, on=on)  # the same checks of the filters' values
        where = []
        if not actor.can(Permission.manage_platform):
            where.append(
                AssignmentCount.organization_id == actor.organization_id
                if actor.can(Permission.manage_organization) and actor.organization_id is not None
                else false()
            )
        if organization_id := query.uuid("organization_id"):
            where.append(AssignmentCount.organization_id == organization_id)
        return select(func.coalesce(func.sum(AssignmentCount.count), 0)).where(*where)
    return filtered(select(func.count()).select_from(SimulationAssignment), actor, query, on=on)


def filtered(
    statement: Select, actor: Actor, query: ListQuery, *, on: date | None = None, person: bool = False
) -> Select:
    """`statement` (over `simulation_assignments`) with the view's filters in the viewer's scope, joined
    to the person and their membership only when a filter reads them or the caller does (`person`):
    a figure over thousands of assignments then never looks up each one's person for nothing."""
    wanted = person_conditions(query)
    if lowered_search_clause(query.search, User.search_text) is not None:
        statement = statement.join(User, User.id == SimulationAssignment.assigned_to_user_id)
    if wanted or person:
        statement = statement.outerjoin(
            OrgMembership,
            and_(
                OrgMembership.user_id == SimulationAssignment.assigned_to_user_id,
                OrgMembership.organization_id == SimulationAssignment.organization_id,
            ),
        )
    return statement.where(*assignment_conditions(actor, query, on=on), *wanted)


SORTABLE = ("name", "simulation", "department", "status", "due_date", "assigned_at", "completed_at")


def list_(*, session: Session, actor: Actor, query: ListQuery) -> Page[AssignmentRow]:
    """A page of assignments, soonest due first unless sorted otherwise."""
    actor.require(Permission.manage_organization)
    now = rules.status_now()
    statement = joined(
        select(
            SimulationAssignment,
            User.name,
            User.email,
            OrgMembership.department,
            Simulation.title,
            now,
            Organization.name,
        ).join(Organization, Organization.id == SimulationAssignment.organization_id)
    ).where(*conditions(actor, query))
    count = counted(actor, query)
    found = paged(
        session,
        statement,
        query,
        sortable=sortable(now),
        default_sort="due_date",
        tiebreak=SimulationAssignment.id,
        count=count,
        scalars=False,
    )
    return Page(
        rows=[
            AssignmentRow(
                id=a.id,
                organization_id=a.organization_id,
                organization_name=org_name,
                user_id=a.assigned_to_user_id,
                name=name,
                email=email,
                department=department,
                simulation_id=a.simulation_id,
                simulation_title=title,
                status=AssignmentStatus(status),
                due_date=a.due_date,
                days_late=rules.days_late(a.due_date, a.completed_at),
                assigned_at=a.assigned_at,
                started_at=a.started_at,
                completed_at=a.completed_at,
                score=a.score,
                passed=a.passed,
            )
            for a, name, email, department, title, status, org_name in found.rows
        ],
        total=found.total,
        offset=found.offset,
        limit=found.limit,
    )
