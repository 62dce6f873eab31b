"""Assignments: assigning (people, departments, emails), status rules as read and as changed by play,
due dates, unassigning, the list's filters, and scoping per role."""

from __future__ import annotations

import threading
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from console import unit_of_work
from console.errors import NotFound, PermissionDenied, ValidationFailed
from console.services import assignments
from console.services.assignments import assigning, matrix, person, progress
from console.services.assignments import status as rules
from console.services.listing import ListQuery
from console.services.people import members
from models import (
    AssignmentStatus,
    AuditLogEntry,
    MembershipRole,
    OrgMembership,
    PlaySession,
    SessionStatus,
    SimulationAssignment,
    SimulationStatus,
    User,
    UserRole,
)
from models.base import utcnow
from tests.factories import actor_of, make_module, make_org, make_simulation, make_user

TODAY = date.today()


def _admin_of(session, org) -> User:  # noqa: ANN001
    admin = make_user(session, role=UserRole.enterprise_admin, organization_id=org.id)
    session.add(OrgMembership(user_id=admin.id, organization_id=org.id, role=MembershipRole.admin))
    session.flush()
    return admin


@pytest.fixture
def world(session):
    org = make_org(session, name="Acme", seat_limit=50)
    other = make_org(session, name="Globex", seat_limit=50)
    admin = actor_of(_admin_of(session, org))
    outsider = actor_of(_admin_of(session, other))
    people = {}
    for name, dept in (("Ann", "Sales"), ("Bob", "Sales"), ("Cy", "Ops"), ("Di", None)):
        m = members.add(
            session=session, actor=admin, organization_id=None,
            data={"email": f"{name.lower()}@acme.example", "name": name, "department": dept},
        )  # fmt: skip
        people[name] = m.user_id
    stranger = members.add(
        session=session, actor=outsider, organization_id=None, data={"email": "gil@globex.example", "name": "Gil"}
    ).user_id
    sim = make_simulation(session, status=SimulationStatus.published, title="Crisis Desk")
    first, second = make_module(session, sim), make_module(session, sim)
    draft_sim = make_simulation(session, title="Not yet")
    session.commit()
    return {
        "org": org, "other": other, "admin": admin, "outsider": outsider, "people": people, "stranger": stranger,
        "sim": sim, "modules": (first, second), "draft_sim": draft_sim,
        "platform": actor_of(make_user(session, role=UserRole.platform_admin)),
    }  # fmt: skip


def _assign(session, world, actor=None, dry_run=False, **data):  # noqa: ANN001
    return assigning.assign(
        session=session,
        actor=actor or world["admin"],
        organization_id=None if actor is None or actor is world["admin"] else world["org"].id,
        data={"simulation_id": world["sim"].id, **data},
        dry_run=dry_run,
    )


def _held(session, user_id, sim) -> list[SimulationAssignment]:  # noqa: ANN001
    return list(
        session.scalars(
            select(SimulationAssignment).where(
                SimulationAssignment.assigned_to_user_id == user_id, SimulationAssignment.simulation_id == sim.id
            )
        )
    )


def _play(session, user_id, module, *, completed: bool, started=None, total=70.0, org_id="theirs") -> PlaySession:  # noqa: ANN001
    """A session of the module; played in the person's organization unless `org_id` says otherwise
    (None: as an individual)."""
    started = started or utcnow() - timedelta(hours=1)
    if org_id == "theirs":
        org_id = session.scalar(select(OrgMembership.organization_id).where(OrgMembership.user_id == user_id))
    play = PlaySession(
        user_id=user_id,
        module_id=module.id,
        organization_id=org_id,
        started_at=started,
        status=SessionStatus.completed if completed else SessionStatus.in_progress,
        completed_at=started + timedelta(minutes=20) if completed else None,
        final_scores={"total": total} if completed else None,
    )
    session.add(play)
    session.flush()
    return play


def test_assign_people_departments_and_emails_reports_each_and_never_duplicates(session, world):
    p = world["people"]
    preview = _assign(session, world, user_ids=[p["Ann"]], departments=["Sales"], dry_run=True)
    assert preview.created == ["Ann <ann@acme.example>", "Bob <bob@acme.example>"]
    assert session.scalar(select(func.count()).select_from(SimulationAssignment)) == 0  # a dry run writes nothing

    done = _assign(session, world, user_ids=[p["Ann"]], departments=["Sales"], due_date=TODAY + timedelta(days=7))
    assert done.created == ["Ann <ann@acme.example>", "Bob <bob@acme.example>"]
    again = _assign(
        session, world, departments=["-"], emails=["ANN@acme.example", "nobody@acme.example", "gil@globex.example"]
    )
    assert again.created == ["Di <di@acme.example>"]
    assert again.already == ["Ann <ann@acme.example>"]
    assert sorted(again.not_found) == ["gil@globex.example", "nobody@acme.example"]  # another org's: not found
    assert len(_held(session, p["Ann"], world["sim"])) == 1
    assert _held(session, world["stranger"], world["sim"]) == []
    entries = list(session.scalars(select(AuditLogEntry).where(AuditLogEntry.action == "assignment.create")))
    assert [e.after["people"] for e in entries] == [2, 1]
    assert entries[0].organization_id == world["org"].id


def test_assign_refuses_unpublished_past_due_dates_and_nobody(session, world):
    with pytest.raises(NotFound):
        _assign(session, world, simulation_id=world["draft_sim"].id, user_ids=[world["people"]["Ann"]])
    with pytest.raises(ValidationFailed) as past:
        _assign(session, world, user_ids=[world["people"]["Ann"]], due_date=TODAY - timedelta(days=1))
    assert past.value.details == {"due_date": "the due date has passed"}
    with pytest.raises(ValidationFailed):
        _assign(session, world)
    with pytest.raises(ValidationFailed) as tampered:  # the organization is the scope's, not the form's
        _assign(session, world, user_ids=[world["people"]["Ann"]], organization_id=str(world["other"].id))
    assert "organization_id" in tampered.value.details


def test_scoping_another_organizations_admin_and_participants(session, world):
    _assign(session, world, departments=["Sales"])
    with pytest.raises(NotFound):  # naming another organization
        assigning.assign(
            session=session, actor=world["outsider"], organization_id=world["org"].id,
            data={"simulation_id": world["sim"].id, "user_ids": [world["people"]["Ann"]]},
        )  # fmt: skip
    # The outsider's own organization: Acme's people are not found there, and nothing is written.
    outcome = assigning.assign(
        session=session, actor=world["outsider"], organization_id=None,
        data={"simulation_id": world["sim"].id, "user_ids": [world["people"]["Cy"]]},
    )  # fmt: skip
    assert outcome.created == [] and outcome.not_found == [str(world["people"]["Cy"])]
    assert _held(session, world["people"]["Cy"], world["sim"]) == []
    ids = [r.id for r in progress.list_(session=session, actor=world["admin"], query=ListQuery()).rows]
    assert len(ids) == 2
    assert progress.list_(session=session, actor=world["outsider"], query=ListQuery()).total == 0
    for operation in (
        lambda: assigning.change_due_date(
            session=session, actor=world["outsider"], organization_id=None, assignment_ids=ids, due_date=None
        ),
        lambda: assigning.unassign(session=session, actor=world["outsider"], organization_id=None, assignment_ids=ids),
    ):
        with pytest.raises(NotFound):
            operation()
    participant = actor_of(session.get(User, world["people"]["Ann"]))
    with pytest.raises(PermissionDenied):
        progress.list_(session=session, actor=participant, query=ListQuery())
    with pytest.raises(NotFound):
        _assign(session, world, actor=participant, user_ids=[world["people"]["Bob"]])
    # The platform admin sees every organization's.
    assert progress.list_(session=session, actor=world["platform"], query=ListQuery()).total == 2


def test_status_follows_play_and_completes_when_every_published_module_is_done(session, world):
    ann, (first, second) = world["people"]["Ann"], world["modules"]
    _assign(session, world, user_ids=[ann], due_date=TODAY + timedelta(days=3))
    make_module(session, world["sim"], status="draft")  # drafts are not part of the work
    (a,) = _held(session, ann, world["sim"])
    assert a.status == AssignmentStatus.assigned

    _play(session, ann, first, completed=False)
    assignments.session_started(
        session=session, user_id=ann, simulation_id=world["sim"].id, organization_id=world["org"].id
    )
    assert a.status == AssignmentStatus.in_progress and a.started_at is not None

    _play(session, ann, first, completed=True, total=40.0, started=utcnow() - timedelta(hours=3))
    assignments.session_completed(
        session=session, user_id=ann, simulation_id=world["sim"].id, organization_id=world["org"].id
    )
    assert a.status == AssignmentStatus.in_progress and a.score is None  # one of two modules

    play = _play(session, ann, first, completed=True, total=80.0)  # a replay: its latest total counts
    last = _play(session, ann, second, completed=True, total=50.0, started=utcnow() - timedelta(minutes=30))
    assignments.session_completed(
        session=session, user_id=ann, simulation_id=world["sim"].id, organization_id=world["org"].id
    )
    assert a.status == AssignmentStatus.completed
    # Completed when the last module was first completed; a replay of another one does not move it.
    assert a.completed_at == last.completed_at and a.completed_at != play.completed_at
    assert (a.score, a.passed) == (65.0, True)  # (80 + 50) / 2 against a pass mark of 60
    assert rules.days_late(a.due_date, a.completed_at) == 0


def test_overdue_is_true_when_read_and_a_late_completion_is_completed_and_late(session, world):
    ann, bob = world["people"]["Ann"], world["people"]["Bob"]
    _assign(session, world, user_ids=[ann, bob], due_date=TODAY)
    for a in _held(session, ann, world["sim"]) + _held(session, bob, world["sim"]):
        a.due_date = TODAY - timedelta(days=4)  # time passes; no sweep has run
    session.flush()
    rows = {r.name: r for r in progress.list_(session=session, actor=world["admin"], query=ListQuery()).rows}
    assert rows["Ann"].status == AssignmentStatus.overdue and rows["Ann"].days_late == 4
    overdue = progress.list_(session=session, actor=world["admin"], query=ListQuery(filters={"status": "overdue"}))
    assert overdue.total == 2
    assert assignments.mark_overdue(session=session) == 2  # the sweep records what reads already said

    for module in world["modules"]:
        _play(session, ann, module, completed=True, total=30.0)
    assignments.session_completed(
        session=session, user_id=ann, simulation_id=world["sim"].id, organization_id=world["org"].id
    )
    (late,) = _held(session, ann, world["sim"])
    assert (late.score, late.passed) == (30.0, False)
    rows = {r.name: r for r in progress.list_(session=session, actor=world["admin"], query=ListQuery()).rows}
    assert rows["Ann"].status == AssignmentStatus.completed and rows["Ann"].days_late == 4
    assert rows["Bob"].status == AssignmentStatus.overdue


def test_an_assignment_made_after_play_counts_it_and_a_reassignment_starts_again(session, world):
    ann, cy = world["people"]["Ann"], world["people"]["Cy"]
    for module in world["modules"]:
        _play(session, ann, module, completed=True, started=utcnow() - timedelta(days=2))
    _play(session, cy, world["modules"][0], completed=False)
    preview = _assign(session, world, user_ids=[ann, cy], dry_run=True)
    assert preview.completed_by_earlier_play == 1
    _assign(session, world, user_ids=[ann, cy])
    (a,) = _held(session, ann, world["sim"])
    (c,) = _held(session, cy, world["sim"])
    assert (a.status, c.status) == (AssignmentStatus.completed, AssignmentStatus.in_progress)
    assert (a.score, a.passed, c.score) == (70.0, True, None)
    assert c.started_at is not None

    # Completed: a new assignment can be made, and the earlier play no longer counts for it.
    again = _assign(session, world, user_ids=[ann], due_date=TODAY + timedelta(days=10))
    assert again.created == ["Ann <ann@acme.example>"]
    fresh = next(x for x in _held(session, ann, world["sim"]) if x.id != a.id)
    assert fresh.status == AssignmentStatus.assigned and fresh.started_at is None


def test_due_date_changes_reopen_overdue_and_leave_completed_alone(session, world):
    ann, bob = world["people"]["Ann"], world["people"]["Bob"]
    _assign(session, world, user_ids=[ann, bob], due_date=TODAY)
    (a,) = _held(session, ann, world["sim"])
    (b,) = _held(session, bob, world["sim"])
    a.due_date = b.due_date = TODAY - timedelta(days=2)
    a.started_at = utcnow()
    b.status = AssignmentStatus.completed
    session.flush()
    assignments.mark_overdue(session=session)
    with pytest.raises(ValidationFailed):
        assigning.change_due_date(
            session=session, actor=world["admin"], organization_id=None, assignment_ids=[a.id],
            due_date=TODAY - timedelta(days=1),
        )  # fmt: skip
    changed = assigning.change_due_date(
        session=session, actor=world["admin"], organization_id=None, assignment_ids=[a.id, b.id],
        due_date=TODAY + timedelta(days=14),
    )  # fmt: skip
    assert changed == 1
    session.refresh(a)
    session.refresh(b)
    assert (a.status, a.due_date) == (AssignmentStatus.in_progress, TODAY + timedelta(days=14))
    assert b.due_date == TODAY - timedelta(days=2)
    entry = session.scalar(select(AuditLogEntry).where(AuditLogEntry.action == "assignment.update"))
    assert entry.after == {"due_date": (TODAY + timedelta(days=14)).isoformat(), "assignments": 1}


def test_unassign_removes_open_ones_keeps_completed_and_play(session, world):
    ann, bob = world["people"]["Ann"], world["people"]["Bob"]
    _assign(session, world, user_ids=[ann, bob])
    (a,) = _held(session, ann, world["sim"])
    (b,) = _held(session, bob, world["sim"])
    b.status = AssignmentStatus.completed
    play = _play(session, ann, world["modules"][0], completed=False)
    session.flush()
    removed = assigning.unassign(
        session=session, actor=world["admin"], organization_id=None, assignment_ids=[a.id, b.id]
    )
    assert removed == (1, 1)
    assert _held(session, ann, world["sim"]) == [] and session.get(PlaySession, play.id) is not None
    assert _assign(session, world, user_ids=[ann]).created == ["Ann <ann@acme.example>"]  # re-assign
    with pytest.raises(NotFound):  # an id that is not there: nothing changes
        assigning.unassign(session=session, actor=world["admin"], organization_id=None, assignment_ids=[a.id])


def test_list_filters_by_department_simulation_due_window_and_search(session, world):
    p = world["people"]
    _assign(session, world, user_ids=[p["Ann"], p["Cy"]], due_date=TODAY + timedelta(days=3))
    _assign(session, world, user_ids=[p["Di"]], due_date=TODAY + timedelta(days=20))

    def names(**filters) -> list[str]:  # noqa: ANN003
        search = filters.pop("search", "")
        page = progress.list_(session=session, actor=world["admin"], query=ListQuery(search=search, filters=filters))
        return sorted(r.name for r in page.rows)

    assert names(department="Sales") == ["Ann"]
    assert names(department="-") == ["Di"]
    assert names(due="week") == ["Ann", "Cy"]
    assert names(due="month") == ["Ann", "Cy", "Di"]
    assert names(due="overdue") == []
    assert names(search="CY@ACME") == ["Cy"]
    assert names(simulation_id=str(world["draft_sim"].id)) == []
    with pytest.raises(ValidationFailed):
        names(due="someday")


def test_two_admins_assigning_the_same_person_at_once_make_one_assignment(database_url, session, world):
    ann = world["people"]["Ann"]
    barrier = threading.Barrier(4)
    outcomes = []

    def assign_once() -> None:
        barrier.wait()
        with unit_of_work.transaction() as s:
            outcomes.append(
                assigning.assign(
                    session=s,
                    actor=world["admin"],
                    organization_id=None,
                    data={"simulation_id": world["sim"].id, "user_ids": [ann]},
                )  # fmt: skip
            )

    threads = [threading.Thread(target=assign_once) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(len(o.created) for o in outcomes) == [0, 0, 0, 1]
    assert sum(len(o.already) for o in outcomes) == 3
    session.expire_all()
    assert len(_held(session, ann, world["sim"])) == 1


def test_emails_from_csv_reads_a_column_or_lines_and_reports_bad_ones():
    emails, problems = assigning.emails_from_csv(b"name,email\nAnn,ann@acme.example\nBob,not-an-email\n,\n")
    assert emails == ["ann@acme.example"] and problems == ["line 3: “not-an-email” is not an email address"]
    assert assigning.emails_from_csv(b"cy@acme.example\r\ndi@acme.example\r\n")[0] == [
        "cy@acme.example",
        "di@acme.example",
    ]
    for bad in (b"\xff\xfe", b"a\x00b", b"x" * (assigning.MAX_CSV_BYTES + 1), b""):
        with pytest.raises(ValidationFailed):
            assigning.emails_from_csv(bad)


def test_matrix_has_a_row_per_person_and_a_column_per_simulation_with_the_latest_cell(session, world):
    p = world["people"]
    other_sim = make_simulation(session, status=SimulationStatus.published, title="Boardroom")
    make_module(session, other_sim)
    _assign(session, world, user_ids=[p["Ann"], p["Bob"]], due_date=TODAY + timedelta(days=5))
    _assign(session, world, simulation_id=other_sim.id, user_ids=[p["Ann"]])
    for module in world["modules"]:
        _play(session, p["Bob"], module, completed=True, total=90.0)
    assignments.session_completed(
        session=session, user_id=p["Bob"], simulation_id=world["sim"].id, organization_id=world["org"].id
    )

    found = matrix.matrix(session=session, actor=world["admin"], query=ListQuery())
    assert [title for _, title in found.simulations] == ["Boardroom", "Crisis Desk"]
    assert [r.name for r in found.page.rows] == ["Ann", "Bob"] and found.page.total == 2
    ann, bob = found.page.rows
    assert set(ann.cells) == {world["sim"].id, other_sim.id}
    assert bob.cells[world["sim"].id].status == AssignmentStatus.completed
    assert (bob.cells[world["sim"].id].score, bob.cells[world["sim"].id].passed) == (90.0, True)
    assert other_sim.id not in bob.cells
    completed = matrix.matrix(session=session, actor=world["admin"], query=ListQuery(filters={"status": "completed"}))
    assert [r.name for r in completed.page.rows] == ["Bob"] and len(completed.simulations) == 1
    outsider = matrix.matrix(session=session, actor=world["outsider"], query=ListQuery())
    assert outsider.page.total == 0 and outsider.simulations == []
    with pytest.raises(NotFound):
        matrix.matrix(
            session=session, actor=world["outsider"],
            query=ListQuery(filters={"organization_id": str(world["org"].id)}),
        )  # fmt: skip


def test_a_persons_page_has_assignments_sessions_scores_and_debriefs_in_scope(session, world):
    ann = world["people"]["Ann"]
    world["sim"].scoring_config = {
        "dimensions": [{"key": "calm", "label": "Calm", "weight": 1, "min": 0, "max": 100}],
        "pass_mark": 60,
    }
    _assign(session, world, user_ids=[ann])
    play = _play(session, ann, world["modules"][0], completed=True, total=55.0)
    play.final_scores = {"calm": 55.0, "total": 55.0}
    play.debrief_text = "You kept **calm**."
    elsewhere = _play(session, ann, world["modules"][1], completed=True, org_id=None)  # not in this organization
    session.flush()

    seen = person.overview(session=session, actor=world["admin"], user_id=ann)
    assert (seen.name, seen.department, len(seen.assignments)) == ("Ann", "Sales", 1)
    assert [s.id for s in seen.sessions] == [play.id] and elsewhere.id not in {s.id for s in seen.sessions}
    (only,) = seen.sessions
    assert (only.total, only.pass_mark, only.passed, only.debrief_text) == (55.0, 60, False, "You kept **calm**.")
    assert [(d.label, d.value) for d in only.dimensions] == [("Calm", 55.0)]
    for actor, user_id in ((world["outsider"], ann), (world["admin"], world["stranger"])):
        with pytest.raises(NotFound):
            person.overview(session=session, actor=actor, user_id=user_id)


def test_another_organizations_assignment_and_play_never_count_here(session, world):
    """Gil was once in Acme and holds an open Acme assignment; Globex assigns him the same simulation:
    made, not reported as held (that is Acme's record), and his play in Globex completes Globex's only."""
    gil = world["stranger"]
    session.add(
        SimulationAssignment(organization_id=world["org"].id, assigned_to_user_id=gil, simulation_id=world["sim"].id)
    )
    for module in world["modules"]:  # and he played it as an individual before joining Globex
        _play(session, gil, module, completed=True, org_id=None)
    session.flush()
    made = assigning.assign(
        session=session, actor=world["outsider"], organization_id=None,
        data={"simulation_id": world["sim"].id, "user_ids": [gil]},
    )  # fmt: skip
    assert made.created == ["Gil <gil@globex.example>"] and made.already == []
    acme, globex = sorted(_held(session, gil, world["sim"]), key=lambda a: a.organization_id != world["org"].id)
    assert globex.status == AssignmentStatus.assigned  # individual play is not Globex's
    for module in world["modules"]:
        _play(session, gil, module, completed=True, org_id=world["other"].id)
    assignments.session_completed(
        session=session, user_id=gil, simulation_id=world["sim"].id, organization_id=world["other"].id
    )
    session.refresh(acme)
    assert (globex.status, acme.status) == (AssignmentStatus.completed, AssignmentStatus.assigned)


def test_admins_are_reported_not_assigned_and_huge_offsets_are_an_empty_page(session, world):
    outcome = _assign(session, world, user_ids=[world["admin"].user_id, world["people"]["Ann"]])
    assert outcome.created == ["Ann <ann@acme.example>"] and len(outcome.admins) == 1
    assert _held(session, world["admin"].user_id, world["sim"]) == []
    far = progress.list_(session=session, actor=world["admin"], query=ListQuery(offset=10**30))
    assert far.rows == [] and far.total == 1
    with pytest.raises(ValidationFailed):  # an address past any real one's length
        _assign(session, world, emails=["a" * 400 + "@acme.example"])


def test_period_filter_and_every_count_matches_the_rows_in_scope(session, world):
    """The list's total is read from the kept counts without filters and from the assignments alone
    with them: each must equal the rows the view really holds, in the viewer's scope."""
    p = world["people"]
    _assign(session, world, user_ids=[p["Ann"], p["Bob"], p["Cy"]], due_date=TODAY + timedelta(days=3))
    theirs = {"simulation_id": world["sim"].id, "user_ids": [world["stranger"]]}
    assigning.assign(session=session, actor=world["outsider"], organization_id=None, data=theirs, dry_run=False)
    old = _held(session, p["Cy"], world["sim"])[0]
    old.assigned_at = utcnow() - timedelta(days=40)
    session.flush()

    def view(actor, **filters):  # noqa: ANN001, ANN003, ANN202
        search = filters.pop("search", "")
        page = progress.list_(session=session, actor=actor, query=ListQuery(search=search, filters=filters, limit=100))
        return page.total, sorted(r.name for r in page.rows)

    assert view(world["admin"]) == (3, ["Ann", "Bob", "Cy"])  # never Globex's Gil
    assert view(world["outsider"]) == (1, ["Gil"])
    assert view(world["platform"]) == (4, ["Ann", "Bob", "Cy", "Gil"])
    assert view(world["platform"], organization_id=str(world["other"].id)) == (1, ["Gil"])
    assert view(world["admin"], organization_id=str(world["other"].id)) == (0, [])
    assert view(world["admin"], assigned="30") == (2, ["Ann", "Bob"])
    assert view(world["admin"], assigned="90") == (3, ["Ann", "Bob", "Cy"])
    assert view(world["admin"], assigned="all") == (3, ["Ann", "Bob", "Cy"])
    assert view(world["admin"], department="Sales", assigned="30") == (2, ["Ann", "Bob"])
    assert view(world["admin"], search="ann", assigned="30") == (1, ["Ann"])
    with pytest.raises(ValidationFailed) as refused:
        view(world["admin"], assigned="7")
    assert "assigned" in refused.value.details
    with pytest.raises(ValidationFailed):
        view(world["admin"], status="bogus")
