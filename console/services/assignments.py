"""Assignments: simulations an enterprise admin gives participants, with due dates and progress."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlmodel import Session

from console.auth import Actor, Permission
from models import Simulation, SimulationAssignment
from models.enums import AssignmentStatus


@dataclass
class MyAssignment:
    id: str
    simulation_title: str
    status: AssignmentStatus
    due_date: date | None
    assigned_at: str


def list_mine(*, session: Session, actor: Actor) -> list[MyAssignment]:
    """The actor's own assignments, soonest due first."""
    actor.require(Permission.view_own_assignments)
    rows = session.execute(
        select(SimulationAssignment, Simulation.title)
        .join(Simulation, Simulation.id == SimulationAssignment.simulation_id)
        .where(SimulationAssignment.assigned_to_user_id == actor.user_id)
        .order_by(SimulationAssignment.due_date.asc().nulls_last(), SimulationAssignment.assigned_at.desc())
    ).all()
    return [
        MyAssignment(
            id=str(a.id),
            simulation_title=title,
            status=a.status,
            due_date=a.due_date,
            assigned_at=a.assigned_at.date().isoformat(),
        )
        for a, title in rows
    ]
