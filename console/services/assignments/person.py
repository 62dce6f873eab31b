"""One person's work for an admin (`/assignments/person/{id}`): their assignments, every session they
played in the organization, each session's final scores per dimension against the pass mark, and each
debrief. Scoped like People: an enterprise admin sees only their own organization's members and the
sessions played in it; anyone else, or another organization's person, is "not found"."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlmodel import Session

from console.errors import NotFound, ValidationFailed
from console.services import scoring
from console.services.assignments import progress
from console.services.listing import MAX_PAGE_SIZE, ListQuery
from console.services.people import scope
from models import Module, OrgMembership, PlaySession, Simulation, User
from models.enums import SessionStatus

PERSON_NOT_FOUND = "Person not found."
SESSIONS_SHOWN = 200  # newest first; older ones are in the results export


@dataclass
class DimensionScore:
    key: str
    label: str
    value: float
    minimum: float
    maximum: float


@dataclass
class PersonSession:
    id: uuid.UUID
    simulation_title: str
    module_title: str
    status: SessionStatus
    started_at: datetime
    completed_at: datetime | None
    duration_seconds: int | None
    total: float | None
    pass_mark: float | None
    passed: bool | None
    dimensions: list[DimensionScore] = field(default_factory=list)
    debrief_text: str | None = None


@dataclass
class PersonOverview:
    user_id: uuid.UUID
    organization_id: uuid.UUID
    organization_name: str
    name: str
    email: str
    department: str | None
    role: str
    deactivated: bool
    assignments: list[progress.AssignmentRow]
    sessions: list[PersonSession]
    sessions_total: int


def _dimensions(config: scoring.ScoringConfig | None, scores: dict | None) -> list[DimensionScore]:
    if config is None or not scores:
        return []
    return [
        DimensionScore(d.key, d.label, float(scores[d.key]), d.min, d.max)
        for d in config.dimensions
        if isinstance(scores.get(d.key), int | float)
    ]


def overview(
    *,
    session: Session,
    actor,
    user_id: uuid.UUID,
    organization_id: uuid.UUID | None = None,  # noqa: ANN001
) -> PersonOverview:
    org = scope.organization(session, actor, organization_id)
    found = session.execute(
        select(User, OrgMembership)
        .join(OrgMembership, OrgMembership.user_id == User.id)
        .where(User.id == user_id, OrgMembership.organization_id == org.id)
    ).first()
    if found is None:
        raise NotFound(PERSON_NOT_FOUND)
    user, membership = found
    assigned = progress.list_(
        session=session,
        actor=actor,
        query=ListQuery(
            filters={"organization_id": str(org.id), "user_id": str(user.id)},
            sort="assigned_at",
            descending=True,
            limit=MAX_PAGE_SIZE,
        ),
    )
    played = session.execute(
        select(PlaySession, Module.title, Simulation.title, Simulation.scoring_config)
        .join(Module, Module.id == PlaySession.module_id)
        .join(Simulation, Simulation.id == Module.simulation_id)
        .where(PlaySession.user_id == user.id, PlaySession.organization_id == org.id, ~PlaySession.is_test)
        .order_by(PlaySession.started_at.desc(), PlaySession.id)
        .limit(SESSIONS_SHOWN + 1)
    ).all()
    configs: dict[str, scoring.ScoringConfig | None] = {}
    sessions = []
    for play, module_title, sim_title, raw in played[:SESSIONS_SHOWN]:
        if sim_title not in configs:
            try:
                configs[sim_title] = scoring.parse_config(raw)
            except ValidationFailed:
                configs[sim_title] = None
        config = configs[sim_title]
        total = play.total_score
        mark = config.pass_mark if config else None
        sessions.append(
            PersonSession(
                id=play.id,
                simulation_title=sim_title,
                module_title=module_title,
                status=play.status,
                started_at=play.started_at,
                completed_at=play.completed_at,
                duration_seconds=play.total_duration_seconds,
                total=total,
                pass_mark=mark,
                passed=None if total is None or mark is None else total >= mark,
                dimensions=_dimensions(config, play.final_scores),
                debrief_text=play.debrief_text,
            )
        )
    return PersonOverview(
        user_id=user.id,
        organization_id=org.id,
        organization_name=org.name,
        name=user.name,
        email=user.email,
        department=membership.department,
        role=membership.role.value,
        deactivated=user.deactivated_at is not None,
        assignments=assigned.rows,
        sessions=sessions,
        sessions_total=len(played),
    )
