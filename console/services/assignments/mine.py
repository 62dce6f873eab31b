"""A participant's own assignments (`/my`)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date

from sqlalchemy import ColumnElement, false, or_, select, true
from sqlmodel import Session

from console.auth import Actor, Permission
from console.services.assignments.status import days_late, status_now
from console.services.listing import ListQuery, Page, paged, search_clause
from models import Simulation, SimulationAssignment
from models.enums import AssignmentStatus


def readable(actor: Actor) -> ColumnElement[bool]:
    """The rows of `simulation_assignments` this actor may read."""
    if actor.can(Permission.manage_platform):
        return true()
    reach = []
    if actor.can(Permission.manage_organization) and actor.organization_id is not None:
        reach.append(SimulationAssignment.organization_id == actor.organization_id)
    if actor.user_id is not None:
        reach.append(SimulationAssignment.assigned_to_user_id == actor.user_id)
    return or_(false(), *reach)


@dataclass
class MyAssignment:
    id: str
    simulation_title: str
    status: AssignmentStatus
    due_date: date | None
    assigned_at: str
    simulation_id: uuid.UUID | None = None
    days_late: int = 0


MINE_SORTABLE = {  # status: as of today, see status_now
    "due_date": SimulationAssignment.due_date,
    "assigned_at": SimulationAssignment.assigned_at,
    "status": status_now(),
    "simulation": Simulation.title,
}


def list_mine(*, session: Session, actor: Actor, query: ListQuery) -> Page[MyAssignment]:
    """The actor's own assignments, soonest due first unless sorted otherwise. Search: the
    simulation's title. Filters: `status`."""
    actor.require(Permission.view_own_assignments)
    conditions = [readable(actor), SimulationAssignment.assigned_to_user_id == actor.user_id]
    search = search_clause(query.search, Simulation.title)
    if search is not None:
        conditions.append(search)
    now = status_now()
    if status := query.choice("status", AssignmentStatus):
        conditions.append(now == status)
    found = paged(
        session,
        select(SimulationAssignment, Simulation.title, now)
        .join(Simulation, Simulation.id == SimulationAssignment.simulation_id)
        .where(*conditions),
        query,
        sortable={**MINE_SORTABLE, "status": now},
        default_sort="due_date",
        tiebreak=(SimulationAssignment.assigned_at.desc(), SimulationAssignment.id),
        scalars=False,
    )
    rows = [
        MyAssignment(
            id=str(a.id),
            simulation_title=title,
            status=AssignmentStatus(status),
            due_date=a.due_date,
            assigned_at=a.assigned_at.date().isoformat(),
            simulation_id=a.simulation_id,
            days_late=days_late(a.due_date, a.completed_at),
        )
        for a, title, status in found.rows
    ]
    return Page(rows=rows, total=found.total, offset=found.offset, limit=found.limit)
