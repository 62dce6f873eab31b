"""Members and departments of an organization: the seat rule in every path, scoping, roles kept in step."""

from __future__ import annotations

import threading
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from console import unit_of_work
from console.errors import Conflict, NotFound, ValidationFailed
from console.services.listing import ListQuery
from console.services.people import departments, members
from console.services.seats import SeatsExhausted
from models import (
    AssignmentStatus,
    AuditLogEntry,
    LocalCredential,
    MembershipRole,
    OrgMembership,
    PlaySession,
    SimulationAssignment,
    User,
    UserRole,
)
from models.base import utcnow
from tests.factories import actor_of, make_module, make_org, make_simulation, make_user


def _admin_of(session, org, **kw) -> User:  # noqa: ANN001
    """An enterprise admin (a membership, taking no seat), as every real one is."""
    admin = make_user(session, role=UserRole.enterprise_admin, organization_id=org.id, **kw)
    session.add(OrgMembership(user_id=admin.id, organization_id=org.id, role=MembershipRole.admin))
    session.flush()
    return admin


@pytest.fixture
def world(session):
    org = make_org(session, name="Acme", seat_limit=8)
    other = make_org(session, name="Globex", seat_limit=5)
    admin = _admin_of(session, org)
    outsider = _admin_of(session, other)
    platform = make_user(session, role=UserRole.platform_admin)
    participant = make_user(session, role=UserRole.enterprise_participant, organization_id=org.id)
    session.commit()
    return {
        "org": org, "other": other, "admin": actor_of(admin), "admin_user": admin, "outsider": actor_of(outsider),
        "platform": actor_of(platform), "participant": actor_of(participant),
    }  # fmt: skip


def _add(session, actor, email, org_id=None, **data):  # noqa: ANN001
    return members.add(
        session=session, actor=actor, organization_id=org_id, data={"email": email, "name": email.split("@")[0], **data}
    )


def _entries(session, action: str) -> list[AuditLogEntry]:  # noqa: ANN001
    return list(session.scalars(select(AuditLogEntry).where(AuditLogEntry.action == action)))


def test_add_creates_user_and_membership_with_roles_in_step(session, world):
    m = _add(session, world["admin"], "Dana@Example.com", role="admin", department=" Finance ")
    user = session.get(User, m.user_id)
    assert (user.email, user.organization_id, user.role) == (
        "dana@example.com",
        world["org"].id,
        UserRole.enterprise_admin,
    )
    assert (m.role, m.department) == (MembershipRole.admin, "Finance")
    entry = _entries(session, "membership.add")[0]
    assert entry.organization_id == world["org"].id and entry.comment == "dana@example.com"


def test_only_a_platform_admin_brings_an_existing_account_in_and_never_anyone_elses(session, world):
    loner = make_user(session, role=UserRole.individual, password=None)
    creator = make_user(session, role=UserRole.studio_creator)
    theirs = _add(session, world["outsider"], "theirs@example.com")
    session.commit()  # the refusals below roll back, as a unit of work does
    # An enterprise admin adds new people only: taking someone's own account would take its history
    # (and, through a password or a link, the account). One answer whatever the account is.
    for email in (loner.email, "theirs@example.com", creator.email):
        with pytest.raises(Conflict, match="cannot be added here. A platform admin can help"):
            _add(session, world["admin"], email, password="attacker-chosen-pw")
        session.rollback()  # as the unit of work does with a refusal
    assert session.get(User, loner.id).organization_id is None
    assert session.get(LocalCredential, loner.id) is None
    # A platform admin may bring an individual in, but never sets the password of an existing account.
    with pytest.raises(Conflict, match="already has an account"):
        _add(session, world["platform"], loner.email, org_id=world["org"].id, password="chosen-by-admin")
    session.rollback()
    m = _add(session, world["platform"], loner.email, org_id=world["org"].id)
    assert session.get(User, loner.id).organization_id == world["org"].id and m.user_id == loner.id
    assert session.get(User, loner.id).role is UserRole.enterprise_participant
    assert session.get(LocalCredential, loner.id) is None
    with pytest.raises(Conflict, match="already a member"):
        _add(session, world["admin"], loner.email)
    with pytest.raises(Conflict, match="cannot be added here"):  # nor someone of another organization
        _add(session, world["platform"], "theirs@example.com", org_id=world["org"].id)
    assert session.get(User, theirs.user_id).organization_id == world["other"].id


def test_a_platform_admin_placed_in_an_organization_cannot_be_demoted_by_its_admin(session, world):
    platform_user = session.get(User, world["platform"].user_id)
    with pytest.raises(Conflict, match="cannot be added here"):
        _add(session, world["admin"], platform_user.email)
    assert session.get(User, platform_user.id).role is UserRole.platform_admin


def test_an_organization_keeps_an_admin(session, world):
    second = _add(session, world["admin"], "second@example.com", role="admin")
    first = session.scalar(select(OrgMembership).where(OrgMembership.user_id == world["admin_user"].id))
    second_actor = actor_of(session.get(User, second.user_id))
    members.change_role(session=session, actor=world["admin"], membership_id=second.id, role="participant")
    with pytest.raises(Conflict, match="at least one admin"):
        members.change_role(session=session, actor=world["platform"], membership_id=first.id, role="participant")
    with pytest.raises(Conflict, match="at least one admin"):
        members.remove(session=session, actor=world["platform"], membership_ids=[first.id])
    assert second_actor is not None


def test_a_member_role_change_moves_the_account_version(session, world):
    m = _add(session, world["admin"], "versioned@example.com")
    before = session.get(User, m.user_id).version
    members.change_role(session=session, actor=world["admin"], membership_id=m.id, role="admin")
    account = session.get(User, m.user_id)
    assert account.role is UserRole.enterprise_admin and account.version == before + 1
    assert _entries(session, "user.update")[-1].after == {"role": "enterprise_admin", "version": before + 1}


def test_add_refuses_past_the_seat_limit_with_the_number_missing(session, world):
    for n in range(world["org"].seat_limit):  # participants take the seats; the admin takes none
        _add(session, world["admin"], f"p{n}@example.com")
    with pytest.raises(SeatsExhausted) as refused:
        _add(session, world["admin"], "one-too-many@example.com")
    assert refused.value.details == {"seats": "1 missing"}
    assert session.scalar(select(func.count()).where(User.email == "one-too-many@example.com")) == 0


def test_two_admins_adding_the_last_seat_at_once_only_one_gets_it(database_url):
    with unit_of_work.transaction() as session:
        org = make_org(session, seat_limit=1)  # one seat: the admin takes none
        a, b = _admin_of(session, org), actor_of(make_user(session, role=UserRole.platform_admin))
    barrier, outcomes = threading.Barrier(2), []

    def add(actor, email: str) -> None:  # noqa: ANN001
        barrier.wait()
        try:
            with unit_of_work.transaction() as session:
                _add(session, actor, email, org_id=org.id)
            outcomes.append("added")
        except SeatsExhausted:
            outcomes.append("refused")

    threads = [
        threading.Thread(target=add, args=(actor, f"last{n}@example.com")) for n, actor in enumerate((actor_of(a), b))
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["added", "refused"]
    with unit_of_work.read_only() as session:
        assert session.scalar(select(func.count()).where(OrgMembership.organization_id == org.id)) == 2


def test_tampered_fields_are_refused_not_obeyed(session, world):
    with pytest.raises(ValidationFailed) as refused:
        _add(session, world["admin"], "x@example.com", organization_id=str(world["other"].id))
    assert refused.value.details == {"organization_id": "this field cannot be set here"}
    with pytest.raises(ValidationFailed):
        _add(session, world["admin"], "y@example.com", role="platform_admin")
    with pytest.raises(NotFound):  # naming another organization as the target
        _add(session, world["admin"], "z@example.com", org_id=world["other"].id)
    assert session.scalar(select(func.count()).where(OrgMembership.organization_id == world["other"].id)) == 1


def test_readable_scope_by_role(session, world):
    _add(session, world["admin"], "mine@example.com")
    _add(session, world["outsider"], "theirs@example.com")
    mine = members.list_(session=session, actor=world["admin"], query=ListQuery())
    assert {r.email for r in mine.rows} == {"mine@example.com", world["admin_user"].email}
    with pytest.raises(NotFound):  # an enterprise admin naming another organization
        members.list_(
            session=session, actor=world["admin"], query=ListQuery(filters={"organization_id": str(world["other"].id)})
        )
    with pytest.raises(NotFound):  # a platform admin must choose one
        members.list_(session=session, actor=world["platform"], query=ListQuery())
    theirs = members.list_(
        session=session, actor=world["platform"], query=ListQuery(filters={"organization_id": str(world["other"].id)})
    )
    assert "theirs@example.com" in {r.email for r in theirs.rows}
    with pytest.raises(NotFound):
        members.list_(session=session, actor=world["participant"], query=ListQuery())


def test_another_organizations_member_is_not_found_for_every_operation(session, world):
    theirs = _add(session, world["outsider"], "theirs@example.com", department="Ops")
    admin = world["admin"]
    for attempt in (
        lambda: members.get(session=session, actor=admin, membership_id=theirs.id),
        lambda: members.change_role(session=session, actor=admin, membership_id=theirs.id, role="admin"),
        lambda: members.move_to_department(session=session, actor=admin, membership_ids=[theirs.id], department="X"),
        lambda: members.remove(session=session, actor=admin, membership_ids=[theirs.id]),
        lambda: departments.rename(
            session=session, actor=admin, organization_id=world["other"].id, name="Ops", new_name="Y"
        ),
        lambda: departments.merge(
            session=session, actor=admin, organization_id=world["other"].id, source="Ops", target="Z"
        ),
        lambda: departments.list_(session=session, actor=admin, organization_id=world["other"].id),
    ):
        with pytest.raises(NotFound):
            attempt()
    session.expire_all()
    row = session.get(OrgMembership, theirs.id)
    assert (row.role, row.department) == (MembershipRole.participant, "Ops")


def test_a_bulk_action_with_one_foreign_id_changes_nothing(session, world):
    mine = _add(session, world["admin"], "mine@example.com")
    theirs = _add(session, world["outsider"], "theirs@example.com")
    with pytest.raises(NotFound):
        members.move_to_department(
            session=session, actor=world["admin"], membership_ids=[mine.id, theirs.id], department="X"
        )
    with pytest.raises(NotFound):
        members.remove(session=session, actor=world["admin"], membership_ids=[mine.id, theirs.id])
    assert session.get(OrgMembership, mine.id).department is None


def test_participants_and_creators_reach_nothing(session, world):
    creator = actor_of(make_user(session, role=UserRole.studio_creator))
    for actor in (world["participant"], creator):
        with pytest.raises(NotFound):
            _add(session, actor, "n@example.com")


def test_change_role_keeps_the_account_role_in_step(session, world):
    m = _add(session, world["admin"], "p@example.com")
    members.change_role(session=session, actor=world["admin"], membership_id=m.id, role="admin")
    assert session.get(User, m.user_id).role is UserRole.enterprise_admin
    members.change_role(session=session, actor=world["admin"], membership_id=m.id, role="participant")
    assert session.get(User, m.user_id).role is UserRole.enterprise_participant
    entries = _entries(session, "membership.update")
    assert [e.after for e in entries] == [{"role": "admin"}, {"role": "participant"}]
    assert all(e.organization_id == world["org"].id for e in entries)
    own = session.scalar(select(OrgMembership).where(OrgMembership.user_id == world["admin_user"].id))
    with pytest.raises(ValidationFailed, match="yourself"):
        members.change_role(session=session, actor=world["admin"], membership_id=own.id, role="participant")


def test_remove_frees_the_seat_and_keeps_sessions_and_assignments(session, world):
    m = _add(session, world["admin"], "leaver@example.com")
    sim = make_simulation(session)
    module = make_module(session, sim)
    session.add(PlaySession(user_id=m.user_id, module_id=module.id, organization_id=world["org"].id))
    session.add(
        SimulationAssignment(organization_id=world["org"].id, assigned_to_user_id=m.user_id, simulation_id=sim.id)
    )
    session.flush()
    before = session.scalar(select(func.count()).where(OrgMembership.organization_id == world["org"].id))
    assert members.remove(session=session, actor=world["admin"], membership_ids=[m.id]) == 1
    assert session.scalar(select(func.count()).where(OrgMembership.organization_id == world["org"].id)) == before - 1
    user = session.get(User, m.user_id)
    assert (user.organization_id, user.role) == (None, UserRole.individual)
    assert session.scalar(select(func.count()).select_from(PlaySession).where(PlaySession.user_id == user.id)) == 1
    assert (
        session.scalar(
            select(func.count())
            .select_from(SimulationAssignment)
            .where(SimulationAssignment.assigned_to_user_id == user.id)
        )
        == 1
    )
    entry = _entries(session, "membership.remove")[0]
    assert entry.organization_id == world["org"].id and entry.before["user_id"] == str(user.id)
    _add(session, world["admin"], "newcomer@example.com")  # the seat is free again


def test_list_counts_assignments_and_last_play_filters_and_sorts(session, world):
    a = _add(session, world["admin"], "a@example.com", name="Ann", department="Sales")
    _add(session, world["admin"], "b@example.com", name="Bob")
    sim = make_simulation(session)
    module = make_module(session, sim)
    for status in (AssignmentStatus.completed, AssignmentStatus.assigned):
        session.add(
            SimulationAssignment(
                organization_id=world["org"].id, assigned_to_user_id=a.user_id, simulation_id=sim.id, status=status
            )
        )
    played = utcnow() - timedelta(days=1)
    for started in (played - timedelta(days=3), played):
        session.add(
            PlaySession(user_id=a.user_id, module_id=module.id, organization_id=world["org"].id, started_at=started)
        )
    # A later play outside this organization is not this organization's to see.
    session.add(PlaySession(user_id=a.user_id, module_id=module.id, started_at=played + timedelta(hours=2)))
    session.flush()
    page = members.list_(session=session, actor=world["admin"], query=ListQuery(search="ann"))
    assert [(r.name, r.assignments_done, r.assignments_total, r.last_played_at) for r in page.rows] == [
        ("Ann", 1, 2, played)
    ]
    assert page.rows[0].has_password is False
    none = members.list_(
        session=session, actor=world["admin"], query=ListQuery(filters={"department": members.NO_DEPARTMENT})
    )
    assert "Ann" not in {r.name for r in none.rows} and "Bob" in {r.name for r in none.rows}
    sales = members.list_(
        session=session, actor=world["admin"], query=ListQuery(filters={"department": "Sales", "role": "participant"})
    )
    assert [r.name for r in sales.rows] == ["Ann"]
    by_play = members.list_(
        session=session, actor=world["admin"], query=ListQuery(sort="last_played_at", descending=True)
    )
    assert by_play.rows[0].name == "Ann" and by_play.total == 3
    with pytest.raises(ValidationFailed):
        members.list_(session=session, actor=world["admin"], query=ListQuery(filters={"role": "owner"}))


def test_departments_count_rename_and_merge_with_one_entry_each(session, world):
    for n, dept in enumerate(["Sales", "Sales", "Sales", "Ops", None]):
        _add(session, world["admin"], f"d{n}@example.com", department=dept)
    listed = departments.list_(session=session, actor=world["admin"], organization_id=None)
    assert [(d.name, d.members) for d in listed] == [("Ops", 1), ("Sales", 3), (None, 2)]
    assert (
        departments.rename(
            session=session, actor=world["admin"], organization_id=None, name="Sales", new_name="Revenue"
        )
        == 3
    )
    entry = _entries(session, "department.rename")[0]
    assert entry.before == {"department": "Sales", "members": None}
    assert entry.after == {"department": "Revenue", "members": 3} and entry.organization_id == world["org"].id
    with pytest.raises(ValidationFailed, match="merge"):
        departments.rename(session=session, actor=world["admin"], organization_id=None, name="Ops", new_name="Revenue")
    with pytest.raises(NotFound):
        departments.rename(session=session, actor=world["admin"], organization_id=None, name="Nope", new_name="X")
    assert (
        departments.merge(session=session, actor=world["admin"], organization_id=None, source="Ops", target="Revenue")
        == 1
    )
    assert len(_entries(session, "department.merge")) == 1
    assert departments.names(session=session, actor=world["admin"], organization_id=None) == ["Revenue"]


def test_move_to_department_moves_many_and_audits_each(session, world):
    ids = [_add(session, world["admin"], f"m{n}@example.com").id for n in range(3)]
    members.move_to_department(session=session, actor=world["admin"], membership_ids=ids[:2], department="Legal")
    assert [session.get(OrgMembership, i).department for i in ids] == ["Legal", "Legal", None]
    assert len(_entries(session, "membership.update")) == 2
    with pytest.raises(ValidationFailed):
        members.move_to_department(session=session, actor=world["admin"], membership_ids=ids, department="x" * 101)


def test_unknown_member_id_is_not_found(session, world):
    with pytest.raises(NotFound):
        members.change_role(session=session, actor=world["admin"], membership_id=uuid.uuid4(), role="admin")
