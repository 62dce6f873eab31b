"""Invitations: a seat from the start, a link that works once, for 7 days, while it is the newest."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from console.errors import Conflict, NotFound, ValidationFailed
from console.services import accounts
from console.services.people import invitations, members
from console.services.seats import SeatsExhausted
from models import AuditLogEntry, Invitation, LocalCredential, MembershipRole, OrgMembership, User, UserRole
from tests.factories import actor_of, make_org, make_user


@pytest.fixture
def world(session):
    org = make_org(session, name="Acme", seat_limit=3)
    other = make_org(session, name="Globex")
    admin = make_user(session, role=UserRole.enterprise_admin, organization_id=org.id)
    session.add(OrgMembership(user_id=admin.id, organization_id=org.id, role=MembershipRole.admin))
    outsider = make_user(session, role=UserRole.enterprise_admin, organization_id=other.id)
    session.commit()
    return {"org": org, "other": other, "admin": actor_of(admin), "outsider": actor_of(outsider)}


def _invite(session, actor, email="new@example.com", org_id=None):  # noqa: ANN001
    return invitations.invite(
        session=session, actor=actor, organization_id=org_id, data={"email": email, "name": "New Person"}
    )


def test_invite_adds_the_member_without_password_and_stores_only_the_hash(session, world):
    created = _invite(session, world["admin"])
    user = session.scalar(select(User).where(User.email == "new@example.com"))
    assert user.organization_id == world["org"].id and user.role is UserRole.enterprise_participant
    assert session.get(LocalCredential, user.id) is None
    row = session.get(Invitation, created.invitation.id)
    assert row.token_hash == hashlib.sha256(created.token.encode()).hexdigest() and created.token not in row.token_hash
    assert timedelta(days=6, hours=23) < row.expires_at - row.created_at <= timedelta(days=7, seconds=1)
    entry = session.scalar(select(AuditLogEntry).where(AuditLogEntry.action == "invitation.create"))
    assert entry.organization_id == world["org"].id and created.token not in str(entry.after)


def test_invite_takes_a_seat_and_is_refused_when_none_is_left(session, world):
    for email in ("one@example.com", "two@example.com", "three@example.com"):  # 3 seats; the admin takes none
        _invite(session, world["admin"], email)
    with pytest.raises(SeatsExhausted) as refused:
        _invite(session, world["admin"], "four@example.com")
    assert refused.value.details == {"seats": "1 missing"}
    again = _invite(session, world["admin"], "one@example.com")  # their seat is theirs: no new one needed
    assert again.token


def test_accept_sets_the_password_once(session, world):
    created = _invite(session, world["admin"])
    assert invitations.peek(session=session, token=created.token).name == "New Person"
    with pytest.raises(ValidationFailed):
        invitations.accept(session=session, token=created.token, password="short")
    user = invitations.accept(session=session, token=created.token, password="a long enough password")
    credential = session.get(LocalCredential, user.id)
    assert accounts.password_hash.verify("a long enough password", credential.password_hash)
    assert session.get(Invitation, created.invitation.id).used_at is not None
    with pytest.raises(NotFound, match="not valid") as second:
        invitations.accept(session=session, token=created.token, password="another long password")
    assert second.value.message == invitations.BAD_LINK
    entry = session.scalar(select(AuditLogEntry).where(AuditLogEntry.action == "invitation.accept"))
    assert entry.organization_id == world["org"].id and entry.actor_id == user.id


def test_every_bad_link_gets_the_same_message(session, world):
    expired = _invite(session, world["admin"], "late@example.com")
    session.get(Invitation, expired.invitation.id).expires_at -= timedelta(days=8)
    revoked = _invite(session, world["admin"], "gone@example.com")
    invitations.revoke(session=session, actor=world["admin"], invitation_id=revoked.invitation.id)
    session.flush()
    for token in (expired.token, revoked.token, "made-up-token", ""):
        with pytest.raises(NotFound) as refused:
            invitations.accept(session=session, token=token, password="a long enough password")
        assert refused.value.message == invitations.BAD_LINK
        with pytest.raises(NotFound):
            invitations.peek(session=session, token=token)


def test_reinviting_revokes_the_earlier_link(session, world):
    first = _invite(session, world["admin"])
    second = _invite(session, world["admin"])
    assert session.get(Invitation, first.invitation.id).revoked_at is not None
    with pytest.raises(NotFound):
        invitations.accept(session=session, token=first.token, password="a long enough password")
    invitations.accept(session=session, token=second.token, password="a long enough password")
    membership = session.scalar(select(OrgMembership).where(OrgMembership.user_id == second.invitation.user_id))
    with pytest.raises(Conflict, match="already set a password"):  # a link would let its holder take the account
        invitations.reinvite(session=session, actor=world["admin"], membership_id=membership.id)
    opened = invitations.list_open(session=session, actor=world["admin"], organization_id=None)
    assert opened == []


def test_removed_members_links_die(session, world):
    created = _invite(session, world["admin"])
    membership = session.scalar(select(OrgMembership).where(OrgMembership.user_id == created.invitation.user_id))
    members.remove(session=session, actor=world["admin"], membership_ids=[membership.id])
    with pytest.raises(NotFound):
        invitations.accept(session=session, token=created.token, password="a long enough password")


def test_another_organizations_invitation_is_not_found(session, world):
    theirs = _invite(session, world["outsider"], "theirs@example.com")
    membership = session.scalar(select(OrgMembership).where(OrgMembership.user_id == theirs.invitation.user_id))
    with pytest.raises(NotFound):
        invitations.revoke(session=session, actor=world["admin"], invitation_id=theirs.invitation.id)
    with pytest.raises(NotFound):
        invitations.reinvite(session=session, actor=world["admin"], membership_id=membership.id)
    with pytest.raises(NotFound):
        invitations.list_open(session=session, actor=world["admin"], organization_id=world["other"].id)
    with pytest.raises(NotFound):
        _invite(session, world["admin"], "x@example.com", org_id=world["other"].id)
    assert session.get(Invitation, theirs.invitation.id).revoked_at is None
    assert [i.email for i in invitations.list_open(session=session, actor=world["outsider"], organization_id=None)] == [
        "theirs@example.com"
    ]
    assert session.scalar(select(func.count()).where(User.email == "x@example.com")) == 0
