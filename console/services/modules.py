"""Modules of a simulation: the ordered list, the editor's operations, and what an engine receives.

Scoping follows the simulation: a module is visible when its simulation is, and editable when its
simulation is (`simulations.can_edit`: the author or a platform admin, never once published or
archived). Out-of-scope modules are NotFound.

The input schemas live here, beside the operations that use them: `ModuleCreate`/`ModuleUpdate`
(what an author may set — never the simulation, id or timestamps) and `Stakeholder` (one NPC card,
the shape engines rely on).
"""

from __future__ import annotations

import uuid
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, field_validator
from slugify import slugify
from sqlalchemy import ColumnElement, func, select
from sqlmodel import Session

from console.auth import Actor
from console.errors import NotFound, ValidationFailed
from console.services import audit, scoring, simulations, versions
from console.services.common import validate
from console.services.listing import ListQuery, Page, paged, search_clause
from models import AuditAction, Module, Simulation
from models.enums import ModuleStatus, Platform

MAX_STAKEHOLDERS = 30
MAX_BRIEFING = 50_000


def check_link(value: str | None, *, allow_own_path: bool = False) -> str | None:
    """An http(s) URL (or, when allowed, a path on the console itself); anything else is refused.

    `javascript:`, `data:` and protocol-relative `//host` links would run script or leave the site.
    """
    if value is None or not value.strip():
        return None
    value = value.strip()
    if any(ord(c) < 32 for c in value) or "\\" in value or len(value) > 500:
        raise ValueError("must be an http(s) URL of at most 500 characters")
    lower = value.lower()
    own_path = allow_own_path and value.startswith("/") and not value.startswith("//")
    if own_path:
        return value
    if not (lower.startswith("https://") or lower.startswith("http://")) or len(value.split("://", 1)[1]) < 1:
        raise ValueError("must be an http(s) URL" + (" or a console media path" if allow_own_path else ""))
    return value


class Stakeholder(BaseModel):
    """One NPC the player meets: shown as a card in the editor, sent verbatim to engines."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str = Field(min_length=1, max_length=100)
    role: str = Field(default="", max_length=100)
    motivation: str = Field(default="", max_length=2000)
    portrait_url: str | None = Field(default=None, max_length=500)
    personality_traits: list[str] = Field(default_factory=list, max_length=12)

    @field_validator("portrait_url")
    @classmethod
    def _portrait(cls, value: str | None) -> str | None:
        return check_link(value, allow_own_path=True)

    @field_validator("personality_traits")
    @classmethod
    def _traits(cls, value: list[str]) -> list[str]:
        cleaned: list[str] = []
        for trait in value:
            trait = trait.strip()
            if not trait:
                continue
            if len(trait) > 40:
                raise ValueError("each trait is at most 40 characters")
            if trait.lower() not in {t.lower() for t in cleaned}:
                cleaned.append(trait)
        return cleaned


class ModuleCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: str = Field(max_length=255)
    narrative_context: str | None = Field(default=None, max_length=MAX_BRIEFING)
    stakeholders: list[Stakeholder] = Field(default_factory=list, max_length=MAX_STAKEHOLDERS)
    is_free_demo: bool = False
    estimated_duration_min: int | None = Field(default=None, ge=1, le=1440)
    launch_url: str | None = Field(default=None, max_length=500)
    platform: Platform | None = None
    build_version: str | None = Field(default=None, max_length=50)
    status: ModuleStatus = ModuleStatus.draft

    @field_validator("title")
    @classmethod
    def _title(cls, value: str) -> str:
        value = (value or "").strip()
        if not value:
            raise ValueError("a title is required")
        return value

    @field_validator("launch_url")
    @classmethod
    def _launch(cls, value: str | None) -> str | None:
        return check_link(value)

    @field_validator("build_version")
    @classmethod
    def _build(cls, value: str | None) -> str | None:
        return (value or "").strip() or None


class ModuleUpdate(ModuleCreate):
    """A partial change: only the fields present are changed."""

    title: str | None = Field(default=None, max_length=255)  # type: ignore[assignment]
    stakeholders: list[Stakeholder] | None = Field(default=None, max_length=MAX_STAKEHOLDERS)  # type: ignore[assignment]
    is_free_demo: bool | None = None  # type: ignore[assignment]
    status: ModuleStatus | None = None  # type: ignore[assignment]


_STAKEHOLDER_LIST = TypeAdapter(list[Stakeholder])


def validate_stakeholders(raw: list[Any]) -> list[dict]:
    """Check stakeholder cards against the schema; errors name the card (`stakeholders.2.name`)."""
    try:
        return [s.model_dump() for s in _STAKEHOLDER_LIST.validate_python(raw)]
    except ValidationError as exc:
        problems = {}
        for err in exc.errors():
            problems["stakeholders." + ".".join(str(p) for p in err["loc"])] = err["msg"].removeprefix("Value error, ")
        raise ValidationFailed("Check the stakeholders.", details=problems) from exc


# --- reading -------------------------------------------------------------------------------------

SORTABLE = {
    "sort_order": Module.sort_order,
    "title": Module.title,
    "status": Module.status,
    "platform": Module.platform,
    "created_at": Module.created_at,
}


def readable(actor: Actor) -> ColumnElement[bool]:
    """The rows of `modules` this actor may read: those of simulations it may read."""
    return Module.simulation_id.in_(select(Simulation.id).where(simulations.readable(actor)))


def list_(*, session: Session, actor: Actor, simulation_id: uuid.UUID, query: ListQuery) -> Page[Module]:
    """A page of the simulation's modules, in play order unless sorted otherwise. Search: title, slug.
    Filters: `archived` (1, the default: include archived modules; 0: leave them out)."""
    simulations.get(session=session, actor=actor, simulation_id=simulation_id)
    conditions = [Module.simulation_id == simulation_id]
    if not query.flag("archived", default=True):
        conditions.append(Module.status != ModuleStatus.archived)
    search = search_clause(query.search, Module.title, Module.slug)
    if search is not None:
        conditions.append(search)
    return paged(
        session,
        select(Module).where(*conditions),
        query,
        sortable=SORTABLE,
        default_sort="sort_order",
        tiebreak=(Module.created_at, Module.id),
        count=select(func.count()).select_from(Module).where(*conditions),
    )


def get(*, session: Session, actor: Actor, module_id: uuid.UUID) -> Module:
    module = session.scalar(select(Module).where(Module.id == module_id, readable(actor)))
    if module is None:
        raise NotFound("Module not found.")
    return module


def get_with_simulation(*, session: Session, actor: Actor, module_id: uuid.UUID) -> tuple[Module, Simulation]:
    module = get(session=session, actor=actor, module_id=module_id)
    return module, simulations.get(session=session, actor=actor, simulation_id=module.simulation_id)


def _editable_module(*, session: Session, actor: Actor, module_id: uuid.UUID) -> tuple[Module, Simulation]:
    module = get(session=session, actor=actor, module_id=module_id)
    sim = simulations.get_editable(session=session, actor=actor, simulation_id=module.simulation_id)
    return module, sim


# --- changing ------------------------------------------------------------------------------------


def _unique_slug(session: Session, simulation_id: uuid.UUID, title: str, exclude: uuid.UUID | None = None) -> str:
    base = slugify(title, max_length=90, word_boundary=True) or "module"
    query = select(Module.slug).where(Module.simulation_id == simulation_id)
    if exclude:
        query = query.where(Module.id != exclude)
    taken = set(session.scalars(query))
    slug, n = base, 2
    while slug in taken:
        slug = f"{base}-{n}"
        n += 1
    return slug


def create(*, session: Session, actor: Actor, simulation_id: uuid.UUID, data: dict | ModuleCreate) -> Module:
    sim = simulations.get_editable(session=session, actor=actor, simulation_id=simulation_id)
    new = validate(ModuleCreate, data)
    last = session.scalar(select(func.max(Module.sort_order)).where(Module.simulation_id == sim.id))
    module = Module(
        **new.model_dump(exclude={"stakeholders"}),
        stakeholders=[s.model_dump() for s in new.stakeholders],
        simulation_id=sim.id,
        slug=_unique_slug(session, sim.id, new.title),
        sort_order=(last + 1) if last is not None else 0,
    )
    session.add(module)
    audit.created(
        session=session, actor=actor, action=AuditAction.module_create, subject=module, comment=f"simulation {sim.id}"
    )
    _audit_simulation(session, actor, sim, AuditAction.module_create, module)
    return module


def update(*, session: Session, actor: Actor, module_id: uuid.UUID, data: dict | ModuleUpdate, version: int) -> Module:
    """Change the fields in `data`; `version` is the one the editor read (a newer one refuses: `Stale`)."""
    module, sim = _editable_module(session=session, actor=actor, module_id=module_id)
    if isinstance(data, dict) and isinstance(data.get("stakeholders"), list):
        data = {**data, "stakeholders": validate_stakeholders(data["stakeholders"])}
    changes = validate(ModuleUpdate, data).model_dump(exclude_unset=True)
    for required in ("title", "is_free_demo", "status", "stakeholders"):
        if required in changes and changes[required] is None:
            raise ValidationFailed("Check the highlighted fields.", details={required: "required"})
    versions.check(session, module, version=version, noun="module", fields=set(changes))
    with audit.changing(
        session=session, actor=actor, action=AuditAction.module_update, subject=module, comment=f"simulation {sim.id}"
    ):
        for key, value in changes.items():
            setattr(module, key, value)
        if "title" in changes:
            module.slug = _unique_slug(session, sim.id, module.title, exclude=module.id)
        versions.bump(module)
    _audit_simulation(session, actor, sim, AuditAction.module_update, module)
    return module


def move(*, session: Session, actor: Actor, module_id: uuid.UUID, direction: int) -> Module:
    """Swap the module with its neighbour above (direction −1) or below (+1); at an end, nothing moves."""
    if direction not in (-1, 1):
        raise ValidationFailed("Move up or down.", details={"direction": "must be -1 or 1"})
    module, sim = _editable_module(session=session, actor=actor, module_id=module_id)
    ordered = list(
        session.scalars(
            select(Module)
            .where(Module.simulation_id == sim.id)
            .order_by(Module.sort_order, Module.created_at, Module.id)
            .with_for_update()
        )
    )
    # Renumber densely first: imported data may carry gaps or ties in sort_order.
    index = next(i for i, m in enumerate(ordered) if m.id == module.id)
    target = index + direction
    if 0 <= target < len(ordered):
        ordered[index], ordered[target] = ordered[target], ordered[index]
    for position, item in enumerate(ordered):
        if item.sort_order != position:
            item.sort_order = position
            session.add(item)
    session.flush()
    audit.record(
        session=session,
        actor=actor,
        action=AuditAction.module_move,
        subject=module,
        before={"position": index + 1},
        after={"position": ordered.index(module) + 1},
        comment=f"simulation {sim.id}",
    )
    _audit_simulation(session, actor, sim, AuditAction.module_move, module)
    return module


def duplicate(*, session: Session, actor: Actor, module_id: uuid.UUID) -> Module:
    """A draft copy of the module (stakeholders included) at the end of the list; media stay with the original."""
    module, sim = _editable_module(session=session, actor=actor, module_id=module_id)
    data = ModuleCreate(
        title=f"{module.title} (copy)"[:255],
        narrative_context=module.narrative_context,
        stakeholders=[Stakeholder.model_validate(s) for s in module.stakeholders or []],
        is_free_demo=module.is_free_demo,
        estimated_duration_min=module.estimated_duration_min,
        launch_url=module.launch_url,
        platform=module.platform,
        build_version=module.build_version,
        status=ModuleStatus.draft,
    )
    return create(session=session, actor=actor, simulation_id=sim.id, data=data)


def archive(*, session: Session, actor: Actor, module_id: uuid.UUID) -> Module:
    module, sim = _editable_module(session=session, actor=actor, module_id=module_id)
    # An explicit act on the module as it is now (no editor's copy behind it), so no version to check;
    # it takes a new one, so an editor still open on the module cannot save the old status back.
    session.refresh(module, with_for_update={"key_share": True})
    with audit.changing(
        session=session, actor=actor, action=AuditAction.module_archive, subject=module, comment=f"simulation {sim.id}"
    ):
        module.status = ModuleStatus.archived
        versions.bump(module)
    _audit_simulation(session, actor, sim, AuditAction.module_archive, module)
    return module


def _audit_simulation(session: Session, actor: Actor, sim: Simulation, action: AuditAction, module: Module) -> None:
    """A line in the simulation's own history too, so its History tab tells the whole story."""
    audit.record(
        session=session,
        actor=actor,
        action=action,
        subject=sim,
        after={"module": module.title, "module_id": str(module.id)},
    )


# --- what an engine receives -----------------------------------------------------------------------


def engine_view(module: Module, simulation: Simulation) -> dict[str, Any]:
    """The JSON `GET /api/v1/modules/{id}` returns for a module: what an engine needs to run it.

    Shared by the engine API and the studio's "Preview as engine", so authors see exactly what
    engines get. Scoring is included only when valid (engines never see a broken config).
    """
    try:
        config = scoring.parse_config(simulation.scoring_config)
        scoring_out: dict[str, Any] | None = {
            "dimensions": [d.model_dump() for d in config.dimensions],
            "pass_mark": config.pass_mark,
        }
    except ValidationFailed:
        scoring_out = None
    return {
        "id": str(module.id),
        "simulation_id": str(simulation.id),
        "simulation_title": simulation.title,
        "simulation": {
            "id": str(simulation.id),
            "title": simulation.title,
            "slug": simulation.slug,
            "status": simulation.status.value,
            "format": simulation.format.value,
            "difficulty": simulation.difficulty.value,
            "version": simulation.version,
        },
        "title": module.title,
        "version": module.version,
        "slug": module.slug,
        "sort_order": module.sort_order,
        "status": module.status.value,
        "briefing": module.narrative_context or "",
        "stakeholders": [
            {
                "name": s.get("name", ""),
                "role": s.get("role", ""),
                "motivation": s.get("motivation", ""),
                "portrait_url": s.get("portrait_url"),
                "personality_traits": list(s.get("personality_traits") or []),
            }
            for s in (module.stakeholders or [])
        ],
        "scoring": scoring_out,
        "is_free_demo": module.is_free_demo,
        "estimated_duration_min": module.estimated_duration_min,
        "launch_url": module.launch_url,
        "platform": module.platform.value if module.platform else None,
        "build_version": module.build_version,
    }
