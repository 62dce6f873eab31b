"""Invitations: a member added without a password gets a one-time link to set one.

The member (user and membership, so the seat) exists from the invitation on. The link's token is 256
bits from `secrets`; only its SHA-256 is stored, so the link is shown once, to the admin who made it.
It works once, for 7 days, and only while it is the member's latest: inviting them again revokes the
earlier link. Every refusal of a link — unknown, used, revoked, expired, member removed — is the same
message, so a guesser learns nothing.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from pydantic import BaseModel, Field
from sqlalchemy import func, select, update
from sqlmodel import Session

from console.auth import Actor
from console.errors import Conflict, NotFound
from console.services import accounts, audit, seats
from console.services.common import validate
from console.services.people import members, scope
from models import AuditAction, AuditEntity, Invitation, LocalCredential, Organization, OrgMembership, User
from models.base import utcnow

LIFETIME = timedelta(days=7)
BAD_LINK = "This invitation link is not valid. It may have expired or been used already: ask your admin for a new one."
_AUDITED = ("user_id", "expires_at", "used_at", "revoked_at")


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class CreatedInvitation:
    """A new invitation: `token` goes into the link shown to the admin once, and is kept nowhere."""

    invitation: Invitation
    token: str
    email: str
    name: str


def _entry(invitation: Invitation) -> dict:
    return {k: audit._jsonable(getattr(invitation, k)) for k in _AUDITED}


def _issue(session: Session, actor: Actor, user: User, organization_id: uuid.UUID) -> CreatedInvitation:
    now = utcnow()
    # The member's earlier open link stops working: only the newest one is theirs to use.
    earlier = list(
        session.scalars(
            select(Invitation).where(
                Invitation.user_id == user.id,
                Invitation.organization_id == organization_id,
                Invitation.used_at.is_(None),
                Invitation.revoked_at.is_(None),
            )
        )
    )
    for old in earlier:
        _revoke(session, actor, old, now, comment="replaced by a new invitation")
    token = secrets.token_urlsafe(32)
    invitation = Invitation(
        organization_id=organization_id,
        user_id=user.id,
        token_hash=hash_token(token),
        created_by_id=actor.user_id,
        expires_at=now + LIFETIME,
    )
    session.add(invitation)
    session.flush()
    audit.record(
        session=session,
        actor=actor,
        action=AuditAction.invitation_create,
        subject=(AuditEntity.invitation, invitation.id),
        organization_id=organization_id,
        after=_entry(invitation),
        comment=user.email,
    )
    return CreatedInvitation(invitation=invitation, token=token, email=user.email, name=user.name)


def _revoke(session: Session, actor: Actor, invitation: Invitation, now: datetime, comment: str | None = None) -> None:
    before = _entry(invitation)
    invitation.revoked_at = now
    session.add(invitation)
    audit.record(
        session=session,
        actor=actor,
        action=AuditAction.invitation_revoke,
        subject=(AuditEntity.invitation, invitation.id),
        organization_id=invitation.organization_id,
        before=before,
        after=_entry(invitation),
        comment=comment,
    )


def invite(
    *, session: Session, actor: Actor, organization_id: uuid.UUID | None, data: dict | members.MemberFields
) -> CreatedInvitation:
    """Add a member without a password (their seat is claimed now) and make their one-time link. Someone
    already invited who has not set a password yet gets a new link (the earlier one stops working)."""
    new = validate(members.MemberFields, data)
    org = scope.organization(session, actor, organization_id)
    email = accounts.normalize_email(new.email)
    existing = session.execute(
        select(OrgMembership, LocalCredential.user_id)
        .join(User, User.id == OrgMembership.user_id)
        .outerjoin(LocalCredential, LocalCredential.user_id == User.id)
        .where(OrgMembership.organization_id == org.id, func.lower(User.email) == email)
    ).first()
    if existing is not None:
        return reinvite(session=session, actor=actor, membership_id=existing[0].id)
    seats.claim(session, org.id, 1 if seats.takes_seat(new.role) else 0)
    _, user, created = members.place(session=session, actor=actor, organization_id=org.id, data=new)
    if not created:
        # A link sets a password: never for an account that existed before (it has its own way in).
        raise Conflict(
            f"{email} already has an account: add them as a member instead; they sign in as before.",
            details={"email": "has an account"},
        )
    return _issue(session, actor, user, org.id)


def reinvite(*, session: Session, actor: Actor, membership_id: uuid.UUID) -> CreatedInvitation:
    """A new link for a member who has not set a password yet (no seat is claimed: theirs is taken)."""
    membership = members.get(session=session, actor=actor, membership_id=membership_id, lock=True)
    if session.get(LocalCredential, membership.user_id) is not None:
        # A link sets a password: one for someone who has one would let its holder take the account.
        raise Conflict("This member has already set a password.", details={"email": "already signs in"})
    user = session.get(User, membership.user_id)
    first_invited_here = session.scalar(
        select(Invitation.id)
        .where(Invitation.user_id == user.id, Invitation.organization_id == membership.organization_id)
        .limit(1)
    )
    if first_invited_here is None or user.clerk_id is not None:
        # Only accounts this organization created by inviting them get links: any other account
        # (added by a platform admin, or signing in through Clerk) has its own way in.
        raise Conflict(
            "This member has their own way to sign in: no link is needed.", details={"email": "has an account"}
        )
    return _issue(session, actor, user, membership.organization_id)


@dataclass(frozen=True)
class OpenInvitation:
    id: uuid.UUID
    email: str
    name: str
    created_at: datetime
    expires_at: datetime


def list_open(*, session: Session, actor: Actor, organization_id: uuid.UUID | None) -> list[OpenInvitation]:
    """The organization's invitations that can still be used, newest first."""
    org = scope.organization(session, actor, organization_id)
    rows = session.execute(
        select(Invitation, User.email, User.name)
        .join(User, User.id == Invitation.user_id)
        .where(
            Invitation.organization_id == org.id,
            Invitation.used_at.is_(None),
            Invitation.revoked_at.is_(None),
            Invitation.expires_at > utcnow(),
        )
        .order_by(Invitation.created_at.desc(), Invitation.id)
        .limit(200)
    )
    return [OpenInvitation(i.id, email, name, i.created_at, i.expires_at) for i, email, name in rows]


def revoke(*, session: Session, actor: Actor, invitation_id: uuid.UUID) -> Invitation:
    """Stop a link from working (the member stays, without a password, until removed or invited again)."""
    invitation = session.scalar(select(Invitation).where(Invitation.id == invitation_id).with_for_update())
    # In reach exactly where the organization's members are: another organization's is "not found".
    if invitation is None or not _in_reach(session, actor, invitation.organization_id):
        raise NotFound("Invitation not found.")
    if invitation.used_at is None and invitation.revoked_at is None:
        _revoke(session, actor, invitation, utcnow())
    return invitation


def _in_reach(session: Session, actor: Actor, organization_id: uuid.UUID) -> bool:
    try:
        scope.organization(session, actor, organization_id)
    except NotFound:
        return False
    return True


# --- the invited person's side (public: the link is the credential) ------------------------------


@dataclass(frozen=True)
class Invited:
    name: str
    email: str
    organization_name: str


def _usable(session: Session, token: str, *, lock: bool = False) -> tuple[Invitation, User, str]:
    if not token or len(token) > 200:
        raise NotFound(BAD_LINK)
    statement = (
        select(Invitation, User, Organization.name)
        .join(User, User.id == Invitation.user_id)
        .join(Organization, Organization.id == Invitation.organization_id)
        # Still a member of the organization that invited them (removed members' links are dead too).
        .join(
            OrgMembership,
            (OrgMembership.user_id == Invitation.user_id)
            & (OrgMembership.organization_id == Invitation.organization_id),
        )
        .where(
            Invitation.token_hash == hash_token(token),
            Invitation.used_at.is_(None),
            Invitation.revoked_at.is_(None),
            Invitation.expires_at > utcnow(),
            User.deactivated_at.is_(None),  # a deactivated person's link is dead too
        )
    )
    row = session.execute(statement.with_for_update(of=Invitation) if lock else statement).first()
    if row is None:
        raise NotFound(BAD_LINK)
    return row[0], row[1], row[2]


def peek(*, session: Session, token: str) -> Invited:
    """Who a link is for (the form greets them by name), or NotFound with the one message for every bad link."""
    _, user, org_name = _usable(session, token)
    return Invited(name=user.name, email=user.email, organization_name=org_name)


class Acceptance(BaseModel):
    password: str = Field(min_length=accounts.MIN_PASSWORD_LENGTH, max_length=256)


def accept(*, session: Session, token: str, password: str) -> User:
    """Set the invited member's password and use the link up (once: a second use, even concurrent, is refused)."""
    invitation, user, _ = _usable(session, token, lock=True)
    validate(Acceptance, {"password": password})
    if session.get(LocalCredential, user.id) is not None:
        raise NotFound(BAD_LINK)
    session.add(
        LocalCredential(user_id=user.id, email=user.email.lower(), password_hash=accounts.password_hash.hash(password))
    )
    before = _entry(invitation)
    invitation.used_at = utcnow()
    session.add(invitation)
    # Their other open links (an older one the admin forgot) die with this one's use.
    session.execute(
        update(Invitation)
        .where(Invitation.user_id == user.id, Invitation.id != invitation.id, Invitation.used_at.is_(None))
        .where(Invitation.revoked_at.is_(None))
        .values(revoked_at=invitation.used_at)
    )
    audit.record(
        session=session,
        actor=accounts.actor_for_user(user),
        action=AuditAction.invitation_accept,
        subject=(AuditEntity.invitation, invitation.id),
        organization_id=invitation.organization_id,
        before=before,
        after=_entry(invitation),
    )
    return user


def password_error(password: str, repeated: str) -> str | None:
    """The set-a-password form's own check, before the server's (same rules)."""
    if len(password) < accounts.MIN_PASSWORD_LENGTH:
        return f"At least {accounts.MIN_PASSWORD_LENGTH} characters."
    if password != repeated:
        return "The two passwords differ."
    return None
