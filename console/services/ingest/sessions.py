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
from console.services import assignments, launch, scoring
from models import ApiKey, Module, PlaySession, Simulation, User
from models.base import utcnow
from models.enums import ModuleStatus, Platform, SessionStatus, SimulationStatus, UserRole

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
    if not _module_reachable(actor, module, simulation):
        raise NotFound(MODULE_NOT_FOUND)
    if not _module_playable(actor, module, simulation):
        raise _not_playable(module, simulation)
    return module, simulation


def _not_playable(module: Module, simulation: Simulation) -> NotFound:
    """A module within the key's reach that it may not play (yet): say why, with what would let it.

    Only said to a key whose binding covers the module (unbound, or bound to its simulation): one bound
    elsewhere hears "not found", as for an id that does not exist.
    """
    statuses = {"simulation_status": simulation.status.value, "module_status": module.status.value}
    if module.status == ModuleStatus.archived or simulation.status == SimulationStatus.archived:
        message = "This module is archived: it can no longer be played."
    else:
        message = (
            f"This module is not published (its simulation is {simulation.status.value}, the module "
            f"{module.status.value}): only published modules of published simulations can be played with "
            "this key. To play it before then, use a test key (sk_sim_test_…) bound to its simulation: it plays "
            "the simulation's draft, staged and unpublished modules (a studio creator makes one on API keys)."
        )
    refused = NotFound(message, details={"module_id": str(module.id), **statuses})
    refused.code = "module_not_playable"
    return refused


# A test key's events would count (scores, percentiles, assignments) in a session a live key started.
TEST_KEY_ON_REAL_SESSION = (
    "This is a test key: it reports events only for test sessions, and this session was started with a live "
    "key (real play, which counts). Start a session with the test key to try a build, or use the live key."
)


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
        field = "user_id" if player.user_id is not None else "clerk_id" if player.clerk_id is not None else "email"
        reach = " in the key's organization" if actor.organization_id is not None else ""
        raise ValidationFailed(
            f"Unknown player: no person with this {field}{reach}. Check it against the console's people, or "
            "send the launch_token the console put in the launch URL instead.",
            details={f"player.{field}": "no such player"},
        )
    if users[0].deactivated_at is not None:
        # The same rule as a launch token's player (launch.refusal): whoever ended this person's access
        # ended their play too, however the engine names them.
        raise ValidationFailed("This person's account is deactivated.", details={"player": "deactivated"})
    return users[0]


def _creator_maker(session: Session, actor: Actor) -> User | None:
    """The studio creator who made this test key, if one did.

    Such a key plays as its maker only: bound to a simulation but to no organization, it would otherwise
    reach every person on the platform (telling whoever holds it which emails exist, and putting test
    sessions on other organizations' pages). Keys made by admins, the CLI or the demo keep their
    binding's reach."""
    if not actor.test:
        return None
    return session.scalar(
        select(User)
        .join(ApiKey, ApiKey.created_by_id == User.id)
        .where(ApiKey.id == actor.id, User.role == UserRole.studio_creator)
    )


def _as_maker(maker: User, player: PlayerRef) -> User:
    """The maker, if `player` names them; refused otherwise, before any lookup (so nothing is told about
    who else exists)."""
    named = (
        (player.user_id is not None and player.user_id == maker.id)
        or (player.clerk_id is not None and player.clerk_id == maker.clerk_id)
        or (player.email is not None and player.email.strip().lower() == maker.email.lower())
    )
    if not named:
        raise ValidationFailed(
            f'A studio creator\'s test key plays as the person who made it: send "player": {{"email": '
            f'"{maker.email}"}}. Ask a platform admin for a test key that reaches other players.',
            details={"player": "a studio creator's test key plays as its maker"},
        )
    if maker.deactivated_at is not None:
        raise ValidationFailed("This person's account is deactivated.", details={"player": "deactivated"})
    return maker


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
    elif (maker := _creator_maker(session, actor)) is not None:
        player = _as_maker(maker, data.player)
    else:
        player = _find_player(session, actor, data.player)
    if data.external_session_id is not None:
        existing = _existing_by_external_id(session, actor, data.external_session_id)
        if existing is not None:
            _same_start_or_conflict(existing, module, player.id, data)
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
        _same_start_or_conflict(existing, module, player.id, data)
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
        _same_start_or_conflict(existing, module, claims.user_id, data)  # a retry, unless its fields differ
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
        # The id is taken (it is unique across the platform), by a session this key cannot see: say
        # so without saying whose it is.
        raise _taken_elsewhere() from None
    if actor.kind is ActorKind.api_key and existing.api_key_id not in (None, actor.id):
        # Within reach but started by another key (two studios' unbound keys, say, or two builds that
        # copied the guide's id): a start is only ever a retry of the same key's own.
        raise _taken_elsewhere()
    return existing


USE_A_UUID = "Give every play session its own external_session_id: a UUID made by the engine (uuid4)."


def _taken_elsewhere() -> Conflict:
    return Conflict(
        "This external_session_id is already used by a play session that another API key or organization "
        f"started. {USE_A_UUID}",
        details={"external_session_id": "already used by a play session of another API key or organization"},
    )


def _same_start_or_conflict(existing: PlaySession, module: Module, player_id: uuid.UUID, data: SessionStart) -> None:
    """A start sent again (a retry) gets its session back; one that differs in what it names is a 409
    that names the fields that differ. Optional fields left out of the retry are not compared."""
    differing: dict[str, str] = {}
    if existing.module_id != module.id:
        differing["module_id"] = f"the session was started for module {existing.module_id}"
    if existing.user_id != player_id:
        differing["player"] = "the session was started for another player"
    if data.platform is not None and existing.platform != data.platform:
        was = existing.platform.value if existing.platform is not None else "none"
        differing["platform"] = f"the session was started with {was}"
    if data.launch_url is not None and existing.launch_url != data.launch_url:
        differing["launch_url"] = "the session was started with another launch_url"
    if data.started_at is not None and existing.started_at != data.started_at:
        differing["started_at"] = f"the session was started at {existing.started_at.isoformat()}"
    if differing:
        raise Conflict(
            f"This external_session_id already names a session started with other {', '.join(differing)}: "
            f"resend the same start to get it back (200), or start a new session. {USE_A_UUID}",
            details={**differing, "session_id": str(existing.id)},
        )


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


def passed(*, session: Session, play: PlaySession) -> bool | None:
    """Whether a completed session's total reached its simulation's pass mark (the current one); None
    while it has no final scores (in progress, or its simulation's scoring is not configured)."""
    if not play.final_scores or "total" not in play.final_scores:
        return None
    raw = session.scalar(
        select(Simulation.scoring_config)
        .join(Module, Module.simulation_id == Simulation.id)
        .where(Module.id == play.module_id)
    )
    try:
        config = scoring.parse_config(raw)
    except ValidationFailed:
        return None
    return scoring.passed(config, play.final_scores)


@dataclass(frozen=True)
class ModuleConfig:
    module: Module
    simulation: Simulation


MODULE_LIST_LIMIT = 1000


def list_modules(*, session: Session, actor: Actor) -> list[ModuleConfig]:
    """Every module the key may play (the rules of `_module_reachable` and `_module_playable`, in SQL), by
    simulation title and the module's order; at most MODULE_LIST_LIMIT."""
    playable = (Simulation.status == SimulationStatus.published) & (Module.status == ModuleStatus.published)
    if actor.test and actor.simulation_id is not None:
        # What `_module_playable` lets a test key bound to its simulation play: all but the archived.
        playable = playable | (
            (Simulation.id == actor.simulation_id)
            & (Simulation.status != SimulationStatus.archived)
            & (Module.status != ModuleStatus.archived)
        )
    query = (
        select(Module, Simulation)
        .join(Simulation, Simulation.id == Module.simulation_id)
        .where(playable)
        .order_by(Simulation.title, Simulation.id, Module.sort_order, Module.id)
        .limit(MODULE_LIST_LIMIT)
    )
    if actor.simulation_id is not None:
        query = query.where(Simulation.id == actor.simulation_id)
    return [ModuleConfig(module=m, simulation=sim) for m, sim in session.execute(query).all()]


def get_module(*, session: Session, actor: Actor, module_id: uuid.UUID) -> ModuleConfig:
    """A module the key may play, with its simulation (what engines get: `modules.engine_view`)."""
    module, simulation = _load_module(session, actor, module_id)
    return ModuleConfig(module=module, simulation=simulation)
