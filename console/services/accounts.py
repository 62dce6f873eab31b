"""Accounts: creating users, checking passwords, and the login sessions behind the console's cookie.

Local email + password is one way to prove who you are; OIDC will be another that ends in the same
place — `start_login_session` for a user id — so pages and middleware never care which was used.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import timedelta

from limits import RateLimitItemPerSecond
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter
from pwdlib import PasswordHash
from pydantic import BaseModel, EmailStr, Field, ValidationError
from sqlalchemy import ColumnElement, false, func, or_, select, true, update
from sqlmodel import Session

from console.auth import Actor, ActorKind, Permission
from console.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from console.services import audit
from models import AuditAction, LocalCredential, LoginSession, Organization, User, UserRole
from models.base import utcnow

password_hash = PasswordHash.recommended()  # argon2id
# Verified against when the email is unknown, so both paths cost one argon2 verification.
_DUMMY_HASH = password_hash.hash(secrets.token_urlsafe(16))

INVALID_LOGIN = "Email or password is incorrect."
TOO_MANY_ATTEMPTS = "Too many failed attempts. Wait a few minutes and try again."
# Said only after the right password, so it reveals nothing to someone guessing (docs/identity.md).
SSO_REQUIRED = "Your organization requires single sign-on: use Continue with SSO."
MIN_PASSWORD_LENGTH = 10


class NewUser(BaseModel):
    email: EmailStr
    name: str = Field(min_length=1, max_length=255)
    role: UserRole
    organization_id: uuid.UUID | None = None
    password: str | None = Field(default=None, min_length=MIN_PASSWORD_LENGTH, max_length=256)


def _field_errors(exc: ValidationError) -> dict[str, str]:
    return {str(err["loc"][0]) if err["loc"] else "_": err["msg"] for err in exc.errors()}


def normalize_email(email: str) -> str:
    return email.strip().lower()


def create_user(*, session: Session, actor: Actor, data: dict) -> User:
    """Create a user (and their password login when a password is given)."""
    if not actor.can(Permission.manage_platform):
        raise PermissionDenied("Only platform admins create accounts here.")
    try:
        new = NewUser.model_validate(data)
    except ValidationError as exc:
        raise ValidationFailed("Check the highlighted fields.", details=_field_errors(exc)) from exc
    email = normalize_email(new.email)
    org_roles = {UserRole.enterprise_admin, UserRole.enterprise_participant}
    if new.role in org_roles and new.organization_id is None:
        raise ValidationFailed("This role needs an organization.", details={"organization_id": "required"})
    if new.role not in org_roles and new.organization_id is not None:
        # A platform admin or creator inside an organization could be "added" by its admin and demoted.
        raise ValidationFailed(
            "Only enterprise roles belong to an organization.", details={"organization_id": "not for this role"}
        )
    if new.organization_id is not None and session.get(Organization, new.organization_id) is None:
        raise ValidationFailed("Unknown organization.", details={"organization_id": "not found"})
    taken = session.scalar(select(User.id).where(func.lower(User.email) == email))
    if taken is not None:
        raise Conflict("A user with this email already exists.", details={"email": "already in use"})
    user = User(email=email, name=new.name.strip(), role=new.role, organization_id=new.organization_id)
    session.add(user)
    session.flush()
    if new.password:
        session.add(LocalCredential(user_id=user.id, email=email, password_hash=password_hash.hash(new.password)))
    audit.created(
        session=session,
        actor=actor,
        action=AuditAction.user_create,
        subject=user,
        organization_id=user.organization_id,
    )
    return user


class LoginThrottle:
    """Slows repeated failures per email, for known and unknown addresses alike."""

    def __init__(self, max_failures: int, window_seconds: int):
        self._limiter = MovingWindowRateLimiter(MemoryStorage())
        self._item = RateLimitItemPerSecond(max_failures, window_seconds)

    def blocked(self, email: str) -> bool:
        return not self._limiter.test(self._item, "login", email)

    def failed(self, email: str) -> None:
        self._limiter.hit(self._item, "login", email)

    def reset(self, email: str) -> None:
        self._limiter.clear(self._item, "login", email)


@dataclass
class LoginResult:
    user: User | None
    error: str | None


def authenticate(
    *, session: Session, email: str, password: str, throttle: LoginThrottle, lock_minutes: int = 15
) -> LoginResult:
    """Check an email and password. The error never says whether the account exists."""
    email = normalize_email(email)
    if throttle.blocked(email):
        return LoginResult(None, TOO_MANY_ATTEMPTS)
    credential = session.scalar(select(LocalCredential).where(LocalCredential.email == email))
    if credential is None:
        password_hash.verify(password, _DUMMY_HASH)
        throttle.failed(email)
        return LoginResult(None, INVALID_LOGIN)
    now = utcnow()
    if credential.locked_until is not None and credential.locked_until > now:
        password_hash.verify(password, _DUMMY_HASH)
        return LoginResult(None, TOO_MANY_ATTEMPTS)
    valid, new_hash = password_hash.verify_and_update(password, credential.password_hash)
    if not valid:
        throttle.failed(email)
        credential.failed_attempts += 1
        if throttle.blocked(email):
            credential.locked_until = now + timedelta(minutes=lock_minutes)
        return LoginResult(None, INVALID_LOGIN)
    user = session.get(User, credential.user_id)
    if user is None or user.deactivated_at is not None:
        # The same answer as a wrong password: a deactivated account is not told apart either.
        return LoginResult(None, INVALID_LOGIN)
    from console.services.identity.sso import password_refused  # identity builds on accounts

    if password_refused(session=session, user=user):
        return LoginResult(None, SSO_REQUIRED)
    throttle.reset(email)
    credential.failed_attempts = 0
    credential.locked_until = None
    credential.last_login_at = now
    if new_hash:
        credential.password_hash = new_hash
    return LoginResult(user, None)


def _token_id(token: str) -> str:
    # The cookie holds the token; the table holds only its hash, so a leaked table logs no one in.
    return hashlib.sha256(token.encode()).hexdigest()


def start_login_session(*, session: Session, user_id: uuid.UUID, lifetime_seconds: int, method: str) -> str:
    """Open a login session for a proven user; returns the token the cookie will carry."""
    token = secrets.token_urlsafe(32)
    session.add(
        LoginSession(
            id=_token_id(token),
            user_id=user_id,
            expires_at=utcnow() + timedelta(seconds=lifetime_seconds),
            method=method,
        )
    )
    return token


def actor_for_token(*, session: Session, token: str | None) -> Actor | None:
    """The actor behind a cookie's token as the person is now (role, organization), or None when the
    token is unknown, expired or revoked, or the person is deactivated."""
    if not token:
        return None
    row = session.execute(
        select(User, Organization.name)
        .join(LoginSession, LoginSession.user_id == User.id)
        .outerjoin(Organization, Organization.id == User.organization_id)
        .where(
            LoginSession.id == _token_id(token),
            LoginSession.revoked_at.is_(None),
            LoginSession.expires_at > utcnow(),
            User.deactivated_at.is_(None),
        )
    ).one_or_none()
    if row is None:
        return None
    return actor_for_user(row[0], organization_name=row[1])


def actor_for_user(user: User, *, organization_name: str | None = None) -> Actor:
    return Actor.for_user(
        user_id=user.id,
        role=user.role,
        organization_id=user.organization_id,
        name=user.name,
        email=user.email,
        organization_name=organization_name,
    )


def end_login_session(*, session: Session, token: str | None) -> None:
    if token:
        session.execute(
            update(LoginSession)
            .where(LoginSession.id == _token_id(token), LoginSession.revoked_at.is_(None))
            .values(revoked_at=utcnow())
        )


def readable(actor: Actor) -> ColumnElement[bool]:
    """The rows of `users` this actor may read: platform admins everyone; others themselves and the
    people of their own organization."""
    if actor.can(Permission.manage_platform):
        return true()
    reach = []
    if actor.user_id is not None:
        reach.append(User.id == actor.user_id)
    if actor.organization_id is not None and actor.kind is ActorKind.user:
        reach.append(User.organization_id == actor.organization_id)
    return or_(false(), *reach)


def get_user(*, session: Session, actor: Actor, user_id: uuid.UUID) -> User:
    user = session.scalar(select(User).where(User.id == user_id, readable(actor)))
    if user is None:
        raise NotFound("User not found.")
    return user
