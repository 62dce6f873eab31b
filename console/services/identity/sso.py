"""Single sign-on: which organization's provider an email goes to, and who a proven identity is.

The protocol is console/services/identity/oidc.py; this module is the database side of it:

- `route(email)`: the email's domain picks the organization (each domain belongs to one organization
  only: console/services/organizations/sso.py) whose SSO is on, and its provider settings, the client
  secret decrypted for this sign-in only (never returned to a page, logged or audited).
- `sign_in(proof)`: people are found by (issuer, subject) — never by email alone. A first sign-in
  through an organization's provider joins that organization as a participant if a seat is free
  (`seats.claim`, under the organization's row lock) and the proven email is in one of its domains;
  if any account already uses that email, nobody is signed in (that account's owner signs in with
  their password; linking the two is a platform admin's act), because an email an identity provider
  asserts is not proof of owning the console account that happens to carry it.
- `password_refused(user)`: members of an organization that requires SSO may not use a password.
- `set_sso_required`: a platform admin's switch (audited with the organization's SSO settings).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlmodel import Session

from console.auth import Actor, ActorKind, Permission
from console.errors import DomainError, PermissionDenied
from console.services import accounts, audit, seats, sso_secrets, versions
from console.services.identity.oidc import Proof, Provider
from console.services.organizations.records import row
from models import AuditAction, MembershipRole, Organization, OrgMembership, SsoIdentity, User, UserRole
from models.base import utcnow

# The one actor of every sign-in: nobody is signed in yet while it runs. The audit names it.
SIGN_IN_ACTOR = Actor.system("SSO sign-in")

# What the login page says for each way a sign-in can fail (pages/login.py shows them by code).
MESSAGES = {
    "sso_email": "Enter your work email to continue with SSO.",
    "sso_unknown_domain": "Single sign-on is not set up for this email's domain. Sign in with your password.",
    "sso_provider": "Your organization's sign-in service could not be reached or is misconfigured. "
    "Try again later or ask your administrator.",
    "sso_denied": "Sign-in was cancelled at your organization's sign-in service.",
    "sso_state": "This sign-in did not start here or was already used. Please start again.",
    "sso_expired": "This sign-in took too long or was started in another browser. Please start again.",
    "sso_code": "The sign-in code was expired or already used. Please start again.",
    "sso_token": "Your organization's sign-in service sent an answer the console cannot trust. "
    "Please start again or ask your administrator.",
    "sso_seats": "Your organization has no free seat for you. Ask your administrator for one.",
    "sso_account_exists": "An account with this email already exists and is not linked to single sign-on. "
    "Sign in with your password, or ask a platform admin.",
    "sso_email_domain": "Your sign-in service gave an email outside your organization's domains.",
    "sso_email_unverified": "Your sign-in service says your email address is not verified.",
    "sso_inactive": "This account cannot sign in. Ask your administrator.",
    "sso_required": accounts.SSO_REQUIRED,
    "sso_not_linked": "This sign-in is not linked to a console account. Ask a platform admin to link it.",
    "sso_not_staff": "Staff sign-in is for platform staff. Sign in with your password or your organization's SSO.",
    "sso_staff_off": "Staff sign-in is not set up on this console.",
}


class SsoRefused(DomainError):
    """A sign-in refused; `reason` is a key of MESSAGES."""

    code = "sso_refused"

    def __init__(self, reason: str):
        super().__init__(MESSAGES[reason])
        self.reason = reason


def require_sign_in_actor(actor: Actor) -> None:
    if actor.kind is not ActorKind.system:
        raise PermissionDenied("Only the sign-in itself signs people in.")


def domain_of(email: str) -> str | None:
    email = accounts.normalize_email(email)
    local, at, domain = email.rpartition("@")
    return domain if at and local and "." in domain and len(email) <= 255 else None


def route(*, session: Session, actor: Actor, email: str) -> Provider:
    """The provider settings of the organization whose SSO handles this email's domain."""
    require_sign_in_actor(actor)
    domain = domain_of(email)
    if domain is None:
        raise SsoRefused("sso_email")
    org = session.scalar(
        select(Organization).where(
            Organization.sso_enabled.is_(True), Organization.sso_email_domains.contains([domain])
        )
    )
    if org is None:
        raise SsoRefused("sso_unknown_domain")
    return provider_of(org)


def provider_of(org: Organization) -> Provider:
    if not (org.sso_issuer_url and org.sso_client_id and org.sso_client_secret_encrypted):
        raise SsoRefused("sso_provider")
    try:
        secret = sso_secrets.decrypt(org.sso_client_secret_encrypted)
    except sso_secrets.SecretUnreadable:
        raise SsoRefused("sso_provider") from None
    return Provider(
        organization_id=str(org.id), issuer=org.sso_issuer_url, client_id=org.sso_client_id, client_secret=secret
    )


def provider_for(*, session: Session, actor: Actor, organization_id: uuid.UUID) -> Provider:
    """The provider of an organization a sign-in started with, if its SSO is still on."""
    require_sign_in_actor(actor)
    org = session.get(Organization, organization_id)
    if org is None or not org.sso_enabled:
        raise SsoRefused("sso_unknown_domain")
    return provider_of(org)


@dataclass(frozen=True)
class SignedIn:
    user: User
    joined: bool  # a first sign-in that made the person a member


def sign_in(*, session: Session, actor: Actor, organization_id: uuid.UUID, proof: Proof) -> SignedIn:
    """The person the proof is about (found, or joined to the organization on a free seat)."""
    require_sign_in_actor(actor)
    org = session.get(Organization, organization_id)
    if org is None or not org.sso_enabled or org.sso_issuer_url != proof.issuer:
        raise SsoRefused("sso_provider")
    identity = session.scalar(
        select(SsoIdentity).where(SsoIdentity.issuer == proof.issuer, SsoIdentity.subject == proof.subject)
    )
    if identity is not None:
        user = session.get(User, identity.user_id)
        if user is None or user.deactivated_at is not None:
            raise SsoRefused("sso_inactive")
        identity.last_sign_in_at = utcnow()
        return SignedIn(user, joined=False)
    return SignedIn(_join(session, actor, org, proof), joined=True)


def _join(session: Session, actor: Actor, org: Organization, proof: Proof) -> User:
    email = accounts.normalize_email(proof.email or "")
    if domain_of(email) not in (org.sso_email_domains or []):
        raise SsoRefused("sso_email_domain")
    if proof.email_verified is False:  # absent is common (many providers only issue verified ones)
        raise SsoRefused("sso_email_unverified")
    if session.scalar(select(User.id).where(func.lower(User.email) == email).limit(1)) is not None:
        raise SsoRefused("sso_account_exists")
    try:
        seats.claim(session, org.id, 1)  # locks the organization's row until commit
    except seats.SeatsExhausted:
        raise SsoRefused("sso_seats") from None
    name = (proof.name or "").strip()[:255] or email.split("@", 1)[0]
    user = User(email=email, name=name, role=UserRole.enterprise_participant, organization_id=org.id)
    session.add(user)
    audit.created(
        session=session,
        actor=actor,
        action=AuditAction.user_create,
        subject=user,
        fields={"email", "name", "role", "organization_id"},
        organization_id=org.id,
        comment=f"first sign-in through {org.name}'s single sign-on",
    )
    membership = OrgMembership(user_id=user.id, organization_id=org.id, role=MembershipRole.participant)
    session.add(membership)
    audit.created(
        session=session,
        actor=actor,
        action=AuditAction.membership_add,
        subject=membership,
        fields={"user_id", "organization_id", "role"},
        organization_id=org.id,
        comment="joined through single sign-on",
    )
    session.add(
        SsoIdentity(
            issuer=proof.issuer,
            subject=proof.subject,
            user_id=user.id,
            organization_id=org.id,
            email_at_link=email,
            last_sign_in_at=utcnow(),
        )
    )
    session.flush()
    return user


def password_refused(*, session: Session, user: User) -> bool:
    """True when the person's organization requires single sign-on (their password may not be used)."""
    if user.organization_id is None:
        return False
    # Only while SSO is on: turning SSO off must never leave members with no way in at all.
    required = session.scalar(
        select(Organization.id).where(
            Organization.id == user.organization_id,
            Organization.sso_required.is_(True),
            Organization.sso_enabled.is_(True),
        )
    )
    return required is not None


def set_sso_required(*, session: Session, actor: Actor, organization_id: uuid.UUID, required: bool) -> Organization:
    """Require (or stop requiring) SSO for an organization's members (platform admins; SSO must be on)."""
    actor.require(Permission.manage_platform)
    org = row(session, actor, organization_id, for_write=True)
    if required and not org.sso_enabled:
        from console.errors import ValidationFailed

        raise ValidationFailed("Turn single sign-on on first.", details={"sso_required": "needs single sign-on"})
    if org.sso_required == required:
        return org
    with audit.changing(
        session=session,
        actor=actor,
        action=AuditAction.organization_sso_update,
        subject=org,
        fields={"sso_required", "version"},
        organization_id=org.id,
    ):
        org.sso_required = required
        versions.bump(org)
    return org
