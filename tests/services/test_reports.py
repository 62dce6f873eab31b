"""Reports: each chart's numbers on a small known data set, the list's filters, and scoping per role."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from console.errors import NotFound, PermissionDenied
from console.services.assignments import reports
from console.services.listing import ListQuery
from console.services.people import members
from models import (
    AssignmentStatus,
    MembershipRole,
    OrgMembership,
    PlaySession,
    SessionStatus,
    SimulationAssignment,
    SimulationStatus,
    User,
    UserRole,
)
from tests.factories import actor_of, make_module, make_org, make_simulation, make_user

TODAY = date.today()


def _at(day: str, hour: int = 10) -> datetime:
    return datetime.fromisoformat(day).replace(hour=hour, tzinfo=UTC)


def _admin_of(session, org) -> User:  # noqa: ANN001
    admin = make_user(session, role=UserRole.enterprise_admin, organization_id=org.id)
    session.add(OrgMembership(user_id=admin.id, organization_id=org.id, role=MembershipRole.admin))
    session.flush()
    return admin


def build_world(session) -> dict:  # noqa: ANN001
    """Acme (Ann and Bob in Sales, Cy in Ops, Di in none) and Globex (Gil); two simulations.

    Assignments (Acme): Ann·Crisis completed 2026-11-02 score 80 passed; Bob·Crisis completed 2026-11-17
    score 50 failed; Cy·Crisis started, due 3 days ago (overdue); Di·Crisis assigned, no due date;
    Ann·Budget overdue (due 10 days ago, never started); Cy·Budget completed 2026-11-03 score 70 passed.
    Globex: Gil·Crisis completed 2026-11-02 score 10.
    Sessions of Crisis (completed unless said): Ann 85/72/80 and a replay 15/30/21 (Acme); Bob 40/65/50
    (Acme) and one in progress; Di 100/0/60 played with no organization (never counted); Gil 5/5/5
    (Globex); Ann 55/55/55 played for Globex (not Acme's record). Cy 70/70/70 of Budget.
    """
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
    people["Gil"] = members.add(
        session=session, actor=outsider, organization_id=None, data={"email": "gil@globex.example", "name": "=Gil"}
    ).user_id
    crisis = make_simulation(session, status=SimulationStatus.published, title="Crisis Desk")
    budget = make_simulation(session, status=SimulationStatus.published, title="Budget Call")
    c1, b1 = make_module(session, crisis, title="Briefing"), make_module(session, budget, title="Numbers")
    p = people

    def assign(who, sim, status, *, org_=org, due=None, started=None, completed=None, score=None, passed=None):  # noqa: ANN001, ANN202
        row = SimulationAssignment(
            organization_id=org_.id, assigned_to_user_id=p[who], simulation_id=sim.id, status=status,
            due_date=due, started_at=started, completed_at=completed, score=score, passed=passed,
            assigned_at=_at("2026-10-20"),
        )  # fmt: skip
        session.add(row)
        return row

    done = AssignmentStatus.completed
    assign("Ann", crisis, done, started=_at("2026-11-01"), completed=_at("2026-11-02"), score=80, passed=True)
    assign("Bob", crisis, done, started=_at("2026-11-10"), completed=_at("2026-11-17"), score=50, passed=False)
    assign("Cy", crisis, AssignmentStatus.in_progress, due=TODAY - timedelta(days=3), started=_at("2026-11-05"))
    assign("Di", crisis, AssignmentStatus.assigned)
    assign("Ann", budget, AssignmentStatus.overdue, due=TODAY - timedelta(days=10))
    assign("Cy", budget, done, started=_at("2026-11-03", 8), completed=_at("2026-11-03"), score=70, passed=True)
    assign("Gil", crisis, done, org_=other, started=_at("2026-11-01"), completed=_at("2026-11-02"), score=10)

    def play(who, module, scores, *, org_id=org.id, completed=True, day="2026-11-02"):  # noqa: ANN001, ANN202
        started = _at(day, 9)
        session.add(
            PlaySession(
                user_id=p[who], module_id=module.id, organization_id=org_id, started_at=started,
                status=SessionStatus.completed if completed else SessionStatus.in_progress,
                completed_at=started + timedelta(minutes=30) if completed else None,
                total_duration_seconds=1800 if completed else None,
                final_scores=dict(zip(("financial", "reputational", "total"), scores, strict=True)) if completed
                else None,
            )
        )  # fmt: skip

    play("Ann", c1, (85, 72, 80))
    play("Ann", c1, (15, 30, 21), day="2026-11-04")
    play("Bob", c1, (40, 65, 50), day="2026-11-17")
    play("Bob", c1, None, completed=False, day="2026-11-20")
    play("Di", c1, (100, 0, 60), org_id=None, day="2026-11-06")
    play("Gil", c1, (5, 5, 5), org_id=other.id)
    play("Ann", c1, (55, 55, 55), org_id=other.id, day="2026-11-08")
    play("Cy", b1, (70, 70, 70), day="2026-11-03")
    session.commit()
    return {
        "org": org, "other": other, "admin": admin, "outsider": outsider, "people": people,
        "crisis": crisis, "budget": budget,
        "platform": actor_of(make_user(session, role=UserRole.platform_admin)),
        "participant": actor_of(session.get(User, people["Ann"])),
    }  # fmt: skip


@pytest.fixture
def world(session):  # noqa: ANN001
    return build_world(session)


def _q(search: str = "", **filters: str) -> ListQuery:
    return ListQuery(search=search, filters=filters)


def test_completion_by_week_counts_completed_assignments_per_monday_with_gaps(session, world):
    weeks = reports.completion_by_week(session=session, actor=world["admin"], query=_q())
    assert [(w.week, w.completed) for w in weeks] == [
        (date(2026, 11, 2), 2),  # Ann's Crisis and Cy's Budget
        (date(2026, 11, 9), 0),
        (date(2026, 11, 16), 1),  # Bob's
    ]
    sales = reports.completion_by_week(session=session, actor=world["admin"], query=_q(department="Sales"))
    assert [(w.week, w.completed) for w in sales] == [(date(2026, 11, 2), 1), (date(2026, 11, 9), 0),
                                                      (date(2026, 11, 16), 1)]  # fmt: skip
    assert reports.completion_by_week(session=session, actor=world["admin"], query=_q(status="overdue")) == []


def test_funnel_per_simulation(session, world):
    rows = reports.funnel(session=session, actor=world["admin"], query=_q())
    assert [(r.title, r.assigned, r.started, r.completed, r.passed) for r in rows] == [
        ("Crisis Desk", 4, 3, 2, 1),
        ("Budget Call", 2, 1, 1, 1),
    ]
    # Platform admins see every organization's (Gil's completed Crisis, not passed), or one.
    everyone = reports.funnel(session=session, actor=world["platform"], query=_q())
    assert [(r.title, r.assigned, r.completed) for r in everyone] == [("Crisis Desk", 5, 3), ("Budget Call", 2, 1)]
    globex = reports.funnel(session=session, actor=world["platform"], query=_q(organization_id=str(world["other"].id)))
    assert [(r.title, r.assigned) for r in globex] == [("Crisis Desk", 1)]


def test_score_distribution_counts_each_completed_session_of_the_filtered_people_once(session, world):
    assert reports.score_distribution(session=session, actor=world["admin"], query=_q()) is None  # pick one first
    found = reports.score_distribution(
        session=session, actor=world["admin"], query=_q(simulation_id=str(world["crisis"].id))
    )
    # Ann's two (a replay counts) and Bob's completed one: not Di's (played with no organization), nor
    # Gil's (Globex), nor Ann's played for Globex, nor Bob's in progress.
    assert found.configured and found.sessions == 3
    by_key = {d.key: d for d in found.dimensions}
    assert list(by_key) == ["financial", "reputational", "total"]
    financial = by_key["financial"]
    assert (financial.sessions, round(financial.mean, 1)) == (3, 46.7)
    assert [b.sessions for b in financial.bins] == [0, 1, 0, 0, 1, 0, 0, 0, 1, 0]  # 15, 40, 85
    assert (financial.bins[0].low, financial.bins[0].high, financial.bins[-1].high) == (0, 10, 100)
    assert [b.sessions for b in by_key["reputational"].bins] == [0, 0, 0, 1, 0, 0, 1, 1, 0, 0]
    sales = reports.score_distribution(
        session=session, actor=world["admin"], query=_q(simulation_id=str(world["crisis"].id), department="Sales")
    )
    assert sales.sessions == 3
    everyone = reports.score_distribution(
        session=session, actor=world["platform"], query=_q(simulation_id=str(world["crisis"].id))
    )
    assert everyone.sessions == 4  # Gil's too; Ann's Globex session belongs to no Globex assignment of hers


def test_score_distribution_of_a_simulation_without_scoring(session, world):
    world["crisis"].scoring_config = None
    session.commit()
    found = reports.score_distribution(
        session=session, actor=world["admin"], query=_q(simulation_id=str(world["crisis"].id))
    )
    assert not found.configured and found.dimensions == []


def test_average_and_overdue_by_department(session, world):
    averages = reports.average_by_department(session=session, actor=world["admin"], query=_q())
    assert [(a.department, a.assignments, a.value) for a in averages] == [("Ops", 1, 70.0), ("Sales", 2, 65.0)]
    overdue = reports.overdue_by_department(session=session, actor=world["admin"], query=_q())
    assert [(o.department, o.value, o.assignments) for o in overdue] == [("Ops", 1, 1), ("Sales", 1, 1), (None, 0, 1)]
    crisis_only = reports.overdue_by_department(
        session=session, actor=world["admin"], query=_q(simulation_id=str(world["crisis"].id))
    )
    assert [(o.department, o.value) for o in crisis_only] == [("Ops", 1), (None, 0)]
    # An overdue assignment is overdue when read, whatever the sweep recorded (Cy's is still in_progress).
    assert reports.department_label(overdue[2], with_organization=True) == "Acme · No department"


def test_build_gathers_every_figure_for_the_same_filters(session, world):
    report = reports.build(session=session, actor=world["admin"], query=_q(search="ann"))
    assert report.total == 2 and report.organizations == 1
    assert [(r.title, r.assigned) for r in report.funnel] == [("Budget Call", 1), ("Crisis Desk", 1)]
    assert report.distribution is None
    assert reports.build(session=session, actor=world["platform"], query=_q()).organizations == 2


def test_an_enterprise_admin_never_sees_another_organization(session, world):
    outsider = world["outsider"]
    own = reports.build(session=session, actor=outsider, query=_q(simulation_id=str(world["crisis"].id)))
    assert own.total == 1 and [(r.title, r.assigned) for r in own.funnel] == [("Crisis Desk", 1)]
    assert own.distribution.sessions == 1  # Gil's, never Acme's four
    # Tampering with the organization filter: "not found", for every figure.
    tampered = _q(organization_id=str(world["org"].id), simulation_id=str(world["crisis"].id))
    for figure in (
        reports.build,
        reports.completion_by_week,
        reports.funnel,
        reports.score_distribution,
        reports.average_by_department,
        reports.overdue_by_department,
    ):
        with pytest.raises(NotFound):
            figure(session=session, actor=outsider, query=tampered)


def test_participants_are_refused(session, world):
    with pytest.raises(PermissionDenied):
        reports.build(session=session, actor=world["participant"], query=_q())
    with pytest.raises(PermissionDenied):
        reports.score_distribution(
            session=session, actor=world["participant"], query=_q(simulation_id=str(world["crisis"].id))
        )


def test_a_period_keeps_the_assignments_made_in_it_and_departments_read_the_same_either_way(session, world):
    """The world's assignments were made on 2026-10-20. Over a period, departments are looked up per
    assignment; over all time, joined: both must give the same figures for the same assignments."""
    admin, inside, later = world["admin"], date(2026, 11, 10), date(2026, 12, 25)
    for figure in (reports.average_by_department, reports.overdue_by_department):
        for filters in ({}, {"department": "Sales"}, {"search": "cy"}):
            everything = figure(session=session, actor=admin, query=_q(**filters), on=inside)
            recent = figure(session=session, actor=admin, query=_q(assigned="30", **filters), on=inside)
            assert recent == everything and everything, (figure.__name__, filters)
        assert figure(session=session, actor=admin, query=_q(assigned="30"), on=later) == []
        assert figure(session=session, actor=admin, query=_q(assigned="90"), on=later) == figure(
            session=session, actor=admin, query=_q(), on=later
        )
    for figure in (reports.completion_by_week, reports.funnel):
        assert figure(session=session, actor=admin, query=_q(assigned="30"), on=later) == []
        assert figure(session=session, actor=admin, query=_q(assigned="30"), on=inside) == figure(
            session=session, actor=admin, query=_q(), on=inside
        )
    crisis = str(world["crisis"].id)

    def counted(on: date | None = None, **filters: str) -> int:
        found = reports.score_distribution(
            session=session, actor=admin, query=_q(simulation_id=crisis, **filters), on=on
        )
        return found.sessions

    assert counted(later, assigned="30") == 0
    assert counted(inside, assigned="30") == counted() > 0
    # The two ways of counting (per session over a period, holders hashed over all time) give the same
    # histograms for the same assignments, whichever other filters apply.
    for filters in ({}, {"department": "Sales"}, {"search": "ann"}, {"status": "completed"}):
        over_period = reports.score_distribution(
            session=session, actor=admin, query=_q(simulation_id=crisis, assigned="30", **filters), on=inside
        )
        all_time = reports.score_distribution(
            session=session, actor=admin, query=_q(simulation_id=crisis, **filters), on=inside
        )
        assert over_period == all_time and all_time.sessions > 0, filters
