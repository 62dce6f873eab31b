"""Users (platform admins): the list, creating people, role changes that keep the membership role in
step, and deactivation that ends a person's logins — with a platform admin always left."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from console import unit_of_work
from console.errors import Conflict, PermissionDenied, ValidationFailed
from console.services import accounts, users
from console.services.listing import ListQuery
from console.services.versions import Stale
from models import AuditLogEntry, LoginSession, OrgMembership, User
from models.base import utcnow
from models.enums import MembershipRole, SubscriptionTier, UserRole
from tests.factories import actor_of, make_org, make_user


def _member(session, *, role: UserRole, org=None, **overrides) -> User:  # noqa: ANN001
    """A person of an organization with the membership that goes with their role."""
    org = org or make_org(session)
    person = make_user(session, role=role, organization_id=org.id, password=None, **overrides)
    session.add(OrgMembership(user_id=person.id, organization_id=org.id, role=users.membership_role_for(role)))
    session.flush()
    return person


def _login(session, person: User, *, at=None) -> str:  # noqa: ANN001
    token = accounts.start_login_session(session=session, user_id=person.id, lifetime_seconds=3600, method="password")
    session.flush()
    if at is not None:
        row = session.scalar(
            select(LoginSession).where(LoginSession.user_id == person.id).order_by(LoginSession.created_at.desc())
        )
        row.created_at = at
        session.flush()
    return token


def _names(page) -> list[str]:  # noqa: ANN001
    return [r.name for r in page.rows]


# --- the rules -----------------------------------------------------------------------------------


def test_the_last_active_platform_admin_can_be_neither_demoted_nor_deactivated(session):
    me = make_user(session, role=UserRole.platform_admin, name="Me Admin")
    other = make_user(session, role=UserRole.platform_admin, name="Other Admin")
    # Two admins: either may be demoted (one remains), and promoted back.
    users.change_role(session=session, actor=actor_of(me), user_id=other.id, role=UserRole.studio_creator, version=1)
    users.change_role(session=session, actor=actor_of(me), user_id=other.id, role=UserRole.platform_admin, version=2)
    # A deactivated admin does not count: with `me` deactivated, `other` is the last active one.
    users.deactivate(session=session, actor=actor_of(other), user_id=me.id)
    # Asked by a platform admin whose own row no longer counts (say, deactivated a moment ago).
    asker = actor_of(me)
    with pytest.raises(users.LastAdmin) as refused:
        users.change_role(session=session, actor=asker, user_id=other.id, role=UserRole.individual, version=3)
    assert refused.value.field_errors["role"] == users.LAST_ADMIN
    with pytest.raises(users.LastAdmin):
        users.deactivate(session=session, actor=asker, user_id=other.id)
    stays = session.get(User, other.id)
    assert (stays.role, stays.deactivated_at) == (UserRole.platform_admin, None)


def test_ensure_admin_remains_counts_only_active_platform_admins(session):
    a = make_user(session, role=UserRole.platform_admin, password=None)
    b = make_user(session, role=UserRole.platform_admin, password=None, deactivated_at=utcnow())
    with pytest.raises(users.LastAdmin):
        users.ensure_admin_remains(session, losing=[a.id])
    users.ensure_admin_remains(session, losing=[b.id])  # b is not active: losing b loses nobody
    users.ensure_admin_remains(session, losing=[make_user(session, password=None).id])


def test_two_admins_demoting_each_other_at_once_cannot_both_succeed(database_url):
    with unit_of_work.transaction() as session:
        a = make_user(session, role=UserRole.platform_admin, name="Ada", password=None)
        b = make_user(session, role=UserRole.platform_admin, name="Bo", password=None)
    barrier, outcomes = threading.Barrier(2), []

    def demote(actor_user: User, target: User) -> None:
        barrier.wait()
        try:
            with unit_of_work.transaction() as session:
                users.change_role(
                    session=session, actor=actor_of(actor_user), user_id=target.id, role=UserRole.studio_creator,
                    version=1,
                )  # fmt: skip
            outcomes.append("demoted")
        except users.LastAdmin:
            outcomes.append("refused")

    threads = [threading.Thread(target=demote, args=pair) for pair in ((a, b), (b, a))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["demoted", "refused"]
    with unit_of_work.read_only() as session:
        admins = session.scalar(select(func.count()).select_from(User).where(User.role == UserRole.platform_admin))
    assert admins == 1


def test_two_deactivations_of_the_last_two_admins_at_once_leave_one(database_url):
    with unit_of_work.transaction() as session:
        a = make_user(session, role=UserRole.platform_admin, password=None)
        b = make_user(session, role=UserRole.platform_admin, password=None)
        boss = accounts.actor_for_user(make_user(session, role=UserRole.studio_creator, password=None))
    # A platform admin actor that is neither a nor b (its user row is no admin: it does not count).
    boss = boss.__class__.for_user(user_id=boss.user_id, role=UserRole.platform_admin, organization_id=None)
    barrier, outcomes = threading.Barrier(2), []

    def deactivate(target: User) -> None:
        barrier.wait()
        try:
            with unit_of_work.transaction() as session:
                users.deactivate(session=session, actor=boss, user_id=target.id)
            outcomes.append("done")
        except users.LastAdmin:
            outcomes.append("refused")

    threads = [threading.Thread(target=deactivate, args=(t,)) for t in (a, b)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["done", "refused"]


def test_role_and_membership_role_change_together(session):
    admin = make_user(session, role=UserRole.platform_admin)
    person = _member(session, role=UserRole.enterprise_participant)
    saved = users.change_role(
        session=session, actor=actor_of(admin), user_id=person.id, role=UserRole.enterprise_admin, version=1
    )
    membership = session.scalar(select(OrgMembership).where(OrgMembership.user_id == person.id))
    assert saved.role is UserRole.enterprise_admin and membership.role is MembershipRole.admin
    assert saved.version == 2
    entries = session.scalars(select(AuditLogEntry).order_by(AuditLogEntry.created_at)).all()
    by_action = {e.action: e for e in entries}
    assert by_action["user.update"].before["role"] == "enterprise_participant"
    assert by_action["user.update"].after["role"] == "enterprise_admin"
    assert by_action["user.update"].organization_id == person.organization_id  # its enterprise admins read it
    assert by_action["membership.update"].after == {"role": "admin"}
    assert users.role_for_membership(MembershipRole.participant) is UserRole.enterprise_participant
    assert users.role_for_membership(MembershipRole.admin) is UserRole.enterprise_admin
    # The same rule as the People page (people.members.set_role): an organization keeps an admin.
    with pytest.raises(Conflict, match="at least one admin"):
        users.change_role(
            session=session, actor=actor_of(admin), user_id=person.id, role=UserRole.enterprise_participant, version=2
        )


def test_an_enterprise_role_needs_a_membership_and_a_member_keeps_one(session):
    admin = actor_of(make_user(session, role=UserRole.platform_admin))
    solo = make_user(session, role=UserRole.individual, password=None)
    with pytest.raises(ValidationFailed, match="not a member of an organization") as refused:
        users.change_role(session=session, actor=admin, user_id=solo.id, role=UserRole.enterprise_admin, version=1)
    assert "People page" in refused.value.field_errors["role"]
    member = _member(session, role=UserRole.enterprise_admin)
    with pytest.raises(ValidationFailed, match="Remove them from it"):
        users.change_role(session=session, actor=admin, user_id=member.id, role=UserRole.studio_creator, version=1)
    assert session.get(User, member.id).role is UserRole.enterprise_admin
    # Someone linked to an organization without a membership may move between non-enterprise roles;
    # the link itself is never touched here.
    org = make_org(session)
    linked = make_user(session, role=UserRole.studio_creator, organization_id=org.id, password=None)
    users.change_role(session=session, actor=admin, user_id=linked.id, role=UserRole.platform_admin, version=1)
    assert session.get(User, linked.id).organization_id == org.id


def test_a_role_change_from_an_older_version_is_refused(session):
    admin = actor_of(make_user(session, role=UserRole.platform_admin, name="Pat Admin"))
    person = make_user(session, role=UserRole.individual, password=None)
    users.change_role(session=session, actor=admin, user_id=person.id, role=UserRole.studio_creator, version=1)
    with pytest.raises(Stale) as refused:
        users.change_role(session=session, actor=admin, user_id=person.id, role=UserRole.platform_admin, version=1)
    assert refused.value.version == 2 and refused.value.current["role"] == "studio_creator"
    with pytest.raises(Stale):
        users.change_role(session=session, actor=admin, user_id=person.id, role=UserRole.individual, version=None)
    assert session.get(User, person.id).role is UserRole.studio_creator


def test_you_cannot_change_your_own_role_or_deactivate_yourself(session):
    me = make_user(session, role=UserRole.platform_admin)
    make_user(session, role=UserRole.platform_admin)
    with pytest.raises(ValidationFailed, match="your own role"):
        users.change_role(session=session, actor=actor_of(me), user_id=me.id, role=UserRole.individual, version=1)
    with pytest.raises(ValidationFailed, match="deactivate yourself"):
        users.deactivate(session=session, actor=actor_of(me), user_id=me.id)


def test_deactivation_ends_every_login_and_reactivation_lets_them_back(session):
    admin = actor_of(make_user(session, role=UserRole.platform_admin))
    person = make_user(session, role=UserRole.studio_creator)
    tokens = [_login(session, person), _login(session, person)]
    assert accounts.actor_for_token(session=session, token=tokens[0]) is not None
    done = users.deactivate(session=session, actor=admin, user_id=person.id)
    assert done.deactivated_at is not None and done.version == 2
    assert all(accounts.actor_for_token(session=session, token=t) is None for t in tokens)
    open_logins = session.scalar(
        select(func.count())
        .select_from(LoginSession)
        .where(LoginSession.user_id == person.id, LoginSession.revoked_at.is_(None))
    )
    assert open_logins == 0
    entry = session.scalar(select(AuditLogEntry).where(AuditLogEntry.action == "user.deactivate"))
    assert (
        entry.before["deactivated_at"] is None and entry.after["deactivated_at"] and "2 login sessions" in entry.comment
    )

    users.reactivate(session=session, actor=admin, user_id=person.id)
    assert session.get(User, person.id).deactivated_at is None
    assert accounts.actor_for_token(session=session, token=tokens[0]) is None  # old logins stay ended
    assert accounts.actor_for_token(session=session, token=_login(session, person)) is not None
    assert session.scalar(select(AuditLogEntry).where(AuditLogEntry.action == "user.reactivate")) is not None


def test_bulk_deactivation_reports_each_refusal_and_does_the_rest(session):
    me = make_user(session, role=UserRole.platform_admin)
    other_admin = make_user(session, role=UserRole.platform_admin)
    people = [make_user(session, role=UserRole.individual, password=None) for _ in range(2)]
    result = users.deactivate_many(
        session=session, actor=actor_of(me), user_ids=[me.id, people[0].id, other_admin.id, people[1].id]
    )
    assert set(result.changed) == {people[0].id, people[1].id, other_admin.id}
    assert list(result.refused) == [me.id] and "yourself" in result.refused[me.id]
    # Now `me` is the last admin: a second admin actor's bulk including `me` refuses just `me`.
    again = users.reactivate_many(session=session, actor=actor_of(me), user_ids=[people[0].id])
    assert again.changed == [people[0].id]
    outsider = users.deactivate_many(
        session=session,
        actor=actor_of(make_user(session, role=UserRole.platform_admin, deactivated_at=utcnow())),
        user_ids=[me.id, people[0].id],
    )
    assert list(outsider.refused) == [me.id] and outsider.refused[me.id] == users.LAST_ADMIN
    assert outsider.changed == [people[0].id]


def test_people_who_are_not_platform_admins_get_nothing(session):
    org_admin = _member(session, role=UserRole.enterprise_admin)
    person = make_user(session, role=UserRole.individual, password=None)
    for role_actor in (actor_of(org_admin), actor_of(make_user(session, role=UserRole.studio_creator))):
        with pytest.raises(PermissionDenied):
            users.list_(session=session, actor=role_actor, query=ListQuery())
        with pytest.raises(PermissionDenied):
            users.deactivate(session=session, actor=role_actor, user_id=person.id)
        with pytest.raises(PermissionDenied):
            users.change_role(
                session=session, actor=role_actor, user_id=person.id, role=UserRole.platform_admin, version=1
            )
        with pytest.raises(PermissionDenied):
            users.create(
                session=session, actor=role_actor, data={"name": "X", "email": "x@x.example", "role": "individual"}
            )
    assert session.get(User, person.id).deactivated_at is None


# --- creating ------------------------------------------------------------------------------------


def test_create_an_enterprise_member_with_their_membership(session):
    admin = actor_of(make_user(session, role=UserRole.platform_admin))
    org = make_org(session, seat_limit=1)
    created = users.create(
        session=session,
        actor=admin,
        data={"name": " Ana ", "email": "Ana@Example.com", "role": "enterprise_admin", "organization_id": str(org.id)},
    )
    assert (created.name, created.email, created.organization_id) == ("Ana", "ana@example.com", org.id)
    membership = session.scalar(select(OrgMembership).where(OrgMembership.user_id == created.id))
    assert membership.role is MembershipRole.admin
    # An admin takes no seat: the one seat goes to the first participant, the second is refused.
    users.create(
        session=session,
        actor=admin,
        data={
            "name": "Cy",
            "email": "cy@example.com",
            "role": "enterprise_participant",
            "organization_id": str(org.id),
        },
    )
    with pytest.raises(ValidationFailed, match="seats"):
        users.create(
            session=session,
            actor=admin,
            data={
                "name": "Bo",
                "email": "bo@example.com",
                "role": "enterprise_participant",
                "organization_id": str(org.id),
            },
        )
    with pytest.raises(ValidationFailed) as duplicate:
        users.create(session=session, actor=admin, data={"name": "A", "email": "ANA@example.com", "role": "individual"})
    assert duplicate.value.field_errors == {"email": "already in use"}


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"name": "X", "email": "not-an-email", "role": "individual"}, "email"),
        ({"name": "  ", "email": "x@example.com", "role": "individual"}, "name"),
        ({"name": "X", "email": "x@example.com", "role": "enterprise_admin"}, "organization_id"),
        ({"name": "X", "email": "x@example.com", "role": "individual", "password": "short"}, "password"),
        ({"name": "X", "email": "x@example.com", "role": "boss"}, "role"),
        # Fields the form never sends are refused, not quietly taken.
        (
            {"name": "X", "email": "x@example.com", "role": "individual", "id": "00000000-0000-0000-0000-000000000001"},
            "id",
        ),
        (
            {"name": "X", "email": "x@example.com", "role": "individual", "subscription_tier": "enterprise"},
            "subscription_tier",
        ),
        ({"name": "X", "email": "x@example.com", "role": "individual", "deactivated_at": None}, "deactivated_at"),
    ],
)
def test_create_refuses_bad_or_tampered_input(session, data, field):
    admin = actor_of(make_user(session, role=UserRole.platform_admin))
    with pytest.raises(ValidationFailed) as refused:
        users.create(session=session, actor=admin, data=data)
    assert field in refused.value.field_errors
    assert session.scalar(select(func.count()).select_from(User).where(User.email == "x@example.com")) == 0


def test_a_non_enterprise_role_takes_no_organization(session):
    admin = actor_of(make_user(session, role=UserRole.platform_admin))
    org = make_org(session)
    with pytest.raises(ValidationFailed) as refused:
        users.create(
            session=session,
            actor=admin,
            data={"name": "X", "email": "x@example.com", "role": "studio_creator", "organization_id": str(org.id)},
        )
    assert "organization_id" in refused.value.field_errors


def test_created_with_a_password_they_can_sign_in(session):
    admin = actor_of(make_user(session, role=UserRole.platform_admin))
    users.create(
        session=session,
        actor=admin,
        data={"name": "Sol", "email": "sol@example.com", "role": "individual", "password": "a long password"},
    )
    result = accounts.authenticate(
        session=session, email="sol@example.com", password="a long password", throttle=accounts.LoginThrottle(5, 60)
    )
    assert result.user is not None


# --- the list ------------------------------------------------------------------------------------


@pytest.fixture
def crowd(session):
    admin = make_user(session, role=UserRole.platform_admin, name="Zed Admin", email="zed@ops.example")
    acme = make_org(session, name="Acme")
    ana = _member(session, role=UserRole.enterprise_admin, org=acme, name="Ana Acme", email="ana@acme.example")
    bo = _member(session, role=UserRole.enterprise_participant, org=acme, name="Bo Acme", email="bo@acme.example")
    solo = make_user(
        session, role=UserRole.individual, name="Solo Pro", email="solo@mail.example",
        subscription_tier=SubscriptionTier.pro_annual, password=None,
    )  # fmt: skip
    gone = make_user(session, role=UserRole.studio_creator, name="Gone Creator", deactivated_at=utcnow(), password=None)
    now = utcnow()
    _login(session, ana, at=now - timedelta(days=3))
    _login(session, ana, at=now - timedelta(days=1))  # the newest is the last sign-in
    _login(session, bo, at=now - timedelta(days=2))
    return {"admin": admin, "acme": acme, "ana": ana, "bo": bo, "solo": solo, "gone": gone, "now": now}


def _list(session, crowd, **kwargs):  # noqa: ANN001
    return users.list_(session=session, actor=actor_of(crowd["admin"]), query=ListQuery(**kwargs))


def test_the_list_shows_everyone_with_organization_and_last_sign_in(session, crowd):
    page = _list(session, crowd, sort="name")
    assert _names(page) == ["Ana Acme", "Bo Acme", "Gone Creator", "Solo Pro", "Zed Admin"]
    assert page.total == 5
    ana = page.rows[0]
    assert ana.organization_name == "Acme" and ana.role is UserRole.enterprise_admin and ana.status == "active"
    assert abs((ana.last_sign_in_at - (crowd["now"] - timedelta(days=1))).total_seconds()) < 1
    solo = page.rows[3]
    assert solo.organization_name is None and solo.last_sign_in_at is None
    assert solo.subscription_tier is SubscriptionTier.pro_annual
    assert page.rows[2].status == "deactivated"


def test_the_list_filters_searches_and_sorts(session, crowd):
    assert _names(_list(session, crowd, filters={"organization": "none"}, sort="name")) == [
        "Gone Creator",
        "Solo Pro",
        "Zed Admin",
    ]
    assert _names(_list(session, crowd, filters={"organization": str(crowd["acme"].id)}, sort="name")) == [
        "Ana Acme",
        "Bo Acme",
    ]
    assert _names(_list(session, crowd, filters={"role": "enterprise_participant"})) == ["Bo Acme"]
    assert _names(_list(session, crowd, filters={"tier": "pro_annual"})) == ["Solo Pro"]
    assert _names(_list(session, crowd, filters={"status": "deactivated"})) == ["Gone Creator"]
    assert len(_list(session, crowd, filters={"status": "active"}).rows) == 4
    assert _names(_list(session, crowd, search="ACME.example", sort="name")) == ["Ana Acme", "Bo Acme"]
    assert _names(_list(session, crowd, search="solo pro")) == ["Solo Pro"]
    assert _names(_list(session, crowd, search="%")) == []  # LIKE characters match themselves
    assert _names(_list(session, crowd, search="pro\nsolo")) == []  # name and email are never read as one
    # The search reads a column PostgreSQL keeps in step with name and email: a rename is found at once.
    session.execute(update(User).where(User.name == "Solo Pro").values(name="Solo Ångström"))
    assert _names(_list(session, crowd, search="ÅNGSTR")) == ["Solo Ångström"]
    assert _names(_list(session, crowd, search="solo pro")) == []
    session.execute(update(User).where(User.name == "Solo Ångström").values(name="Solo Pro"))
    by_sign_in = _names(_list(session, crowd, sort="last_sign_in_at", descending=True))
    assert by_sign_in[:2] == ["Ana Acme", "Bo Acme"]  # never signed in: last, either way
    assert _names(_list(session, crowd, sort="last_sign_in_at"))[:2] == ["Bo Acme", "Ana Acme"]
    assert _names(_list(session, crowd, sort="email"))[0] == "Ana Acme"
    assert _names(_list(session, crowd, sort="name", descending=True, limit=2, offset=1)) == [
        "Solo Pro",
        "Gone Creator",
    ]
    for bad in ({"role": "boss"}, {"status": "gone"}, {"organization": "acme"}, {"tier": "gold"}):
        with pytest.raises(ValidationFailed):
            _list(session, crowd, filters=bad)
