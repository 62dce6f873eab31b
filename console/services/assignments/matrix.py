"""The progress matrix (`/assignments/progress`): people down, assigned simulations across, each cell
the person's latest assignment of that simulation (status as of today, score, due date, lateness).

Rows are the organization's members with at least one assignment matching the filters (the same
filters as the list, `progress.conditions`), a page at a time by name; columns are the simulations
among those assignments, by title. (Someone removed from the organization keeps their assignments in
the list and the reports, not in this matrix of its people.)
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import and_, func, select
from sqlmodel import Session

from console.auth import Actor, Permission
from console.services.assignments import progress
from console.services.assignments import status as rules
from console.services.listing import ListQuery, Page, bounds
from console.services.people import scope
from models import OrgMembership, Simulation, SimulationAssignment, User
from models.enums import AssignmentStatus

MAX_COLUMNS = 40  # simulations across; filter by simulation to see any other


@dataclass
class Cell:
    assignment_id: uuid.UUID
    status: AssignmentStatus
    due_date: date | None
    days_late: int
    score: float | None
    passed: bool | None


@dataclass
class MatrixRow:
    user_id: uuid.UUID
    name: str
    email: str
    department: str | None
    cells: dict[uuid.UUID, Cell] = field(default_factory=dict)


@dataclass
class Matrix:
    simulations: list[tuple[uuid.UUID, str]]
    more_simulations: int
    page: Page[MatrixRow]


def matrix(*, session: Session, actor: Actor, query: ListQuery) -> Matrix:
    actor.require(Permission.manage_organization)
    org = scope.organization(session, actor, query.uuid("organization_id"))
    held = [*progress.assignment_conditions(actor, query), SimulationAssignment.organization_id == org.id]
    by_person = progress.person_conditions(query)
    now = rules.status_now()

    # Rows: the organization's members holding a matching assignment, a page by name. An EXISTS per
    # member (the assignments-by-person index) rather than grouping every assignment of the
    # organization, which grew with its history.
    holding = select(SimulationAssignment.id).where(SimulationAssignment.assigned_to_user_id == User.id, *held).exists()
    people = (
        select(User.id, User.name, User.email, OrgMembership.department)
        .join(OrgMembership, and_(OrgMembership.user_id == User.id, OrgMembership.organization_id == org.id))
        .where(holding, *by_person)
    )
    total = session.scalar(select(func.count()).select_from(people.subquery())) or 0
    offset, limit = bounds(query)
    name_order = User.name.desc() if query.descending else User.name
    rows = [
        MatrixRow(user_id=user_id, name=name, email=email, department=department)
        for user_id, name, email, department in session.execute(
            people.order_by(name_order, User.id).offset(offset).limit(limit)
        )
    ]

    # Columns: the simulations with a matching assignment (a handful: an EXISTS each, by the
    # organization-and-simulation index; through the person when the filters name one).
    held_by = select(SimulationAssignment.id).where(SimulationAssignment.simulation_id == Simulation.id, *held)
    if by_person:
        held_by = (
            held_by.join(User, User.id == SimulationAssignment.assigned_to_user_id)
            .join(
                OrgMembership,
                and_(OrgMembership.user_id == User.id, OrgMembership.organization_id == org.id),
            )
            .where(*by_person)
        )
    columns = session.execute(
        select(Simulation.id, Simulation.title)
        .where(held_by.exists())
        .order_by(Simulation.title, Simulation.id)
        .limit(MAX_COLUMNS + 1)
    ).all()
    more = 0
    if len(columns) > MAX_COLUMNS:
        more = (session.scalar(select(func.count()).select_from(Simulation).where(held_by.exists())) or 0) - MAX_COLUMNS
        columns = columns[:MAX_COLUMNS]

    by_user = {row.user_id: row for row in rows}
    if by_user:
        cells = session.execute(
            select(SimulationAssignment, now)
            .where(*held, SimulationAssignment.assigned_to_user_id.in_(list(by_user)))
            .order_by(SimulationAssignment.assigned_at)  # the latest of each pair is written last
        )
        for assignment, status in cells:
            by_user[assignment.assigned_to_user_id].cells[assignment.simulation_id] = Cell(
                assignment_id=assignment.id,
                status=AssignmentStatus(status),
                due_date=assignment.due_date,
                days_late=rules.days_late(assignment.due_date, assignment.completed_at),
                score=assignment.score,
                passed=assignment.passed,
            )
    return Matrix(
        simulations=[(sim_id, title) for sim_id, title in columns],
        more_simulations=more,
        page=Page(rows=rows, total=total, offset=offset, limit=limit),
    )
