"""The Clerk user mirror: `users` kept in step with Clerk's user.created / updated / deleted deliveries.

The web boundary (console/identity_routes.py) has already checked the svix signature on the raw body;
this module applies one delivery inside the boundary's unit of work. Four rules, each with its reason
(docs/identity.md says more):

1. **A delivery applies once.** Its `svix-id` is inserted into `clerk_deliveries` (ON CONFLICT DO
   NOTHING) in the same transaction as the effect. A retry finds the row and changes nothing; two
   copies at once collide on the primary key, and the second waits for the first to commit and then
   finds the row. If the first rolls back, the second applies it: nothing is lost.
2. **Any order converges.** Clerk (through Svix) promises no order. Each user.created/updated carries
   the whole user object with Clerk's own `updated_at`; a version is applied only if it is newer than
   the one applied before (ties broken by a digest of the object, so equal timestamps resolve the same
   way in any order). The state per Clerk user id (`clerk_users`) is locked for the delivery, so two
   deliveries about one person take turns.
3. **Deleted stays deleted.** user.deleted writes a tombstone (`clerk_users.deleted_at`) that nothing
   clears (Clerk never reuses a user id): the person is deactivated and their login sessions end, and
   a version arriving later may still correct their name or email (so every order ends the same) but
   never makes them active again. A deletion before any creation leaves the tombstone only, and the
   creation that follows makes the person already deactivated.
4. **Never linked by an unproven email.** A Clerk user is the console's person with the same
   `clerk_id`. A new Clerk user whose primary email equals an existing person's who has no `clerk_id`
   is linked to them only if Clerk says that address is verified: otherwise anyone could sign up at
   Clerk with someone else's address and take over their record (the mirror renames it, and deletes
   it). An unverified collision, or a person already linked to another Clerk user, creates nothing and
   is kept on the state as a `conflict` until a newer version resolves it. New people are
   `individual`s with no organization: an admin brings them into one.

The mirror never touches a password login (`local_credentials`): a Clerk email change renames the
person, not their password sign-in.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy import func, select
from sqlmodel import Session

from console.auth import Actor, ActorKind
from console.errors import PermissionDenied, ValidationFailed
from console.services import accounts, audit, deliveries, users, versions
from models import AuditAction, ClerkDelivery, ClerkUser, User, UserRole
from models.base import utcnow

log = logging.getLogger(__name__)

# The one actor every Clerk delivery acts as (the audit log names it); it holds no console permission:
# the mirror is the only thing it may do, and only this module does it.
MIRROR_ACTOR = Actor.webhook("Clerk webhook", frozenset())
USER_EVENTS = ("user.created", "user.updated", "user.deleted")
_AUDITED = {"email", "name", "clerk_id", "deactivated_at"}


# ------------------------------------------------------------------------------------------ payloads


class _Verification(BaseModel):
    model_config = ConfigDict(extra="ignore")
    status: str | None = None


class _EmailAddress(BaseModel):
    model_config = ConfigDict(extra="ignore")
    id: str = Field(max_length=255)
    email_address: str = Field(min_length=3, max_length=255)
    verification: _Verification | None = None


class ClerkUserData(BaseModel):
    """The parts of Clerk's user object the mirror reads (the rest is ignored)."""

    model_config = ConfigDict(extra="ignore")
    id: str = Field(min_length=1, max_length=255)
    first_name: str | None = None
    last_name: str | None = None
    username: str | None = None
    primary_email_address_id: str | None = None
    email_addresses: list[_EmailAddress] = Field(default_factory=list)
    updated_at: int  # milliseconds since the epoch: Clerk's own clock for this object

    def primary_email(self) -> _EmailAddress | None:
        return next((e for e in self.email_addresses if e.id == self.primary_email_address_id), None) or next(
            iter(self.email_addresses), None
        )

    def display_name(self, email: str) -> str:
        name = " ".join(p.strip() for p in (self.first_name, self.last_name) if p and p.strip())
        return (name or (self.username or "").strip() or email.split("@", 1)[0])[:255]


class _DeletedData(BaseModel):
    model_config = ConfigDict(extra="ignore")
    id: str = Field(min_length=1, max_length=255)


class ClerkEvent(BaseModel):
    model_config = ConfigDict(extra="ignore")
    type: str = Field(min_length=1, max_length=100)
    data: dict[str, Any]


@dataclass(frozen=True)
class Outcome:
    """What a delivery did: applied, duplicate (seen before), stale (an older version), ignored."""

    status: str
    clerk_id: str | None = None


# ------------------------------------------------------------------------------------------- service


def _require_mirror(actor: Actor) -> None:
    # The mirror is the Clerk webhook's job (or the console's own, e.g. a replay from the CLI).
    if actor.kind not in (ActorKind.webhook, ActorKind.system):
        raise PermissionDenied("Only the Clerk webhook keeps the user mirror.")


def _parse(model: type[BaseModel], data: Any) -> Any:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        fields = sorted({".".join(str(p) for p in err["loc"]) for err in exc.errors()})
        raise ValidationFailed("The Clerk event is not a user object we can read.", details={"fields": fields}) from exc


def apply_delivery(*, session: Session, actor: Actor, svix_id: str, event: dict) -> Outcome:
    """Apply one verified Clerk delivery (the parsed JSON body) once. Never commits."""
    _require_mirror(actor)
    envelope = _parse(ClerkEvent, event)
    clerk_id = envelope.data.get("id")[:255] if isinstance(envelope.data.get("id"), str) else None
    parsed: ClerkUserData | _DeletedData | None = None
    if envelope.type in ("user.created", "user.updated"):
        parsed = _parse(ClerkUserData, envelope.data)
    elif envelope.type == "user.deleted":
        parsed = _parse(_DeletedData, envelope.data)
    if not deliveries.first_time(
        session, ClerkDelivery, key={"svix_id": svix_id}, event_type=envelope.type, clerk_id=clerk_id or None
    ):
        return Outcome("duplicate", clerk_id)
    if parsed is None:
        return Outcome("ignored", clerk_id)  # another kind of Clerk event: recorded, nothing to mirror
    state = deliveries.locked(session, ClerkUser, key={"clerk_id": parsed.id})
    if isinstance(parsed, _DeletedData):
        _delete(session, actor, state)
        return Outcome("applied", parsed.id)
    return Outcome(_apply_version(session, actor, state, parsed), parsed.id)


def _digest(data: ClerkUserData) -> str:
    return hashlib.sha256(json.dumps(data.model_dump(mode="json"), sort_keys=True).encode()).hexdigest()


def _apply_version(session: Session, actor: Actor, state: ClerkUser, data: ClerkUserData) -> str:
    version = (data.updated_at, _digest(data))
    if state.applied_updated_at is not None and (state.applied_updated_at, state.applied_digest or "") >= version:
        return "stale"
    state.applied_updated_at, state.applied_digest = version
    state.conflict = None
    primary = data.primary_email()
    if primary is None:
        state.conflict = "no email address"
        return "applied"
    email = accounts.normalize_email(primary.email_address)
    verified = primary.verification is not None and primary.verification.status == "verified"
    user = session.get(User, state.user_id) if state.user_id else None
    if user is None:
        user = _find_or_create(session, actor, state, data, email=email, verified=verified)
    else:
        _update(session, actor, state, user, data, email=email)
    if user is not None and state.deleted_at is not None:
        _deactivate(session, actor, state, user)
    return "applied"


def _find_or_create(
    session: Session, actor: Actor, state: ClerkUser, data: ClerkUserData, *, email: str, verified: bool
) -> User | None:
    user = session.scalar(select(User).where(User.clerk_id == data.id).with_for_update())
    if user is not None:  # set before the mirror knew (demo data, an earlier state): take it up
        state.user_id = user.id
        _update(session, actor, state, user, data, email=email)
        return user
    holder = session.scalar(
        select(User).where(func.lower(User.email) == email).order_by(User.created_at).limit(1).with_for_update()
    )
    if holder is not None:
        if holder.clerk_id is not None:
            state.conflict = "email belongs to another Clerk user"
            return None
        if not verified:
            state.conflict = "email unverified and used by an existing account"
            return None
        with audit.changing(
            session=session,
            actor=actor,
            action=AuditAction.user_update,
            subject=holder,
            fields=_AUDITED,
            organization_id=holder.organization_id,
            comment="linked to its Clerk user by a verified email address",
        ):
            holder.clerk_id = data.id
            holder.name = data.display_name(email)
        state.user_id = holder.id
        return holder
    user = User(clerk_id=data.id, email=email, name=data.display_name(email), role=UserRole.individual)
    session.add(user)
    audit.created(
        session=session,
        actor=actor,
        action=AuditAction.user_create,
        subject=user,
        fields=_AUDITED,
        comment="from Clerk",
    )
    state.user_id = user.id
    return user


def _update(session: Session, actor: Actor, state: ClerkUser, user: User, data: ClerkUserData, *, email: str) -> None:
    taken = session.scalar(select(User.id).where(func.lower(User.email) == email, User.id != user.id).limit(1))
    if taken is not None:
        # Engines find players by email: two people with one address would make that ambiguous.
        state.conflict = "email used by another account: not changed"
        email = user.email
    name = data.display_name(email)
    if (user.email, user.name) == (email, name):
        return
    with audit.changing(
        session=session,
        actor=actor,
        action=AuditAction.user_update,
        subject=user,
        fields=_AUDITED,
        organization_id=user.organization_id,
        comment="from Clerk",
    ):
        user.email = email
        user.name = name
        versions.bump(user)  # an editor holding the old version is told who changed it


def _delete(session: Session, actor: Actor, state: ClerkUser) -> None:
    if state.deleted_at is None:
        state.deleted_at = utcnow()
    user = session.get(User, state.user_id) if state.user_id else None
    if user is not None:
        _deactivate(session, actor, state, user)


def _deactivate(session: Session, actor: Actor, state: ClerkUser, user: User) -> None:
    if user.deactivated_at is not None:
        return
    if user.role is UserRole.platform_admin:
        from console.services.users import LastAdmin, ensure_admin_remains

        try:
            ensure_admin_remains(session, losing=[user.id])
        except LastAdmin:
            # Deleting the last platform admin in Clerk must not lock everyone out of the console.
            log.warning("Clerk deleted the last active platform admin; the account stays active")
            state.conflict = "last active platform admin: kept active"
            return
    users.end_access(session=session, actor=actor, user=user, why="deleted in Clerk; ")
