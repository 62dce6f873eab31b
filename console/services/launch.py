"""Launching a module: the signed launch token a Launch button puts in a module's launch URL, and what
each person may launch (participants: their assignments' modules; individuals: the catalogue, by tier).

The engine presents the token back as the player of `POST /api/v1/sessions` (`player.launch_token`),
so the session is tied to the person who pressed Launch without the engine knowing anyone's email.

Decisions:
- **Stateless and signed.** `v1.<payload>.<signature>`, both base64url without padding; the payload is
  compact JSON naming the person (`u`), the module (`m`), the assignment when there is one (`a`) and
  the expiry (`e`, Unix seconds); the signature is HMAC-SHA256 over `v1.<payload>`. No table: any
  process with the same settings (`serve-api` included) verifies it, and nothing is left to clean up.
  The payload is readable, not secret: it holds ids only, and the token grants nothing without an API
  key that may post for the module (it only *names* the player).
- **Its own key.** HMAC-SHA256(storage secret, a label naming this purpose): the storage secret also
  signs the session cookie, and a key derived for launch tokens only means a cookie's signature can
  never be replayed as a token, nor a token as a cookie.
- **30 minutes.** Long enough for a game to download and boot (a WebGL build of hundreds of MB on a
  slow link, a queue for a streamed Unreal instance) before it starts its session; short enough that a
  URL left in a browser's history or a web server's log is soon worthless.
- **Checked again at session start**, not only when issued: the person is still active, the module is
  still open to players, the assignment still exists and is theirs (in their current organization),
  and an individual's tier still allows the module (free: free demo modules only).
- **Retries.** A token may be presented as often as an engine needs within its lifetime. After it, an
  exact retry of a start that already happened (same external_session_id, same person and module)
  still gets its session back: nothing new is bound to anyone, and an engine that lost the answer
  during an outage, or a web game reloaded from its URL, keeps the session it has.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from sqlalchemy import select
from sqlmodel import Session

from console.auth import Actor, ActorKind, Permission
from console.config import get_settings
from console.errors import NotFound, ValidationFailed
from console.services import assignments
from console.services.listing import ListQuery, Page, paged, search_clause
from models import Module, Simulation, SimulationAssignment, User
from models.enums import ModuleStatus, SimulationStatus, SubscriptionTier, UserRole

PARAMETER = "simvado_launch"  # the query parameter a launch URL carries the token in
LIFETIME = timedelta(minutes=30)
MAX_TOKEN_LENGTH = 1000  # ours are about 230 characters; the API refuses longer ones unread
_VERSION = "v1"
_KEY_LABEL = b"simvado-console launch token v1"
# Tiers that may play every published module; the free tier plays free demo modules only.
FULL_TIERS = frozenset({SubscriptionTier.pro_monthly, SubscriptionTier.pro_annual, SubscriptionTier.enterprise})

MODULE_NOT_FOUND = "Module not found."
NO_LAUNCH_URL = "No launch address yet"
PRO_ONLY = "Pro: needs a Pro subscription (on the free plan only free demo modules can be played)"
NOT_ASSIGNED_NOW = "No longer assigned to you through your organization"


class LaunchRefused(ValidationFailed):
    """A launch token that cannot start a session. `code` says why, so an engine can act on it:
    `launch_token_invalid` (not one of ours, or altered), `launch_token_expired` (launch again from the
    console), `launch_token_wrong_module`, `launch_token_not_allowed` (the person may not play it now)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message, details={"player.launch_token": message})
        self.code = code


@dataclass(frozen=True)
class LaunchClaims:
    user_id: uuid.UUID
    module_id: uuid.UUID
    assignment_id: uuid.UUID | None
    expires_at: datetime

    @property
    def expired(self) -> bool:
        return datetime.now(UTC) >= self.expires_at


# ------------------------------------------------------------------------------------------ tokens


def _key() -> bytes:
    secret = get_settings().resolve_storage_secret().encode()
    return hmac.new(secret, _KEY_LABEL, hashlib.sha256).digest()


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _signature(signed: str) -> bytes:
    return hmac.new(_key(), signed.encode("ascii"), hashlib.sha256).digest()


def make_token(
    *, user_id: uuid.UUID, module_id: uuid.UUID, assignment_id: uuid.UUID | None = None, now: datetime | None = None
) -> str:
    """A launch token for the person and module (and assignment), valid for LIFETIME from `now`."""
    expires = int(((now or datetime.now(UTC)) + LIFETIME).timestamp())
    claims = {"u": user_id.hex, "m": module_id.hex, "a": assignment_id.hex if assignment_id else None, "e": expires}
    payload = _b64(json.dumps(claims, separators=(",", ":")).encode())
    signed = f"{_VERSION}.{payload}"
    return f"{signed}.{_b64(_signature(signed))}"


def read_token(token: str) -> LaunchClaims:
    """The claims of a token this console signed, expired or not (`LaunchClaims.expired` says).

    Raises LaunchRefused(`launch_token_invalid`) for anything else: garbage, another version, another
    console's key, or any byte altered (the signature covers the whole payload, so a token cannot be
    edited to name someone else).
    """
    invalid = LaunchRefused(
        "launch_token_invalid", "The launch token is not valid: launch the module again from the console."
    )
    well_formed = isinstance(token, str) and len(token) <= MAX_TOKEN_LENGTH and token.isascii()
    parts = token.split(".") if well_formed else []
    if len(parts) != 3 or parts[0] != _VERSION:
        raise invalid
    try:
        presented = _unb64(parts[2])
    except (binascii.Error, ValueError):
        raise invalid from None
    if not hmac.compare_digest(presented, _signature(f"{parts[0]}.{parts[1]}")):
        raise invalid
    # Signed by us, so well-formed; still parsed defensively, never trusted into a 500.
    try:
        claims = json.loads(_unb64(parts[1]))
        return LaunchClaims(
            user_id=uuid.UUID(claims["u"]),
            module_id=uuid.UUID(claims["m"]),
            assignment_id=uuid.UUID(claims["a"]) if claims.get("a") else None,
            expires_at=datetime.fromtimestamp(int(claims["e"]), UTC),
        )
    except (ValueError, KeyError, TypeError):
        raise invalid from None


def with_token(launch_url: str, token: str) -> str:
    """`launch_url` with the token as its PARAMETER, keeping the query and fragment it already has
    (a PARAMETER already in the URL is replaced: the console's token is the only one an engine gets)."""
    parts = urlsplit(launch_url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != PARAMETER]
    query.append((PARAMETER, token))
    return urlunsplit(parts._replace(query=urlencode(query)))


def _web_address(url: str | None) -> bool:
    """Only http(s) addresses or the console's own paths are opened: never javascript:, data:, //host."""
    if not url:
        return False
    own_path = url.startswith("/") and not url.startswith("//")
    return url.startswith(("https://", "http://")) or own_path


# ------------------------------------------------------------------------------------- who may play


def tier_allows(tier: SubscriptionTier, module: Module) -> bool:
    """Whether an individual on `tier` may play the module."""
    return module.is_free_demo or tier in FULL_TIERS


def _open_to_players(module: Module, simulation: Simulation) -> bool:
    return module.status == ModuleStatus.published and simulation.status == SimulationStatus.published


def refusal(
    session: Session, *, user: User, module: Module, simulation: Simulation, assignment_id: uuid.UUID | None
) -> str | None:
    """Why the person may not play the module now (None when they may): the one rule the Launch
    buttons and the engine API's session start share."""
    if user.deactivated_at is not None:
        return "This person's account is deactivated."
    if not _open_to_players(module, simulation):
        return "This module is not open to players."
    if assignment_id is not None:
        assignment = session.get(SimulationAssignment, assignment_id)
        if (
            assignment is None
            or assignment.assigned_to_user_id != user.id
            or assignment.simulation_id != simulation.id
            # Someone who left the organization no longer plays on its assignments.
            or assignment.organization_id != user.organization_id
        ):
            return "This simulation is no longer assigned to this person."
        return None
    if user.role is not UserRole.individual:
        return "This person plays the simulations assigned to them."
    if not tier_allows(user.subscription_tier, module):
        return "This module needs a Pro subscription: on the free plan only free demo modules can be played."
    return None


def player_for_start(
    session: Session, *, claims: LaunchClaims, module: Module, simulation: Simulation, key_organization_id
) -> User:
    """The person a launch token names, if they may start a session of `module` now (the engine API's
    player resolution: `ingest.start_session`). Raises LaunchRefused, or the unknown-player refusal
    for a person outside the key's organization (an organization-bound key knows its own people only)."""
    if claims.module_id != module.id:
        raise LaunchRefused("launch_token_wrong_module", "The launch token was made for another module than module_id.")
    if claims.expired:
        raise LaunchRefused(
            "launch_token_expired", "The launch token has expired: launch the module again from the console."
        )
    user = session.get(User, claims.user_id)
    if user is None or (key_organization_id is not None and user.organization_id != key_organization_id):
        raise ValidationFailed("Unknown player.", details={"player": "no such player"})
    reason = refusal(session, user=user, module=module, simulation=simulation, assignment_id=claims.assignment_id)
    if reason is not None:
        raise LaunchRefused("launch_token_not_allowed", reason)
    return user


# ---------------------------------------------------------------------------------- Launch buttons


@dataclass(frozen=True)
class Launch:
    url: str  # the module's launch URL with the token
    expires_at: datetime


def launch(*, session: Session, actor: Actor, module_id: uuid.UUID, assignment_id: uuid.UUID | None = None) -> Launch:
    """The address a Launch button opens: the module's launch URL with a fresh token for the actor.

    Made when the button is pressed (a page stays open for hours; a token made when it was drawn
    would have expired). Read-only: nothing is stored.
    """
    actor.require(Permission.view_own_assignments)
    row = session.execute(
        select(Module, Simulation).join(Simulation, Simulation.id == Module.simulation_id).where(Module.id == module_id)
    ).one_or_none()
    user = session.get(User, actor.user_id) if actor.user_id is not None else None
    if row is None or user is None:
        raise NotFound(MODULE_NOT_FOUND)
    module, simulation = row
    if assignment_id is not None:
        visible = session.scalar(
            select(SimulationAssignment.id).where(
                SimulationAssignment.id == assignment_id,
                assignments.readable(actor),
                SimulationAssignment.assigned_to_user_id == actor.user_id,
            )
        )
        if visible is None:
            raise NotFound(MODULE_NOT_FOUND)  # another's assignment: as if it did not exist
    reason = refusal(session, user=user, module=module, simulation=simulation, assignment_id=assignment_id)
    if reason is not None:
        if not _open_to_players(module, simulation):
            raise NotFound(MODULE_NOT_FOUND)  # unpublished work is nobody's business here
        raise ValidationFailed(reason)
    if not _web_address(module.launch_url):
        raise ValidationFailed(f"{NO_LAUNCH_URL}: this module cannot be launched yet.")
    now = datetime.now(UTC)
    token = make_token(user_id=user.id, module_id=module.id, assignment_id=assignment_id, now=now)
    return Launch(url=with_token(module.launch_url, token), expires_at=now + LIFETIME)


@dataclass(frozen=True)
class PlayableModule:
    """A module as a Launch list shows it: launchable, or the short reason it is not."""

    id: str
    title: str
    simulation_id: str
    simulation_title: str
    difficulty: str
    is_free_demo: bool
    estimated_duration_min: int | None
    launchable: bool
    note: str  # why not launchable ("" when it is)


def _playable(module: Module, simulation: Simulation, *, allowed: bool, not_allowed_note: str) -> PlayableModule:
    if not allowed:
        launchable, note = False, not_allowed_note
    elif not _web_address(module.launch_url):
        launchable, note = False, NO_LAUNCH_URL
    else:
        launchable, note = True, ""
    return PlayableModule(
        id=str(module.id),
        title=module.title,
        simulation_id=str(simulation.id),
        simulation_title=simulation.title,
        difficulty=simulation.difficulty.value,
        is_free_demo=module.is_free_demo,
        estimated_duration_min=module.estimated_duration_min or simulation.estimated_duration_min,
        launchable=launchable,
        note=note,
    )


def assigned_modules(
    *, session: Session, actor: Actor, assignment_ids: Sequence[uuid.UUID]
) -> dict[str, list[PlayableModule]]:
    """The playable (published) modules of the actor's own assignments among `assignment_ids`, in the
    simulation's order, by assignment id. Ids of anyone else's assignments are left out."""
    actor.require(Permission.view_own_assignments)
    if not assignment_ids or actor.user_id is None:
        return {}
    rows = session.execute(
        select(SimulationAssignment.id, SimulationAssignment.organization_id, Module, Simulation)
        .join(Simulation, Simulation.id == SimulationAssignment.simulation_id)
        .join(Module, Module.simulation_id == Simulation.id)
        .where(
            SimulationAssignment.id.in_(list(assignment_ids)),
            assignments.readable(actor),
            SimulationAssignment.assigned_to_user_id == actor.user_id,
            Simulation.status == SimulationStatus.published,
            Module.status == ModuleStatus.published,
        )
        .order_by(Module.sort_order, Module.title, Module.id)
    ).all()
    found: dict[str, list[PlayableModule]] = {}
    for assignment_id, organization_id, module, simulation in rows:
        allowed = organization_id == actor.organization_id
        found.setdefault(str(assignment_id), []).append(
            _playable(module, simulation, allowed=allowed, not_allowed_note=NOT_ASSIGNED_NOW)
        )
    return found


# --------------------------------------------------------------------------------------- catalogue


def can_browse_catalogue(actor: Actor) -> bool:
    """Individuals (no organization assigns them work) choose from the catalogue themselves."""
    return actor.kind is ActorKind.user and actor.role is UserRole.individual


@dataclass(frozen=True)
class CatalogueAccess:
    tier: SubscriptionTier
    full: bool  # every published module is launchable (else free demo modules only)


def catalogue_access(*, session: Session, actor: Actor) -> CatalogueAccess:
    """The actor's subscription tier and what it opens in the catalogue."""
    user = _catalogue_reader(session, actor)
    return CatalogueAccess(tier=user.subscription_tier, full=user.subscription_tier in FULL_TIERS)


CATALOGUE_SORTABLE = {
    "simulation": Simulation.title,
    "module": Module.title,
    "difficulty": Simulation.difficulty,
    "duration": Module.estimated_duration_min,
}
ACCESS_FILTERS = {"free_demo": "Free demo", "pro": "Pro"}


def list_catalogue(*, session: Session, actor: Actor, query: ListQuery) -> Page[PlayableModule]:
    """Published modules of published simulations, for an individual, each launchable or not by
    their tier. Search: simulation title, module title, category. Filter `access`: free_demo or pro."""
    user = _catalogue_reader(session, actor)
    conditions = [Simulation.status == SimulationStatus.published, Module.status == ModuleStatus.published]
    search = search_clause(query.search, Simulation.title, Module.title, Simulation.category)
    if search is not None:
        conditions.append(search)
    access = query.text("access")
    if access is not None and access not in ACCESS_FILTERS:
        raise ValidationFailed(f"Unknown access “{access[:40]}”.", details={"access": "free_demo or pro"})
    if access is not None:
        conditions.append(Module.is_free_demo.is_(access == "free_demo"))
    found = paged(
        session,
        select(Module, Simulation).join(Simulation, Simulation.id == Module.simulation_id).where(*conditions),
        query,
        sortable=CATALOGUE_SORTABLE,
        default_sort="simulation",
        # A simulation's modules stay together, in its own order.
        tiebreak=(Simulation.id, Module.sort_order, Module.id),
        scalars=False,
    )
    rows = [
        _playable(module, simulation, allowed=tier_allows(user.subscription_tier, module), not_allowed_note=PRO_ONLY)
        for module, simulation in found.rows
    ]
    return Page(rows=rows, total=found.total, offset=found.offset, limit=found.limit)


def _catalogue_reader(session: Session, actor: Actor) -> User:
    actor.require(Permission.view_own_assignments)
    user = session.get(User, actor.user_id) if can_browse_catalogue(actor) else None
    if user is None:
        raise NotFound("The catalogue is for individual accounts.")
    return user
