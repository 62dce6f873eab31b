"""Play sessions as people read them in the console (the engine API writes them in `ingest`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlmodel import Session

from console.auth import Actor, Permission
from models import Module, PlaySession, Simulation
from models.enums import SessionStatus


@dataclass
class MyResult:
    id: str
    simulation_title: str
    module_title: str
    status: SessionStatus
    started_at: datetime
    completed_at: datetime | None
    total: float | None
    final_scores: dict | None
    debrief_text: str | None


def list_mine(*, session: Session, actor: Actor, limit: int = 50) -> list[MyResult]:
    """The actor's own play sessions, newest first."""
    actor.require(Permission.view_own_assignments)
    rows = session.execute(
        select(PlaySession, Module.title, Simulation.title)
        .join(Module, Module.id == PlaySession.module_id)
        .join(Simulation, Simulation.id == Module.simulation_id)
        .where(PlaySession.user_id == actor.user_id)
        .order_by(PlaySession.started_at.desc())
        .limit(limit)
    ).all()
    return [
        MyResult(
            id=str(ps.id),
            simulation_title=sim_title,
            module_title=module_title,
            status=ps.status,
            started_at=ps.started_at,
            completed_at=ps.completed_at,
            total=(ps.final_scores or {}).get("total"),
            final_scores=ps.final_scores,
            debrief_text=ps.debrief_text,
        )
        for ps, module_title, sim_title in rows
    ]
