"""Play sessions as engines start and read them, and what an API key may reach (see the package)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlmodel import Session

from console import live
from console.auth import Actor, ActorKind
from console.errors import Conflict, NotFound, ValidationFailed
from console.live import ChangeKind, SessionChange
from console.services import assignments, launch
from models import Module, PlaySession, Simulation, User
from models.base import utcnow
from models.enums import ModuleStatus, Platform, SessionStatus, SimulationStatus

# Outside a key's binding is "not found", word for word the answer for an id that does not exist: a key
# must not learn which ids are real elsewhere (SECURITY.md 14, the "existence oracle").
SESSION_NOT_FOUND = "Session not found."
MODULE_NOT_FOUND = "Module not found."


@dataclass(frozen=True)
class PlayerRef:
    user_id: uuid.UUID | None = None
    clerk_id: str | None = None
    email: str | None = None
    launch_token: str | None = None  # what the console's Launch button put in the launch URL


@dataclass(frozen=True)
class SessionStart:
    module_id: uuid.UUID
    player: PlayerRef
    external_session_id: str | None = None
    platform: Platform | None = None
    launch_url: str | None = None
    started_at: datetime | None = None


# ---------------------------------------------------------------------------------------------- reach


def _module_reachable(actor: Actor, module: Module, simulation: Simulation) -> bool:
    """Whether the key may use this module at all (bound keys reach only their own simulation)."""
    return actor.simulation_id is None or actor.simulation_id == simulation.id


def _module_playable(actor: Actor, module: Module, simulation: Simulation) -> bool:
    if module.status == ModuleStatus.archived or simulation.status == SimulationStatus.archived:
        return False
    if simulation.status == SimulationStatus.published and module.status == ModuleStatus.published:
        return True
    # Anything not published (a draft or staged build, a published simulation's unpublished modules):
    # only for test keys bound to this simulation, so studios can test a build before players see it,
    # and what they play there never counts. Live keys play published modules only.
    return actor.test and actor.simulation_id == simulation.id


def _load_module(session: Session, actor: Actor, module_id: uuid.UUID) -> tuple[Module, Simulation]:
    row = session.execute(
        select(Module, Simulation).join(Simulation, Simulation.id == Module.simulation_id).where(Module.id == module_id)
    ).one_or_none()
    if row is None:
        raise NotFound(MODULE_NOT_FOUND)
    module, simulation = row
    if not (_module_reachable(actor, module, simulation) and _module_playable(actor, module, simulation)):
        raise NotFound(MODULE_NOT_FOUND)
    return module, simulation


def check_session_reach(actor: Actor, *, simulation_id: uuid.UUID, organization_id: uuid.UUID | None) -> None:
    if actor.simulation_id is not None and actor.simulation_id != simulation_id:
        raise NotFound(SESSION_NOT_FOUND)
    if actor.organization_id is not None and actor.organization_id != organization_id:
        raise NotFound(SESSION_NOT_FOUND)


# ------------------------------------------------------------------------------------------ sessions


def _find_player(session: Session, actor: Actor, player: PlayerRef) -> User:
    query = select(User)
    if player.user_id is not None:
        query = query.where(User.id == player.user_id)
    elif player.clerk_id is not None:
        query = query.where(User.clerk_id == player.clerk_id)
    elif player.email is not None:
        query = query.where(func.lower(User.email) == player.email.strip().lower())
    else:
        raise ValidationFailed("Name the player.", details={"player": "give user_id, clerk_id or email"})
    if actor.organization_id is not None:
        query = query.where(User.organization_id == actor.organization_id)
    users = session.scalars(query.limit(2)).all()
    if len(users) != 1:
        raise ValidationFailed("Unknown player.", details={"player": "no such player"})
    return users[0]


def start_session(*, session: Session, actor: Actor, data: SessionStart) -> tuple[PlaySession, bool]:
    """Start a play session, or return the one already started with this external_session_id.

    Returns (session, created).
    """
    module, simulation = _load_module(session, actor, data.module_id)
    if data.player.launch_token is not None:
        claims = launch.read_token(data.player.launch_token)
        retried = _retry_of_launch(session, actor, data, claims, module)
        if retried is not None:
            return retried, False
        player = launch.player_for_start(
            session, claims=claims, module=module, simulation=simulation, key_organization_id=actor.organization_id
        )
    else:
        player = _find_player(session, actor, data.player)
    if data.external_session_id is not None:
        existing = _existing_by_external_id(session, actor, data.external_session_id)
        if existing is not None:
            _same_start_or_conflict(existing, module, player)
            return existing, False
    values = {
        "id": uuid.uuid4(),
        "user_id": player.id,
        "module_id": module.id,
        "organization_id": player.organization_id,
        "external_session_id": data.external_session_id,
        "platform": (data.platform or module.platform),
        "launch_url": data.launch_url or module.launch_url,
        "status": SessionStatus.in_progress,
        "started_at": data.started_at or utcnow(),
        "api_key_id": actor.id if actor.kind is ActorKind.api_key else None,
        "is_test": actor.test,
    }

    statement = insert(PlaySession).values(**values)
    if data.external_session_id is not None:
        # Two engines racing to start the same session: one insert wins, the other reads it.
        statement = statement.on_conflict_do_nothing(index_elements=[PlaySession.external_session_id])
    inserted = session.execute(statement.returning(PlaySession.id)).scalar_one_or_none()
    if inserted is None:
        existing = _existing_by_external_id(session, actor, data.external_session_id)
        assert existing is not None
        _same_start_or_conflict(existing, module, player)
        return existing, False
    if not actor.test:  # a test session moves no assignment
        assignments.session_started(
            session=session, user_id=player.id, simulation_id=simulation.id, organization_id=player.organization_id
        )
    live.session_changed(
        session, SessionChange(inserted, player.organization_id, simulation.id, module.id, ChangeKind.started)
    )
    created = session.get(PlaySession, inserted)
    return created, True


def _retry_of_launch(
    session: Session, actor: Actor, data: SessionStart, claims: launch.LaunchClaims, module: Module
) -> PlaySession | None:
    """The session this token already started under this external_session_id, if this is a retry.

    A retry gets its session back even after the token expired (see console/services/launch.py):
    nothing new is bound to anyone. Anything else goes through every check of a new start.
    """
    if data.external_session_id is None or claims.module_id != module.id:
        return None
    existing = _existing_by_external_id(session, actor, data.external_session_id)
    if existing is not None and existing.user_id == claims.user_id and existing.module_id == module.id:
        return existing
    return None


def _existing_by_external_id(session: Session, actor: Actor, external_id: str) -> PlaySession | None:
    row = session.execute(
        select(PlaySession, Module.simulation_id)
        .join(Module, Module.id == PlaySession.module_id)
        .where(PlaySession.external_session_id == external_id)
    ).one_or_none()
    if row is None:
        return None
    existing, simulation_id = row
    try:
        check_session_reach(actor, simulation_id=simulation_id, organization_id=existing.organization_id)
    except NotFound:
        # The id is taken, by a session this key cannot see: the same answer as when it is taken by
        # another player or module (the external id is unique across the platform).
        raise _in_use() from None
    return existing


def _in_use() -> Conflict:
    return Conflict(
        "This external_session_id is already used by another module or player.",
        details={"external_session_id": "already in use"},
    )


def _same_start_or_conflict(existing: PlaySession, module: Module, player: User) -> None:
    if existing.module_id != module.id or existing.user_id != player.id:
        raise _in_use()


def get_session(*, session: Session, actor: Actor, session_id: uuid.UUID) -> PlaySession:
    row = session.execute(
        select(PlaySession, Module.simulation_id)
        .join(Module, Module.id == PlaySession.module_id)
        .where(PlaySession.id == session_id)
    ).one_or_none()
    if row is None:
        raise NotFound(SESSION_NOT_FOUND)
    play, simulation_id = row
    check_session_reach(actor, simulation_id=simulation_id, organization_id=play.organization_id)
    return play


@dataclass(frozen=True)
class ModuleConfig:
    module: Module
    simulation: Simulation


def get_module(*, session: Session, actor: Actor, module_id: uuid.UUID) -> ModuleConfig:
    """A module the key may play, with its simulation (what engines get: `modules.engine_view`)."""
    module, simulation = _load_module(session, actor, module_id)
    return ModuleConfig(module=module, simulation=simulation)
