"""CSV imports: the file checked by content, a dry run that writes nothing, an apply that writes all or nothing."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from console.errors import Conflict, NotFound, TooLarge, ValidationFailed
from console.services.people import csv_import, members
from console.services.people.csv_import import Outcome
from console.services.seats import SeatsExhausted
from models import AuditLogEntry, MemberImport, MembershipRole, OrgMembership, User, UserRole
from tests.factories import actor_of, make_org, make_user


@pytest.fixture
def world(session):
    org = make_org(session, name="Acme", seat_limit=4)
    other = make_org(session, name="Globex")
    admin = make_user(session, role=UserRole.enterprise_admin, organization_id=org.id)
    session.add(OrgMembership(user_id=admin.id, organization_id=org.id, role=MembershipRole.admin))
    outsider = make_user(session, role=UserRole.enterprise_admin, organization_id=other.id)
    session.commit()
    return {"org": org, "other": other, "admin": actor_of(admin), "outsider": actor_of(outsider), "admin_user": admin}


def _stage(session, actor, text: str | bytes, org_id=None):  # noqa: ANN001
    content = text.encode() if isinstance(text, str) else text
    return csv_import.stage(
        session=session, actor=actor, organization_id=org_id, filename="people.csv", content=content
    )


def _count(session, model) -> int:  # noqa: ANN001
    return session.scalar(select(func.count()).select_from(model))


def test_template_is_a_valid_import(session, world):
    assert csv_import.template_csv().startswith(b"email,name,role,department\r\n")
    imported = _stage(session, world["admin"], csv_import.template_csv())
    report = csv_import.dry_run(session=session, actor=world["admin"], import_id=imported.id)
    assert [line.outcome for line in report.lines] == [Outcome.created, Outcome.created] and report.ok


@pytest.mark.parametrize(
    ("content", "error"),
    [
        (b"\x89PNG\r\n\x1a\n\x00\x00binary", ValidationFailed),
        (b"email,name\r\n\xff\xfe bad utf-8\r\n", ValidationFailed),
        (b"mail,fullname\r\na@b.c,A\r\n", ValidationFailed),
        (b"email,name\r\n", ValidationFailed),  # no members
        ("email,name\n" + "a@example.com,A\n" * (csv_import.MAX_LINES + 1), TooLarge),
        (b"email,name\n" + b"x" * csv_import.MAX_BYTES, TooLarge),
    ],
)
def test_stage_refuses_what_is_not_a_members_csv(session, world, content, error):
    with pytest.raises(error):
        _stage(session, world["admin"], content)
    assert _count(session, MemberImport) == 0


def test_dry_run_reports_every_outcome_and_writes_nothing(session, world):
    theirs = make_user(session, role=UserRole.enterprise_participant, organization_id=world["other"].id)
    session.add(OrgMembership(user_id=theirs.id, organization_id=world["other"].id, role=MembershipRole.participant))
    creator = make_user(session, role=UserRole.studio_creator)
    loner = make_user(session, role=UserRole.individual)
    text = (
        "email,name,role,department\n"
        "new@example.com,New One,participant,Sales\n"
        f"{world['admin_user'].email.upper()},Admin,admin,\n"
        "not-an-email,Bad,participant,\n"
        "role@example.com,Role,owner,\n"
        "NEW@example.com,Again,participant,\n"
        f"{theirs.email},Theirs,participant,\n"
        f"{creator.email},Creator,participant,\n"
        f"{loner.email},,admin,{'d' * 101}\n"
        f"{loner.email.replace('@', '+x@')},,Admin,\n"
    )
    imported = _stage(session, world["admin"], text)
    users, memberships, entries = _count(session, User), _count(session, OrgMembership), _count(session, AuditLogEntry)
    report = csv_import.dry_run(session=session, actor=world["admin"], import_id=imported.id)
    assert [(line.line, line.outcome) for line in report.lines] == [
        (2, Outcome.created),
        (3, Outcome.already_member),
        (4, Outcome.invalid_email),
        (5, Outcome.unknown_role),
        (6, Outcome.duplicate),
        (7, Outcome.unavailable),  # another organization's member: one answer for every account
        (8, Outcome.unavailable),
        (9, Outcome.invalid),
        (10, Outcome.created),
    ]
    assert report.lines[5].message == report.lines[6].message == "not added"
    assert report.lines[5].outcome.label == "cannot be added here"
    assert report.counts["created"] == 2 and report.problems == 6 and not report.ok
    # Seats: the new participant only (line 10 is an admin; admins take none), against all 4 left.
    assert (report.seats_needed, report.seats_left) == (1, 4)
    assert (_count(session, User), _count(session, OrgMembership), _count(session, AuditLogEntry)) == (
        users, memberships, entries,
    )  # fmt: skip
    with pytest.raises(ValidationFailed, match="6 lines"):
        csv_import.apply(session=session, actor=world["admin"], import_id=imported.id)
    assert _count(session, OrgMembership) == memberships
    session.refresh(theirs)
    assert theirs.organization_id == world["other"].id  # reported, never moved


def test_apply_is_refused_when_seats_are_short_and_writes_nothing(session, world):
    text = "email,name\n" + "".join(f"p{n}@example.com,P {n}\n" for n in range(5))  # 4 seats left
    imported = _stage(session, world["admin"], text)
    report = csv_import.dry_run(session=session, actor=world["admin"], import_id=imported.id)
    assert (report.seats_needed, report.seats_left, report.seats_missing, report.ok) == (5, 4, 1, False)
    with pytest.raises(SeatsExhausted) as refused:
        csv_import.apply(session=session, actor=world["admin"], import_id=imported.id)
    assert refused.value.details == {"seats": "1 missing"}
    assert session.scalar(select(func.count()).where(User.email.like("p%@example.com"))) == 0
    assert session.get(MemberImport, imported.id).applied_at is None


def test_apply_adds_everyone_once_with_one_import_entry(session, world):
    loner = make_user(session, role=UserRole.individual)
    platform = actor_of(make_user(session, role=UserRole.platform_admin))
    text = f"email,name,role,department\nann@example.com,Ann,admin,Sales\nbob@example.com,Bob,,\n{loner.email},L,,Ops\n"
    imported = _stage(session, world["admin"], text)
    # An enterprise admin's file may not bring an existing account in; a platform admin's may.
    assert csv_import.dry_run(session=session, actor=world["admin"], import_id=imported.id).lines[2].outcome is (
        Outcome.unavailable
    )
    report = csv_import.apply(session=session, actor=platform, import_id=imported.id)
    assert report.counts["created"] == 3 and report.seats_left == 2  # Ann is an admin: no seat
    ann = session.scalar(select(User).where(User.email == "ann@example.com"))
    assert (ann.organization_id, ann.role) == (world["org"].id, UserRole.enterprise_admin)
    session.refresh(loner)
    assert (loner.organization_id, loner.role) == (world["org"].id, UserRole.enterprise_participant)
    rows = {
        r.email: (r.role, r.department) for r in members.list_(session=session, actor=world["admin"], query=_q()).rows
    }
    assert rows["ann@example.com"] == (MembershipRole.admin, "Sales") and rows[loner.email][1] == "Ops"
    entry = session.scalar(select(AuditLogEntry).where(AuditLogEntry.action == "membership.import"))
    assert (
        entry.organization_id == world["org"].id and entry.after["added"] == 3 and entry.after["accounts_joined"] == 1
    )
    assert session.get(MemberImport, imported.id).applied_at is not None
    with pytest.raises(Conflict):
        csv_import.apply(session=session, actor=world["admin"], import_id=imported.id)


def _q():  # noqa: ANN202
    from console.services.listing import ListQuery

    return ListQuery(limit=50)


def test_another_organizations_import_is_not_found(session, world):
    theirs = _stage(session, world["outsider"], "email,name\nz@example.com,Z\n")
    for op in (csv_import.dry_run, csv_import.apply):
        with pytest.raises(NotFound):
            op(session=session, actor=world["admin"], import_id=theirs.id)
    with pytest.raises(NotFound):
        _stage(session, world["admin"], "email,name\nz@example.com,Z\n", org_id=world["other"].id)
    assert session.get(MemberImport, theirs.id).applied_at is None
    assert session.scalar(select(func.count()).where(User.email == "z@example.com")) == 0


def test_unconfirmed_files_are_kept_a_day_and_twenty_at_most_and_applied_ones_emptied(session, world):
    from datetime import timedelta

    from models.base import utcnow

    old = _stage(session, world["admin"], "email,name\nold@example.com,Old\n")
    old.created_at = utcnow() - timedelta(days=2)
    session.flush()
    kept = [_stage(session, world["admin"], f"email,name\np{n}@example.com,P\n") for n in range(csv_import.KEPT + 2)]
    session.expire_all()
    left = set(session.scalars(select(MemberImport.id).where(MemberImport.organization_id == world["org"].id)))
    assert old.id not in left and len(left) == csv_import.KEPT and kept[-1].id in left and kept[0].id not in left
    csv_import.apply(session=session, actor=world["admin"], import_id=kept[-1].id)
    assert session.get(MemberImport, kept[-1].id).content == ""
