"""Users across the platform (platform admins): list, create, change role, deactivate, reactivate.

Two rules live here because every area that touches roles must keep them, and other areas call them:

- **A platform admin always remains** (`ensure_admin_remains`): no demotion or deactivation may leave
  the platform without an active platform admin. The check locks every active platform admin's row
  (FOR UPDATE, in id order) before counting, so two admins demoting each other at the same moment
  cannot both pass: the second waits for the first, then counts what the first left.
- **A member's role and their membership role agree** (`role_for_membership`,
  `membership_role_for`): enterprise_admin ↔ membership admin, enterprise_participant ↔ participant.
  Changing one changes the other in the same unit of work. Moving someone *to* an enterprise role
  needs a membership (adding people to an organization is the people area's job); moving a member
  *to* platform_admin, studio_creator or individual is refused until they are removed from their
  organization, because a membership role would mean nothing for those roles and a seat would stay
  taken by someone who no longer acts in the organization. The user's `organization_id` link itself
  is never touched here.

Acts on a person as they are now (deactivate, reactivate) take a new version without checking one,
so a role dialog opened before them is refused as stale; a role change checks the version it read.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from pydantic import BaseModel, ConfigDict, EmailStr, Field, field_validator
from sqlalchemy import exists, func, select, update
from sqlmodel import Session

from console.auth import Actor, Permission
from console.errors import Conflict, NotFound, ValidationFailed
from console.services import accounts, audit, seats, versions
from console.services.common import required_name, validate
from console.services.listing import MAX_PAGE_SIZE, ListQuery, Page, lowered_search_clause, paged, search_clause
from console.services.people.members import lock_email, set_role
from models import AuditAction, LoginSession, Organization, OrgMembership, User
from models.base import utcnow
from models.enums import MembershipRole, SubscriptionTier, UserRole

ENTERPRISE_ROLES = frozenset({UserRole.enterprise_admin, UserRole.enterprise_participant})
STATUSES = ("active", "deactivated")
NO_ORGANIZATION = "none"  # the organization filter's value for people outside any organization
LAST_ADMIN = "The platform needs at least one active platform admin: promote someone else first."


class LastAdmin(ValidationFailed):
    """The change would leave the platform without an active platform admin. A validation refusal
    (not a Conflict) so forms show it under the field that asked for it."""

    code = "last_admin"


# What the log keeps of a person (the edit version too: it is how a stale editor learns who changed it).
_AUDITED = {"name", "email", "role", "organization_id", "deactivated_at", "version"}
_MEMBERSHIP_AUDITED = {"user_id", "organization_id", "role"}


# --- the rules other areas call ------------------------------------------------------------------


def role_for_membership(role: MembershipRole) -> UserRole:
    """The user role that goes with a membership role (the people area keeps users.role in step)."""
    return UserRole.enterprise_admin if role is MembershipRole.admin else UserRole.enterprise_participant


def membership_role_for(role: UserRole) -> MembershipRole | None:
    """The membership role that goes with a user role; None for roles that have no membership."""
    return {
        UserRole.enterprise_admin: MembershipRole.admin,
        UserRole.enterprise_participant: MembershipRole.participant,
    }.get(role)


def ensure_admin_remains(session: Session, *, losing: Iterable[uuid.UUID]) -> None:
    """Refuse (LastAdmin) if the people in `losing` stopping being active platform admins would leave
    none. Locks every active platform admin's row until commit: call it before changing anyone's role
    or status, and before locking that person's row otherwise (one lock order, no deadlock)."""
    losing = set(losing)
    admins = session.scalars(
        select(User.id)
        .where(User.role == UserRole.platform_admin, User.deactivated_at.is_(None))
        .order_by(User.id)
        .with_for_update()
    ).all()
    if losing & set(admins) and not set(admins) - losing:
        raise LastAdmin(LAST_ADMIN, details={"role": LAST_ADMIN})


# --- reading -------------------------------------------------------------------------------------


@dataclass
class UserRow:
    """A person as the list shows them."""

    id: uuid.UUID
    name: str
    email: str
    role: UserRole
    organization_id: uuid.UUID | None
    organization_name: str | None
    subscription_tier: SubscriptionTier
    last_sign_in_at: datetime | None
    created_at: datetime
    deactivated_at: datetime | None
    version: int

    @property
    def status(self) -> str:
        return "deactivated" if self.deactivated_at is not None else "active"


# Last sign-in is the newest login session: every way of signing in (password today, OIDC next) ends
# in `accounts.start_login_session`, while local_credentials.last_login_at knows password logins only
# (an SSO organization's people would all read "never").
#
# Measured on 50,000 people with 200,000 login sessions (EXPLAIN ANALYZE): computing it in the paged
# statement cost ~1 s whenever PostgreSQL had to evaluate it for every row it sorts or skips (a deep
# OFFSET, or sorting by it). So the page is chosen first on the users table alone, and last sign-in
# and organization name are then read for that page's rows only (one probe of login_sessions'
# user_id index each); sorting by last sign-in joins one grouped pass over login_sessions instead.
_LAST_SIGN_IN = (
    select(func.max(LoginSession.created_at))
    .where(LoginSession.user_id == User.id)
    .correlate(User)
    .scalar_subquery()
    .label("last_sign_in_at")
)
_LATEST = (
    select(LoginSession.user_id, func.max(LoginSession.created_at).label("at"))
    .group_by(LoginSession.user_id)
    .subquery("latest_sign_in")
)
SORTABLE = {
    "name": User.name,
    "email": User.email,
    "created_at": User.created_at,
    "last_sign_in_at": _LATEST.c.at,
}
FILTERS = ("role", "organization", "tier", "status")


def _require(actor: Actor) -> None:
    actor.require(Permission.manage_platform)


def list_(*, session: Session, actor: Actor, query: ListQuery) -> Page[UserRow]:
    """A page of people, newest first unless sorted otherwise. Search: name, email. Filters: `role`,
    `organization` (an id, or "none" for people outside any organization), `tier`, `status`
    (active / deactivated)."""
    _require(actor)
    conditions = [accounts.readable(actor)]
    if (search := lowered_search_clause(query.search, User.search_text)) is not None:
        conditions.append(search)
    if role := query.choice("role", UserRole):
        conditions.append(User.role == role)
    if query.text("organization") == NO_ORGANIZATION:
        conditions.append(User.organization_id.is_(None))
    elif organization_id := query.uuid("organization"):
        conditions.append(User.organization_id == organization_id)
    if tier := query.choice("tier", SubscriptionTier):
        conditions.append(User.subscription_tier == tier)
    if status := query.text("status"):
        if status not in STATUSES:
            raise ValidationFailed(f"Unknown status “{status}”.", details={"status": "active or deactivated"})
        conditions.append(User.deactivated_at.is_(None) if status == "active" else User.deactivated_at.is_not(None))
    statement = select(User).where(*conditions)
    if query.sort == "last_sign_in_at":
        statement = statement.outerjoin(_LATEST, _LATEST.c.user_id == User.id)
    found = paged(
        session,
        statement,
        query,
        sortable=SORTABLE,
        default_sort="created_at",
        default_descending=True,
        tiebreak=User.id,
        count=select(func.count()).select_from(User).where(*conditions),
    )
    extra = {
        user_id: (org_name, last)
        for user_id, org_name, last in session.execute(
            select(User.id, Organization.name, _LAST_SIGN_IN)
            .outerjoin(Organization, Organization.id == User.organization_id)
            .where(User.id.in_([u.id for u in found.rows]))
        )
    }
    return Page(
        rows=[_row(user, *extra[user.id]) for user in found.rows],
        total=found.total,
        offset=found.offset,
        limit=found.limit,
    )


def _row(user: User, organization_name: str | None, last_sign_in_at: datetime | None) -> UserRow:
    return UserRow(
        id=user.id,
        name=user.name,
        email=user.email,
        role=user.role,
        organization_id=user.organization_id,
        organization_name=organization_name,
        subscription_tier=user.subscription_tier,
        last_sign_in_at=last_sign_in_at,
        created_at=user.created_at,
        deactivated_at=user.deactivated_at,
        version=user.version,
    )


def get(*, session: Session, actor: Actor, user_id: uuid.UUID) -> User:
    _require(actor)
    return accounts.get_user(session=session, actor=actor, user_id=user_id)


def organization_options(*, session: Session, actor: Actor, search: str = "") -> dict[str, str]:
    """Organizations as {id: name} for pickers: the first 20 whose name contains `search`."""
    _require(actor)
    by_name = search_clause(search, Organization.name)
    rows = session.execute(
        select(Organization.id, Organization.name)
        .where(*([by_name] if by_name is not None else []))
        .order_by(Organization.name, Organization.id)
        .limit(20)
    ).all()
    return {str(i): name for i, name in rows}


def organization_name(*, session: Session, actor: Actor, organization_id: uuid.UUID) -> str | None:
    """An organization's name, for a filter opened from a link (None when there is no such one)."""
    _require(actor)
    return session.scalar(select(Organization.name).where(Organization.id == organization_id))


def membership_of(session: Session, user: User) -> OrgMembership | None:
    """The person's membership of their own organization (users.organization_id), if any."""
    if user.organization_id is None:
        return None
    return session.scalar(
        select(OrgMembership).where(
            OrgMembership.user_id == user.id, OrgMembership.organization_id == user.organization_id
        )
    )


# --- creating ------------------------------------------------------------------------------------


class UserCreate(BaseModel):
    """What the New user form may set; anything else (id, version, tier, status) is refused."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(max_length=255)
    email: EmailStr
    role: UserRole
    organization_id: uuid.UUID | None = None
    password: str | None = Field(default=None, min_length=accounts.MIN_PASSWORD_LENGTH, max_length=256)

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        return required_name(value)


def create(*, session: Session, actor: Actor, data: dict) -> User:
    """A new person; enterprise roles join their organization with the matching membership role (a
    seat is claimed). No password: they sign in once someone sets one (the people area invites)."""
    _require(actor)
    new = validate(UserCreate, data)
    email = accounts.normalize_email(new.email)
    lock_email(session, email)  # two admins creating the same address at once make one account
    if session.scalar(select(exists().where(func.lower(User.email) == email))):
        # Inline under the field (a Conflict would only be a notification); the same answer as the
        # people area gives, and platform admins may know every address anyway.
        raise ValidationFailed("A user with this email already exists.", details={"email": "already in use"})
    if new.role not in ENTERPRISE_ROLES and new.organization_id is not None:
        raise ValidationFailed(
            "Only enterprise roles belong to an organization.",
            details={"organization_id": "only for enterprise admins and participants"},
        )
    if new.role in ENTERPRISE_ROLES and new.organization_id is None:
        raise ValidationFailed("This role needs an organization.", details={"organization_id": "choose one"})
    if new.role in ENTERPRISE_ROLES:
        if session.get(Organization, new.organization_id) is None:
            raise ValidationFailed("Unknown organization.", details={"organization_id": "not found"})
        # Before the user exists: a full organization refuses without writing anything.
        seats.claim(session, new.organization_id, 1 if new.role is UserRole.enterprise_participant else 0)
    user = accounts.create_user(session=session, actor=actor, data=new.model_dump(exclude_none=True))
    if (membership_role := membership_role_for(user.role)) is not None:
        membership = OrgMembership(user_id=user.id, organization_id=user.organization_id, role=membership_role)
        session.add(membership)
        audit.created(
            session=session,
            actor=actor,
            action=AuditAction.membership_add,
            subject=membership,
            fields=_MEMBERSHIP_AUDITED,
            organization_id=user.organization_id,
        )
    return user


# --- changing ------------------------------------------------------------------------------------


def change_role(*, session: Session, actor: Actor, user_id: uuid.UUID, role: UserRole | str, version: int) -> User:
    """Give a person another role, checked against the version the caller read (see the module's
    rules). Refused: your own role, the last platform admin, an enterprise role without a membership,
    a member moved to a role that has no membership."""
    _require(actor)
    try:
        role = UserRole(role)
    except ValueError:
        raise ValidationFailed("Unknown role.", details={"role": "not a role"}) from None
    user = get(session=session, actor=actor, user_id=user_id)
    if user.id == actor.user_id:
        # Demoting yourself would close this page under you: another platform admin does it.
        _refuse("You cannot change your own role: ask another platform admin.")
    if role is not UserRole.platform_admin:
        ensure_admin_remains(session, losing=[user.id])
    versions.check(session, user, version=version, noun="person", fields=_AUDITED)
    if role == user.role:
        return user
    membership = membership_of(session, user)
    wanted = membership_role_for(role)
    if wanted is not None and membership is None:
        _refuse(f"{user.name} is not a member of an organization. Add them to one in its People page first.")
    if wanted is None and membership is not None:
        _refuse(
            f"{user.name} is a member of an organization. Remove them from it in its People page first: "
            "this role has no organization membership."
        )
    if membership is not None:  # an enterprise role: the membership's, which the account follows
        return set_role(session=session, actor=actor, membership=membership, wanted=wanted)
    with audit.changing(
        session=session,
        actor=actor,
        action=AuditAction.user_update,
        subject=user,
        fields=_AUDITED,
        organization_id=user.organization_id,
    ):
        user.role = role
        versions.bump(user)
    return user


def _refuse(message: str) -> None:
    # The whole sentence under the role field too: the dialog shows it where the person looks.
    raise ValidationFailed(message, details={"role": message})


def deactivate(*, session: Session, actor: Actor, user_id: uuid.UUID) -> User:
    """Stop a person from signing in: their login sessions are revoked, so open pages stop at their
    next action. Their history stays. Not yourself, not the last active platform admin."""
    _require(actor)
    user = get(session=session, actor=actor, user_id=user_id)
    if user.id == actor.user_id:
        raise ValidationFailed("You cannot deactivate yourself: ask another platform admin.")
    ensure_admin_remains(session, losing=[user.id])
    session.refresh(user, with_for_update={"key_share": True})
    if user.deactivated_at is not None:
        return user
    end_access(session=session, actor=actor, user=user)
    return user


def end_access(*, session: Session, actor: Actor, user: User, why: str = "") -> None:
    """Deactivate `user` now: every login session of theirs ends, audited (with `why` first). Whoever
    calls has checked that they may (here an admin; the Clerk mirror, a deletion in Clerk)."""
    revoked = session.execute(
        update(LoginSession)
        .where(LoginSession.user_id == user.id, LoginSession.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    ).rowcount
    with audit.changing(
        session=session,
        actor=actor,
        action=AuditAction.user_deactivate,
        subject=user,
        fields=_AUDITED,
        organization_id=user.organization_id,
        comment=f"{why}{revoked} login session{'s' if revoked != 1 else ''} ended",
    ):
        user.deactivated_at = utcnow()
        versions.bump(user)


def reactivate(*, session: Session, actor: Actor, user_id: uuid.UUID) -> User:
    """Let a deactivated person sign in again (with their old password, if they had one)."""
    _require(actor)
    user = get(session=session, actor=actor, user_id=user_id)
    session.refresh(user, with_for_update={"key_share": True})
    if user.deactivated_at is None:
        return user
    with audit.changing(
        session=session,
        actor=actor,
        action=AuditAction.user_reactivate,
        subject=user,
        fields=_AUDITED,
        organization_id=user.organization_id,
    ):
        user.deactivated_at = None
        versions.bump(user)
    return user


@dataclass
class BulkResult:
    """What a bulk act did: the people changed, and the refused ones with why (by id)."""

    changed: list[uuid.UUID] = field(default_factory=list)
    refused: dict[uuid.UUID, str] = field(default_factory=dict)


def deactivate_many(*, session: Session, actor: Actor, user_ids: list[uuid.UUID]) -> BulkResult:
    """Deactivate each person on their own: one refused (yourself, the last admin) leaves the others done."""
    return _each(session, actor, user_ids, deactivate)


def reactivate_many(*, session: Session, actor: Actor, user_ids: list[uuid.UUID]) -> BulkResult:
    return _each(session, actor, user_ids, reactivate)


def _each(session: Session, actor: Actor, user_ids: list[uuid.UUID], act) -> BulkResult:  # noqa: ANN001
    _require(actor)
    if len(user_ids) > MAX_PAGE_SIZE:
        raise ValidationFailed("Too many people at once.", details={"user_ids": f"at most {MAX_PAGE_SIZE}"})
    result = BulkResult()
    for user_id in dict.fromkeys(user_ids):
        # A savepoint per person: all of one person's change or none of it, whatever the others do.
        savepoint = session.begin_nested()
        try:
            act(session=session, actor=actor, user_id=user_id)
        except (ValidationFailed, Conflict, NotFound) as exc:
            savepoint.rollback()
            result.refused[user_id] = exc.message
        else:
            savepoint.commit()
            result.changed.append(user_id)
    return result
