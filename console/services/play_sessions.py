"""Play sessions as people read them in the console (the engine API writes them in `ingest`).

Who reads which sessions (`readable`): platform admins all; enterprise admins their organization's;
studio creators those played of simulations they author; participants their own; an engine API key
those within its simulation and organization binding.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, and_, false, or_, select, true
from sqlmodel import Session

from console.auth import Actor, ActorKind, Permission
from console.services.listing import ListQuery, Page, paged
from models import Module, PlaySession, Simulation
from models.enums import SessionStatus


def real() -> ColumnElement[bool]:
    """Sessions started with a live key (or in the console): what every figure, report, assignment and
    participant's page counts. Test sessions (started with a test key, `is_test`) are only listed on
    /sessions and /live with a "Test" badge, and can be deleted (console/services/sessions/test_data.py).
    Written `NOT is_test` so the completed-session partial indexes (models/play.py) still apply."""
    return ~PlaySession.is_test


def readable(actor: Actor) -> ColumnElement[bool]:
    """The rows of `sessions` this actor may read: every query of play sessions starts here."""
    if actor.kind is ActorKind.api_key:
        conditions = []
        if actor.simulation_id is not None:
            conditions.append(
                PlaySession.module_id.in_(select(Module.id).where(Module.simulation_id == actor.simulation_id))
            )
        if actor.organization_id is not None:
            conditions.append(PlaySession.organization_id == actor.organization_id)
        return and_(true(), *conditions)
    if actor.can(Permission.manage_platform):
        return true()
    reach = []
    if actor.can(Permission.manage_organization) and actor.organization_id is not None:
        reach.append(PlaySession.organization_id == actor.organization_id)
    if actor.can(Permission.author_simulations) and actor.user_id is not None:
        authored = select(Module.id).join(Simulation).where(Simulation.author_id == actor.user_id)
        reach.append(PlaySession.module_id.in_(authored))
    if actor.can(Permission.view_own_assignments) and actor.user_id is not None:
        reach.append(PlaySession.user_id == actor.user_id)
    return or_(false(), *reach)


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


MINE_SORTABLE = {"started_at": PlaySession.started_at, "completed_at": PlaySession.completed_at}


def list_mine(*, session: Session, actor: Actor, query: ListQuery) -> Page[MyResult]:
    """The actor's own play sessions, newest first unless sorted otherwise."""
    actor.require(Permission.view_own_assignments)
    found = paged(
        session,
        select(PlaySession, Module.title, Simulation.title)
        .join(Module, Module.id == PlaySession.module_id)
        .join(Simulation, Simulation.id == Module.simulation_id)
        .where(readable(actor), real(), PlaySession.user_id == actor.user_id),
        query,
        sortable=MINE_SORTABLE,
        default_sort="started_at",
        default_descending=True,
        tiebreak=PlaySession.id,
        scalars=False,
    )
    rows = [
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
        for ps, module_title, sim_title in found.rows
    ]
    return Page(rows=rows, total=found.total, offset=found.offset, limit=found.limit)
