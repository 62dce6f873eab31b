"""Assignments: simulations an enterprise admin gives participants, with due dates and progress.

Every change of an assignment's status happens here, whoever causes it: a play session starting
(`session_started`, called by the engine API's ingest), a session completing (`session_completed`),
the hourly sweep (`mark_overdue`). Status rules:

- assigned → in_progress when a session of one of the simulation's modules starts;
- → completed when every (non-archived) module of the simulation has a completed session of the
  person (an assignment completed late is still completed);
- assigned / in_progress → overdue once the due date has passed without completion.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date

from sqlalchemy import ColumnElement, false, or_, select, true, update
from sqlmodel import Session

from console.auth import Actor, Permission
from console.services.listing import ListQuery, Page, paged, search_clause
from models import Module, PlaySession, Simulation, SimulationAssignment
from models.base import utcnow
from models.enums import AssignmentStatus, ModuleStatus, SessionStatus


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


MINE_SORTABLE = {
    "due_date": SimulationAssignment.due_date,
    "assigned_at": SimulationAssignment.assigned_at,
    "status": SimulationAssignment.status,
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
    if status := query.choice("status", AssignmentStatus):
        conditions.append(SimulationAssignment.status == status)
    found = paged(
        session,
        select(SimulationAssignment, Simulation.title)
        .join(Simulation, Simulation.id == SimulationAssignment.simulation_id)
        .where(*conditions),
        query,
        sortable=MINE_SORTABLE,
        default_sort="due_date",
        tiebreak=(SimulationAssignment.assigned_at.desc(), SimulationAssignment.id),
        scalars=False,
    )
    rows = [
        MyAssignment(
            id=str(a.id),
            simulation_title=title,
            status=a.status,
            due_date=a.due_date,
            assigned_at=a.assigned_at.date().isoformat(),
        )
        for a, title in found.rows
    ]
    return Page(rows=rows, total=found.total, offset=found.offset, limit=found.limit)


# --- status changes --------------------------------------------------------------------------------


def session_started(*, session: Session, user_id: uuid.UUID, simulation_id: uuid.UUID) -> None:
    """A session of the simulation started for the person: their assigned work is now in progress."""
    session.execute(
        update(SimulationAssignment)
        .where(
            SimulationAssignment.assigned_to_user_id == user_id,
            SimulationAssignment.simulation_id == simulation_id,
            SimulationAssignment.status == AssignmentStatus.assigned,
        )
        .values(status=AssignmentStatus.in_progress)
    )


def session_completed(*, session: Session, user_id: uuid.UUID, simulation_id: uuid.UUID) -> None:
    """A session completed: the assignment is completed once every (non-archived) module of the
    simulation has a completed session of the person."""
    module_ids = set(
        session.scalars(
            select(Module.id).where(Module.simulation_id == simulation_id, Module.status != ModuleStatus.archived)
        )
    )
    done = set(
        session.scalars(
            select(PlaySession.module_id)
            .where(
                PlaySession.user_id == user_id,
                PlaySession.status == SessionStatus.completed,
                PlaySession.module_id.in_(module_ids),
            )
            .distinct()
        )
    )
    if module_ids - done:
        return
    session.execute(
        update(SimulationAssignment)
        .where(
            SimulationAssignment.assigned_to_user_id == user_id,
            SimulationAssignment.simulation_id == simulation_id,
            SimulationAssignment.status != AssignmentStatus.completed,
        )
        .values(status=AssignmentStatus.completed)
    )


def mark_overdue(*, session: Session, today: date | None = None) -> int:
    """Assignments not completed by their due date → overdue; returns how many changed."""
    result = session.execute(
        update(SimulationAssignment)
        .where(
            SimulationAssignment.status.in_([AssignmentStatus.assigned, AssignmentStatus.in_progress]),
            SimulationAssignment.due_date < (today or utcnow().date()),
        )
        .values(status=AssignmentStatus.overdue)
    )
    return result.rowcount or 0
