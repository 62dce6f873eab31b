"""Accounts: creating users, passwords, login sessions and tenant-scoped reads."""

from datetime import timedelta

import pytest
from sqlalchemy import select, update

from console.auth import Actor
from console.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from console.services import accounts
from models import LocalCredential, LoginSession
from models.enums import UserRole
from tests.factories import PASSWORD, actor_of, make_org, make_user


def throttle():
    return accounts.LoginThrottle(5, 900)


def test_create_user_hashes_password_with_argon2(session):
    user = accounts.create_user(
        session=session,
        actor=Actor.system(),
        data={
            "email": "New.Person@Example.com",
            "name": "New Person",
            "role": "studio_creator",
            "password": "a long enough password",
        },
    )
    credential = session.get(LocalCredential, user.id)
    assert user.email == "new.person@example.com"
    assert credential.password_hash.startswith("$argon2id$")
    assert "a long enough password" not in credential.password_hash


def test_create_user_refuses_duplicates_short_passwords_and_orgless_enterprise_roles(session):
    admin = Actor.system()
    data = {"email": "dup@example.com", "name": "Dup", "role": "individual", "password": "a long enough password"}
    accounts.create_user(session=session, actor=admin, data=data)
    with pytest.raises(Conflict):
        accounts.create_user(session=session, actor=admin, data={**data, "email": "DUP@example.com"})
    with pytest.raises(ValidationFailed) as err:
        accounts.create_user(session=session, actor=admin, data={**data, "email": "x@example.com", "password": "short"})
    assert "password" in err.value.field_errors
    with pytest.raises(ValidationFailed):
        accounts.create_user(
            session=session, actor=admin, data={**data, "email": "y@example.com", "role": "enterprise_admin"}
        )


def test_only_platform_admins_create_users(session):
    creator = make_user(session, role=UserRole.studio_creator)
    with pytest.raises(PermissionDenied):
        accounts.create_user(
            session=session,
            actor=actor_of(creator),
            data={
                "email": "z@example.com",
                "name": "Z",
                "role": "platform_admin",
                "password": "a long enough password",
            },
        )


def test_authenticate_accepts_right_password_only(session):
    user = make_user(session)
    ok = accounts.authenticate(session=session, email=user.email.upper(), password=PASSWORD, throttle=throttle())
    bad = accounts.authenticate(session=session, email=user.email, password="nope nope nope", throttle=throttle())
    ghost = accounts.authenticate(session=session, email="ghost@x.example", password="nope", throttle=throttle())
    assert ok.user.id == user.id and ok.error is None
    assert bad.user is None and ghost.user is None
    assert bad.error == ghost.error == accounts.INVALID_LOGIN


def test_lockout_survives_a_new_throttle_for_real_accounts(session):
    user = make_user(session)
    t = throttle()
    for _ in range(5):
        accounts.authenticate(session=session, email=user.email, password="wrong password", throttle=t)
    # Even another process (a fresh throttle) sees the lock stored on the credential.
    result = accounts.authenticate(session=session, email=user.email, password=PASSWORD, throttle=throttle())
    assert result.user is None and result.error == accounts.TOO_MANY_ATTEMPTS


def test_login_session_resolves_until_revoked_or_expired(session):
    user = make_user(session, role=UserRole.platform_admin)
    token = accounts.start_login_session(session=session, user_id=user.id, lifetime_seconds=60, method="password")
    assert accounts.actor_for_token(session=session, token=token).user_id == user.id
    stored = session.scalars(select(LoginSession.id)).all()
    assert token not in stored  # only a hash of the token is stored
    accounts.end_login_session(session=session, token=token)
    assert accounts.actor_for_token(session=session, token=token) is None
    other = accounts.start_login_session(session=session, user_id=user.id, lifetime_seconds=60, method="password")
    session.execute(update(LoginSession).values(expires_at=LoginSession.created_at - timedelta(seconds=1)))
    assert accounts.actor_for_token(session=session, token=other) is None


def test_enterprise_admin_cannot_read_another_orgs_user(session):
    org_a, org_b = make_org(session), make_org(session)
    admin_a = make_user(session, role=UserRole.enterprise_admin, organization_id=org_a.id)
    member_a = make_user(session, role=UserRole.enterprise_participant, organization_id=org_a.id)
    member_b = make_user(session, role=UserRole.enterprise_participant, organization_id=org_b.id)
    assert accounts.get_user(session=session, actor=actor_of(admin_a), user_id=member_a.id) == member_a
    with pytest.raises(NotFound):
        accounts.get_user(session=session, actor=actor_of(admin_a), user_id=member_b.id)
