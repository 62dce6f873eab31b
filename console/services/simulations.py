"""Simulations: the catalogue, scoped by who is asking.

Who sees what: platform admins everything; studio creators what they author plus the published
catalogue; enterprise admins the published catalogue; participants nothing here. Who may edit:
the author (and platform admins) while the simulation is not published or archived — a change to
a published simulation starts from a new draft copy.
"""

from __future__ import annotations

import uuid
from dataclasses import replace

from slugify import slugify
from sqlalchemy import ColumnElement, and_, false, func, or_, select, true
from sqlmodel import Session

from console.auth import Actor, Permission
from console.errors import NotFound, PermissionDenied, ValidationFailed
from console.services import audit, scoring, versions
from console.services.common import validate
from console.services.listing import ListQuery, Page, escape_like, paged, search_clause
from models import AuditAction, AuditEntity, AuditLogEntry, Simulation, SimulationStatus
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


FILTERS = ("status", "category", "difficulty", "format")


def readable(actor: Actor) -> ColumnElement[bool]:
    """The rows of `simulations` this actor may read: every query of simulations starts here."""
    if actor.can(Permission.manage_all_simulations):
        return true()
    published = Simulation.status == SimulationStatus.published
    if actor.can(Permission.author_simulations) and actor.user_id is not None:
        return or_(Simulation.author_id == actor.user_id, published)
    if actor.can(Permission.view_catalogue):
        return published
    return false()


def editable(actor: Actor) -> ColumnElement[bool]:
    """The rows of `simulations` this actor may change now (the SQL twin of `can_edit`)."""
    open_for_edits = Simulation.status.not_in(READ_ONLY_STATUSES)
    if actor.can(Permission.manage_all_simulations):
        return open_for_edits
    if actor.can(Permission.author_simulations) and actor.user_id is not None:
        return and_(open_for_edits, Simulation.author_id == actor.user_id)
    return false()


def is_author(actor: Actor, sim: Simulation) -> bool:
    return actor.user_id is not None and sim.author_id == actor.user_id


def owns(actor: Actor, sim: Simulation) -> bool:
    """The author, or someone who manages every simulation: who may read its history and copy it."""
    return actor.can(Permission.manage_all_simulations) or (
        actor.can(Permission.author_simulations) and is_author(actor, sim)
    )


def can_edit(actor: Actor, sim: Simulation) -> bool:
    """Whether the actor may change the simulation and its parts now (see `editable`)."""
    return sim.status not in READ_ONLY_STATUSES and owns(actor, sim)


def can_read_history(actor: Actor, sim: Simulation) -> bool:
    return owns(actor, sim)


def list_(*, session: Session, actor: Actor, query: ListQuery) -> Page[Simulation]:
    """A page of the simulations the actor may read. Search: title, description, category, tags.
    Filters: status, category, difficulty, format."""
    conditions = [readable(actor)]
    search = search_clause(
        query.search,
        Simulation.title,
        Simulation.description,
        Simulation.category,
        func.array_to_string(Simulation.skill_tags, " "),
    )
    if search is not None:
        conditions.append(search)
    if status := query.choice("status", SimulationStatus):
        conditions.append(Simulation.status == status)
    if category := query.text("category", max_length=100):
        conditions.append(Simulation.category == category)
    if difficulty := query.choice("difficulty", Difficulty):
        conditions.append(Simulation.difficulty == difficulty)
    if format_ := query.choice("format", SimulationFormat):
        conditions.append(Simulation.format == format_)
    return paged(
        session,
        select(Simulation).where(*conditions),
        query,
        sortable=SORTABLE,
        default_sort="updated_at",
        default_descending=True,
        tiebreak=Simulation.id,
        count=select(func.count()).select_from(Simulation).where(*conditions),
    )


def categories(*, session: Session, actor: Actor) -> list[str]:
    """The categories in use among visible simulations, for filter drop-downs."""
    rows = session.scalars(
        select(Simulation.category)
        .where(readable(actor), Simulation.category.is_not(None))
        .distinct()
        .order_by(Simulation.category)
    )
    return [r for r in rows if r]


def get(*, session: Session, actor: Actor, simulation_id: uuid.UUID) -> Simulation:
    sim = session.scalar(select(Simulation).where(Simulation.id == simulation_id, readable(actor)))
    if sim is None:
        raise NotFound("Simulation not found.")
    return sim


def get_editable(*, session: Session, actor: Actor, simulation_id: uuid.UUID) -> Simulation:
    """The simulation, if the actor may change it and its parts now; a refusal says why."""
    sim = get(session=session, actor=actor, simulation_id=simulation_id)
    if not can_edit(actor, sim):
        if sim.status in READ_ONLY_STATUSES:
            raise PermissionDenied(
                f"A {sim.status.value} simulation is read-only: duplicate it as a draft to change it."
            )
        # Visible (published) but not theirs: refuse without revealing more.
        raise PermissionDenied("You can only edit simulations you author.")
    return sim


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
    audit.created(session=session, actor=actor, action=AuditAction.simulation_create, subject=sim)
    return sim


def update(
    *, session: Session, actor: Actor, simulation_id: uuid.UUID, data: dict | SimulationUpdate, version: int
) -> Simulation:
    """Change the fields in `data`; `version` is the one the editor read (a newer one refuses: `Stale`)."""
    sim = get_editable(session=session, actor=actor, simulation_id=simulation_id)
    changes = validate(SimulationUpdate, data).model_dump(exclude_unset=True)
    if "title" in changes and changes["title"] is None:
        raise ValidationFailed("Check the highlighted fields.", details={"title": "a title is required"})
    for required in ("difficulty", "format"):
        if required in changes and changes[required] is None:
            raise ValidationFailed("Check the highlighted fields.", details={required: "required"})
    if "scoring_config" in changes:
        _check_scoring(changes["scoring_config"])
    versions.check(session, sim, version=version, noun="simulation", fields=set(changes) | {"status"})
    with audit.changing(session=session, actor=actor, action=AuditAction.simulation_update, subject=sim):
        for key, value in changes.items():
            setattr(sim, key, value if key != "skill_tags" else (value or []))
        versions.bump(sim)
    return sim


def unique_slug(*, session: Session, title: str, exclude_id: uuid.UUID | None = None) -> str:
    """A URL-safe slug from the title, suffixed -2, -3, … until no other simulation has it."""
    base = slugify(title, max_length=90, word_boundary=True) or "simulation"
    taken = set(
        session.scalars(
            select(Simulation.slug).where(
                or_(Simulation.slug == base, Simulation.slug.like(f"{escape_like(base)}-%", escape="\\")),
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


def history(*, session: Session, actor: Actor, simulation_id: uuid.UUID, query: ListQuery) -> Page[AuditLogEntry]:
    """The simulation's audit trail (workflow moves with comments, edits, modules, media), newest first.

    Its author and platform admins read all of it (the audit log's readable clause lets an author read
    everything about the simulations they author, the reviewer's "send back" comment included).
    """
    sim = get(session=session, actor=actor, simulation_id=simulation_id)
    if not can_read_history(actor, sim):
        raise PermissionDenied("Only the author and platform admins can read this history.")
    filters = {**query.filters, "entity_type": AuditEntity.simulation.value, "entity_id": str(sim.id)}
    return audit.list_(session=session, actor=actor, query=replace(query, filters=filters))
