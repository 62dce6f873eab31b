"""Platform staff sign in through the platform's own OpenID Connect provider (docs/identity.md).

Organizations' providers sign in their members (sso.py); this one, configured by settings
(`SIMVADO_STAFF_OIDC_*`), signs in platform staff: platform admins and studio creators. Clerk is the
usual provider (its subject is the Clerk user id), but any OIDC provider works.

Nobody becomes staff by signing in: a staff account is made in the console first (a platform admin,
or `create-user`), then bound to its identity at the provider, keyed by (issuer, subject) like every
SSO identity, never by email:

- with `SIMVADO_STAFF_OIDC_CLERK_SUBJECTS=true` (the provider is Clerk), the subject is a Clerk user id,
  and the person whose `clerk_id` the Clerk mirror set to it is that identity: linked at first sign-in;
- otherwise a platform admin links it: `simvado-console link-sso --email … --subject …`.

A linked person who is not (or no longer) staff, or is deactivated, is refused.
"""

from __future__ import annotations

import uuid

from sqlalchemy import func, select
from sqlmodel import Session

from console.auth import Actor, Permission
from console.config import Settings
from console.errors import NotFound, ValidationFailed
from console.services import accounts, audit
from console.services.identity.oidc import Proof, Provider
from console.services.identity.sso import SsoRefused, require_sign_in_actor
from models import AuditAction, SsoIdentity, User, UserRole
from models.base import utcnow

STAFF = "staff"  # what a sign-in's flow names instead of an organization
STAFF_ROLES = (UserRole.platform_admin, UserRole.studio_creator)


def provider(settings: Settings) -> Provider | None:
    """The staff provider, when the settings configure one (issuer, client id and secret)."""
    if not (settings.staff_oidc_issuer and settings.staff_oidc_client_id and settings.staff_oidc_client_secret):
        return None
    return Provider(
        organization_id=STAFF,
        issuer=settings.staff_oidc_issuer,
        client_id=settings.staff_oidc_client_id,
        client_secret=settings.staff_oidc_client_secret,
    )


def sign_in(*, session: Session, actor: Actor, issuer: str, proof: Proof, clerk_subjects: bool) -> User:
    """The staff member the proof is about, linking a Clerk-mirrored person on first sign-in."""
    require_sign_in_actor(actor)
    if proof.issuer != issuer:
        raise SsoRefused("sso_provider")
    identity = session.scalar(
        select(SsoIdentity).where(SsoIdentity.issuer == proof.issuer, SsoIdentity.subject == proof.subject)
    )
    if identity is not None:
        user = session.get(User, identity.user_id)
    elif clerk_subjects:
        user = session.scalar(select(User).where(User.clerk_id == proof.subject))
        if user is None:
            raise SsoRefused("sso_not_linked")
        _allowed(user)  # before anything is written for them
        identity = _link(session, actor, user, proof.issuer, proof.subject, how="its Clerk user id")
    else:
        raise SsoRefused("sso_not_linked")
    _allowed(user)
    identity.last_sign_in_at = utcnow()
    return user


def _allowed(user: User | None) -> None:
    if user is None or user.deactivated_at is not None:
        raise SsoRefused("sso_inactive")
    if user.role not in STAFF_ROLES:
        raise SsoRefused("sso_not_staff")


def link(*, session: Session, actor: Actor, email: str, issuer: str, subject: str) -> SsoIdentity:
    """Bind a person to their identity at a provider (a platform admin's act: the CLI, as the system).

    For staff, and for a member whose account existed before their organization's SSO (a first SSO
    sign-in then finds them, instead of being refused because the email is taken)."""
    actor.require(Permission.manage_platform)
    issuer, subject = issuer.strip(), subject.strip()
    if not issuer or not subject or len(issuer) > 500 or len(subject) > 255:
        raise ValidationFailed("Give the provider's issuer and the person's subject there.")
    user = session.scalar(select(User).where(func.lower(User.email) == accounts.normalize_email(email)))
    if user is None:
        raise NotFound(f"No person with the email {email.strip()!r}.")
    taken = session.scalar(select(SsoIdentity).where(SsoIdentity.issuer == issuer, SsoIdentity.subject == subject))
    if taken is not None:
        if taken.user_id == user.id:
            return taken
        raise ValidationFailed("That identity is already linked to another person.", details={"subject": "taken"})
    return _link(session, actor, user, issuer, subject, how="a platform admin")


def _link(session: Session, actor: Actor, user: User, issuer: str, subject: str, *, how: str) -> SsoIdentity:
    identity = SsoIdentity(
        id=uuid.uuid4(),
        issuer=issuer,
        subject=subject,
        user_id=user.id,
        organization_id=user.organization_id if user.role not in STAFF_ROLES else None,
        email_at_link=user.email,
    )
    session.add(identity)
    audit.record(
        session=session,
        actor=actor,
        action=AuditAction.user_sso_link,
        subject=user,
        organization_id=user.organization_id,
        after={"issuer": issuer},
        comment=f"linked to its sign-in at {issuer} by {how}",
    )
    session.flush()
    return identity
