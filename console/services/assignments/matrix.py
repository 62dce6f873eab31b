"""The progress matrix (`/assignments/progress`): people down, assigned simulations across, each cell
the person's latest assignment of that simulation (status as of today, score, due date, lateness).

Rows are the people with at least one assignment matching the filters (the same filters as the list,
`progress.conditions`), a page at a time by name; columns are the simulations among those
assignments, by title.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import func, select
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
    where = [*progress.conditions(actor, query), SimulationAssignment.organization_id == org.id]
    now = rules.status_now()

    columns = session.execute(
        progress.joined(select(Simulation.id, Simulation.title).select_from(SimulationAssignment))
        .where(*where)
        .group_by(Simulation.id, Simulation.title)
        .order_by(Simulation.title, Simulation.id)
        .limit(MAX_COLUMNS + 1)
    ).all()
    more = 0
    if len(columns) > MAX_COLUMNS:
        more = session.scalar(
            progress.joined(select(func.count(func.distinct(SimulationAssignment.simulation_id))).select_from(
                SimulationAssignment
            )).where(*where)
        ) - MAX_COLUMNS  # fmt: skip
        columns = columns[:MAX_COLUMNS]

    people = (
        progress.joined(
            select(User.id, User.name, User.email, OrgMembership.department).select_from(SimulationAssignment)
        )
        .where(*where)
        .group_by(User.id, User.name, User.email, OrgMembership.department)
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
    by_user = {row.user_id: row for row in rows}
    if by_user:
        cells = session.execute(
            progress.joined(select(SimulationAssignment, now).select_from(SimulationAssignment))
            .where(*where, SimulationAssignment.assigned_to_user_id.in_(list(by_user)))
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
