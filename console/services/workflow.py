"""The publishing workflow: draft → review → staged → published → archived, and who may move it.

| transition  | from            | to        | who                                   | comment   |
|-------------|-----------------|-----------|---------------------------------------|-----------|
| submit      | draft           | review    | the author                            | optional  |
| withdraw    | review          | draft     | the author                            | optional  |
| send_back   | review, staged  | draft     | a platform admin                      | required  |
| stage       | review          | staged    | a platform admin                      | optional  |
| publish     | staged          | published | a platform admin (after validation)   | optional  |
| archive     | published       | archived  | a platform admin                      | optional  |
| restore     | archived        | draft     | a platform admin                      | optional  |

A platform admin who authored a simulation may also submit and withdraw it (they are its author).
Refusals: a simulation the caller cannot see is NotFound; a move the caller's role may not make is
PermissionDenied; a move the current status does not allow is Conflict. Publishing refuses with
ValidationFailed listing every problem at once (`publish_problems`).

"Duplicate as draft" is how a published or archived simulation changes: a new draft, authored by the
caller, with copies of the modules (stakeholders included) and the scoring config.
"""

from __future__ import annotations

import copy
import uuid
from dataclasses import dataclass

from sqlalchemy import select
from sqlmodel import Session

from console.auth import Actor, Permission
from console.errors import Conflict, PermissionDenied, ValidationFailed
from console.services import audit, media, scoring, simulations, versions
from models import AuditAction, Module, Simulation, SimulationStatus
from models.base import utcnow
from models.enums import ModuleStatus

S = SimulationStatus


@dataclass(frozen=True)
class Transition:
    name: str
    label: str
    sources: frozenset[SimulationStatus]
    target: SimulationStatus
    by_author: bool  # True: the author moves it; False: a platform admin does
    comment_required: bool = False


TRANSITIONS: dict[str, Transition] = {
    t.name: t
    for t in (
        Transition("submit", "Submit for review", frozenset({S.draft}), S.review, by_author=True),
        Transition("withdraw", "Withdraw to draft", frozenset({S.review}), S.draft, by_author=True),
        Transition(
            "send_back", "Send back to draft", frozenset({S.review, S.staged}), S.draft, False, comment_required=True
        ),
        Transition("stage", "Stage", frozenset({S.review}), S.staged, by_author=False),
        Transition("publish", "Publish", frozenset({S.staged}), S.published, by_author=False),
        Transition("archive", "Archive", frozenset({S.published}), S.archived, by_author=False),
        Transition("restore", "Restore to draft", frozenset({S.archived}), S.draft, by_author=False),
    )
}
MAX_COMMENT = 2000


def may(actor: Actor, sim: Simulation, name: str) -> bool:
    """Whether the actor's role lets them make this move (ignoring the current status)."""
    transition = TRANSITIONS[name]
    if transition.by_author:
        return actor.can(Permission.author_simulations) and actor.user_id is not None and sim.author_id == actor.user_id
    return actor.can(Permission.manage_all_simulations)


def can_duplicate(actor: Actor, sim: Simulation) -> bool:
    """Whether the actor may make a draft copy: someone who authors simulations and owns this one."""
    return actor.can(Permission.author_simulations) and simulations.owns(actor, sim)


def can_check_readiness(actor: Actor, sim: Simulation) -> bool:
    """Whether the publishing checks are for this actor: the author while they work, admins on review."""
    active = sim.status in (SimulationStatus.draft, SimulationStatus.review, SimulationStatus.staged)
    return active and (simulations.can_edit(actor, sim) or actor.can(Permission.manage_all_simulations))


def available(actor: Actor, sim: Simulation) -> list[Transition]:
    """The moves this actor can make on the simulation now, for the workspace's buttons."""
    return [t for t in TRANSITIONS.values() if sim.status in t.sources and may(actor, sim, t.name)]


def transition(
    *,
    session: Session,
    actor: Actor,
    simulation_id: uuid.UUID,
    name: str,
    version: int,
    comment: str | None = None,
) -> Simulation:
    """Move a simulation along the workflow; audited with the comment. `version` is the one the mover
    saw: a reviewer never publishes a simulation changed since they looked at it (`versions.Stale`)."""
    if name not in TRANSITIONS:
        raise ValidationFailed("Unknown workflow step.", details={"transition": name})
    move = TRANSITIONS[name]
    sim = simulations.get(session=session, actor=actor, simulation_id=simulation_id)
    # Lock the row: two admins pressing "publish" at once must not both succeed.
    session.refresh(sim, with_for_update=True)
    if not may(actor, sim, name):
        who = "the simulation's author" if move.by_author else "a platform admin"
        raise PermissionDenied(f"Only {who} can {move.label.lower()}.")
    # Before the status check: "Rosa published it at 10:02" says more than "a published simulation
    # cannot be published".
    versions.check(session, sim, version=version, noun="simulation", fields={"status", "title", "description"})
    if sim.status not in move.sources:
        raise Conflict(f"A {sim.status.value} simulation cannot be moved with “{move.label}”.")
    comment = (comment or "").strip() or None
    if comment and len(comment) > MAX_COMMENT:
        raise ValidationFailed("The comment is too long.", details={"comment": f"at most {MAX_COMMENT} characters"})
    if move.comment_required and not comment:
        raise ValidationFailed("Say what needs to change.", details={"comment": "a comment is required"})
    if name == "publish":
        problems = publish_problems(session=session, simulation=sim)
        if problems:
            raise ValidationFailed("The simulation cannot be published yet.", details=problems)
    with audit.changing(
        session=session,
        actor=actor,
        action=AuditAction(f"simulation.{name}"),
        subject=sim,
        fields={"status", "published_at", "version"},
        comment=comment,
    ):
        sim.status = move.target
        if name == "publish":
            sim.published_at = utcnow()
        sim.updated_at = utcnow()
        versions.bump(sim)
    return sim


def publish_problems(*, session: Session, simulation: Simulation) -> dict[str, str]:
    """Every reason the simulation cannot be published, keyed by where the problem is (empty: ready)."""
    problems: dict[str, str] = {}
    modules = session.scalars(
        select(Module)
        .where(Module.simulation_id == simulation.id, Module.status != ModuleStatus.archived)
        .order_by(Module.sort_order, Module.created_at)
    ).all()
    if not any(m.status == ModuleStatus.published for m in modules):
        problems["modules"] = "at least one published module is needed"
    for module in modules:
        missing = []
        if not (module.launch_url or "").strip():
            missing.append("launch URL")
        if module.platform is None:
            missing.append("platform")
        if not (module.build_version or "").strip():
            missing.append("build version")
        if not (module.narrative_context or "").strip():
            missing.append("briefing")
        if missing:
            problems[f"module “{module.title}”"] = "missing " + ", ".join(missing)
    try:
        scoring.parse_config(simulation.scoring_config)
    except ValidationFailed as exc:
        reasons = "; ".join(f"{k}: {v}" for k, v in exc.details.items())
        problems["scoring"] = reasons or exc.message
    return problems


def duplicate_as_draft(
    *, session: Session, actor: Actor, simulation_id: uuid.UUID, storage: media.MediaStorage | None = None
) -> Simulation:
    """A new draft copy of a simulation, authored by the caller: modules, stakeholders, scoring and
    each module's media files are copied (portraits and thumbnail re-pointed at the copies)."""
    source = simulations.get(session=session, actor=actor, simulation_id=simulation_id)
    if not can_duplicate(actor, source):
        raise PermissionDenied("You can only duplicate simulations you author.")
    title = f"{source.title} (copy)"[:255]
    copy_sim = Simulation(
        title=title,
        slug=simulations.unique_slug(session=session, title=title),
        description=source.description,
        category=source.category,
        skill_tags=list(source.skill_tags or []),
        difficulty=source.difficulty,
        format=source.format,
        status=SimulationStatus.draft,
        thumbnail_url=source.thumbnail_url,
        estimated_duration_min=source.estimated_duration_min,
        author_id=actor.user_id,
        scoring_config=copy.deepcopy(source.scoring_config),
    )
    session.add(copy_sim)
    session.flush()
    modules = session.scalars(
        select(Module).where(Module.simulation_id == source.id).order_by(Module.sort_order, Module.created_at)
    ).all()
    storage = storage or media.get_storage()
    urls: dict[str, str] = {}
    copies: list[Module] = []
    for module in modules:
        twin = Module(
            simulation_id=copy_sim.id,
            title=module.title,
            slug=module.slug,
            sort_order=module.sort_order,
            narrative_context=module.narrative_context,
            stakeholders=copy.deepcopy(module.stakeholders or []),
            is_free_demo=module.is_free_demo,
            estimated_duration_min=module.estimated_duration_min,
            launch_url=module.launch_url,
            platform=module.platform,
            build_version=module.build_version,
            # Statuses carry over: nothing in the copy is live until the copy itself is published.
            status=module.status,
        )
        session.add(twin)
        session.flush()
        urls |= media.copy_library(session=session, source=module, target=twin, storage=storage)
        copies.append(twin)
    # Portraits and the thumbnail point at the copy's own files, so the copy stands on its own.
    for twin in copies:
        if any(s.get("portrait_url") in urls for s in twin.stakeholders):
            twin.stakeholders = [
                {**s, "portrait_url": urls.get(s.get("portrait_url"), s.get("portrait_url"))} for s in twin.stakeholders
            ]
            session.add(twin)
    if copy_sim.thumbnail_url in urls:
        copy_sim.thumbnail_url = urls[copy_sim.thumbnail_url]
        session.add(copy_sim)
    audit.created(
        session=session,
        actor=actor,
        action=AuditAction.simulation_duplicate,
        subject=copy_sim,
        comment=f"duplicated from {source.id}",
    )
    return copy_sim


def readiness(*, session: Session, actor: Actor, simulation_id: uuid.UUID) -> dict[str, str]:
    """What still stands between the simulation and publishing (empty: ready)."""
    sim = simulations.get(session=session, actor=actor, simulation_id=simulation_id)
    return publish_problems(session=session, simulation=sim)
