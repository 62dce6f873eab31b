"""Simulations: the catalogue, scoped by who is asking.

Who sees what: platform admins everything; studio creators what they author plus the published
catalogue; enterprise admins the published catalogue; participants nothing here. Who may edit:
the author (and platform admins) while the simulation is not published or archived — a change to
a published simulation starts from a new draft copy.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from slugify import slugify
from sqlalchemy import ColumnElement, false, func, or_, select, true
from sqlmodel import Session

from console.auth import Actor, Permission
from console.errors import NotFound, PermissionDenied, ValidationFailed
from console.services import audit, scoring
from console.services.common import Page, clamp_paging, validate
from models import Simulation, SimulationStatus
from models.enums import Difficulty, SimulationFormat
from models.simulations import SimulationCreate, SimulationUpdate

READ_ONLY_STATUSES = {SimulationStatus.published, SimulationStatus.archived}
SORTABLE = {
    "title": Simulation.title,
    "status": Simulation.status,
    "category": Simulation.category,
    "difficulty": Simulation.difficulty,
    "format": Simulation.format,
    "estimated_duration_min": Simulation.estimated_duration_min,
    "updated_at": Simulation.updated_at,
    "created_at": Simulation.created_at,
    "published_at": Simulation.published_at,
}


@dataclass
class SimulationQuery:
    search: str | None = None
    status: SimulationStatus | None = None
    category: str | None = None
    difficulty: Difficulty | None = None
    format: SimulationFormat | None = None
    sort: str = "updated_at"
    descending: bool = True
    offset: int = 0
    limit: int = 25


def visible_clause(actor: Actor) -> ColumnElement[bool]:
    """The rows of `simulations` this actor may read."""
    if actor.can(Permission.manage_all_simulations):
        return true()
    published = Simulation.status == SimulationStatus.published
    if actor.can(Permission.author_simulations):
        return or_(Simulation.author_id == actor.user_id, published)
    if actor.can(Permission.view_catalogue):
        return published
    return false()


def list_(*, session: Session, actor: Actor, query: SimulationQuery) -> Page[Simulation]:
    conditions = [visible_clause(actor)]
    if query.search and query.search.strip():
        term = f"%{_escape_like(query.search.strip())}%"
        conditions.append(
            or_(
                Simulation.title.ilike(term, escape="\\"),
                Simulation.description.ilike(term, escape="\\"),
                Simulation.category.ilike(term, escape="\\"),
                func.array_to_string(Simulation.skill_tags, " ").ilike(term, escape="\\"),
            )
        )
    if query.status:
        conditions.append(Simulation.status == query.status)
    if query.category:
        conditions.append(Simulation.category == query.category)
    if query.difficulty:
        conditions.append(Simulation.difficulty == query.difficulty)
    if query.format:
        conditions.append(Simulation.format == query.format)
    offset, limit = clamp_paging(query.offset, query.limit)
    column = SORTABLE.get(query.sort, Simulation.updated_at)
    order = column.desc().nulls_last() if query.descending else column.asc().nulls_last()
    total = session.scalar(select(func.count()).select_from(Simulation).where(*conditions)) or 0
    rows = session.scalars(
        select(Simulation).where(*conditions).order_by(order, Simulation.id).offset(offset).limit(limit)
    ).all()
    return Page(rows=list(rows), total=total, offset=offset, limit=limit)


def categories(*, session: Session, actor: Actor) -> list[str]:
    """The categories in use among visible simulations, for filter drop-downs."""
    rows = session.scalars(
        select(Simulation.category)
        .where(visible_clause(actor), Simulation.category.is_not(None))
        .distinct()
        .order_by(Simulation.category)
    )
    return [r for r in rows if r]


def get(*, session: Session, actor: Actor, simulation_id: uuid.UUID) -> Simulation:
    sim = session.scalar(select(Simulation).where(Simulation.id == simulation_id, visible_clause(actor)))
    if sim is None:
        raise NotFound("Simulation not found.")
    return sim


def can_edit(actor: Actor, sim: Simulation) -> bool:
    if sim.status in READ_ONLY_STATUSES:
        return False
    if actor.can(Permission.manage_all_simulations):
        return True
    return actor.can(Permission.author_simulations) and sim.author_id == actor.user_id


def create(*, session: Session, actor: Actor, data: dict | SimulationCreate) -> Simulation:
    if not actor.can(Permission.author_simulations):
        raise PermissionDenied("You cannot create simulations.")
    new = validate(SimulationCreate, data)
    _check_scoring(new.scoring_config)
    sim = Simulation(
        **new.model_dump(),
        slug=unique_slug(session=session, title=new.title),
        status=SimulationStatus.draft,
        author_id=actor.user_id,
    )
    session.add(sim)
    session.flush()
    audit.record(
        session=session,
        actor=actor,
        action="simulation.create",
        entity_type="simulation",
        entity_id=sim.id,
        after=audit.snapshot(sim),
    )
    return sim


def update(*, session: Session, actor: Actor, simulation_id: uuid.UUID, data: dict | SimulationUpdate) -> Simulation:
    sim = get(session=session, actor=actor, simulation_id=simulation_id)
    if not can_edit(actor, sim):
        if sim.status in READ_ONLY_STATUSES:
            raise PermissionDenied(
                f"A {sim.status.value} simulation is read-only: duplicate it as a draft to change it."
            )
        # Visible (published) but not theirs: refuse without revealing more.
        raise PermissionDenied("You can only edit simulations you author.")
    changes = validate(SimulationUpdate, data).model_dump(exclude_unset=True)
    if "title" in changes and changes["title"] is None:
        raise ValidationFailed("Check the highlighted fields.", details={"title": "a title is required"})
    for required in ("difficulty", "format"):
        if required in changes and changes[required] is None:
            raise ValidationFailed("Check the highlighted fields.", details={required: "required"})
    if "scoring_config" in changes:
        _check_scoring(changes["scoring_config"])
    before = audit.snapshot(sim)
    for key, value in changes.items():
        setattr(sim, key, value if key != "skill_tags" else (value or []))
    session.add(sim)
    session.flush()
    audit.record(
        session=session,
        actor=actor,
        action="simulation.update",
        entity_type="simulation",
        entity_id=sim.id,
        before=before,
        after=audit.snapshot(sim),
    )
    return sim


def unique_slug(*, session: Session, title: str, exclude_id: uuid.UUID | None = None) -> str:
    """A URL-safe slug from the title, suffixed -2, -3, … until no other simulation has it."""
    base = slugify(title, max_length=90, word_boundary=True) or "simulation"
    taken = set(
        session.scalars(
            select(Simulation.slug).where(
                or_(Simulation.slug == base, Simulation.slug.like(f"{_escape_like(base)}-%", escape="\\")),
                Simulation.id != exclude_id if exclude_id else true(),
            )
        )
    )
    if base not in taken:
        return base
    n = 2
    while f"{base}-{n}" in taken:
        n += 1
    return f"{base}-{n}"


def _check_scoring(raw: dict | None) -> None:
    if raw is not None:
        try:
            scoring.parse_config(raw)
        except ValidationFailed as exc:
            raise ValidationFailed(
                exc.message, details={"scoring_config": "; ".join(f"{k}: {v}" for k, v in exc.details.items())}
            ) from exc


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def history(
    *, session: Session, actor: Actor, simulation_id: uuid.UUID, offset: int = 0, limit: int = 50
) -> audit.AuditPage:
    """The simulation's audit trail (workflow moves with comments, edits, modules, media), newest first.

    Its author and platform admins read all of it — an author needs the reviewer's "send back"
    comment, which `audit.list_` alone would hide from them (it shows a creator only their own acts).
    """
    sim = get(session=session, actor=actor, simulation_id=simulation_id)
    if not (actor.can(Permission.manage_all_simulations) or sim.author_id == actor.user_id):
        raise PermissionDenied("Only the author and platform admins can read this history.")
    offset, limit = clamp_paging(offset, limit)
    # Access is decided above; the log itself is read on the console's behalf.
    return audit.list_(
        session=session,
        actor=Actor.system("simulation history"),
        entity_type="simulation",
        entity_id=str(sim.id),
        offset=offset,
        limit=limit,
    )


def can_read_history(actor: Actor, sim: Simulation) -> bool:
    return actor.can(Permission.manage_all_simulations) or (
        actor.user_id is not None and sim.author_id == actor.user_id
    )
