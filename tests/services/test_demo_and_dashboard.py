"""Demo data is deterministic and realistic; dashboards count it within each role's scope."""

from datetime import date

from sqlalchemy import func, select

from console import demo
from console.services import api_keys, dashboard
from console.services.accounts import actor_for_user
from console.services.identity import sso
from models import (
    AuditLogEntry,
    GameEvent,
    MembershipRole,
    Organization,
    OrgMembership,
    PlaySession,
    Simulation,
    SimulationAssignment,
    User,
)
from models.enums import AssignmentStatus, SessionStatus, SimulationStatus, UserRole


def test_demo_data_is_deterministic_and_large_enough(session):
    result = demo.seed(session, today=date(2026, 11, 25))
    assert set(result.logins) == {r.value for r in UserRole}
    assert result.counts["organizations"] == 3 and result.counts["simulations"] == 5
    assert result.counts["sessions"] >= 200 and result.counts["events"] >= 3000
    statuses = set(session.scalars(select(SimulationAssignment.status).distinct()))
    assert AssignmentStatus.overdue in statuses and AssignmentStatus.completed in statuses
    results = session.execute(
        select(SimulationAssignment.score, SimulationAssignment.passed, SimulationAssignment.completed_at).where(
            SimulationAssignment.status == AssignmentStatus.completed
        )
    ).all()
    assert all(score is not None and done is not None for score, _, done in results)  # reports have results
    assert {passed for _, passed, _ in results} == {True, False}
    completed = session.scalars(select(PlaySession).where(PlaySession.status == SessionStatus.completed)).all()
    assert all({"total", "percentile"} <= set(ps.final_scores) for ps in completed)
    published = session.scalars(select(Simulation).where(Simulation.status == SimulationStatus.published)).all()
    for sim in published:  # each published simulation carries its review trail
        actions = session.scalars(select(AuditLogEntry.action).where(AuditLogEntry.entity_id == str(sim.id))).all()
        assert sorted(actions) == sorted(
            ["simulation.create", "simulation.submit", "simulation.stage", "simulation.publish"]
        )
    context = api_keys.authenticate(session=session, key=result.api_key)  # the printed key works
    assert set(context.scopes) == {"game:write", "game:read"}
    first_counts = result.counts
    emails = session.scalars(select(User.email).order_by(User.email)).all()
    session.rollback()
    again = demo.seed(session, today=date(2026, 11, 25))
    assert again.counts == first_counts
    assert session.scalars(select(User.email).order_by(User.email)).all() == emails


def test_no_demo_organization_has_single_sign_on_on_without_a_provider_to_send_people_to(session):
    # Acme had SSO on with no issuer, client or domains: a state its settings form refuses to save, so
    # an admin's first save of the tab failed on fields they had not touched.
    demo.seed(session, today=date(2026, 11, 25))
    orgs = session.scalars(select(Organization)).all()
    assert orgs
    for org in orgs:
        if org.sso_enabled:
            sso.provider_of(org)  # raises when nobody could be sent to sign in


def test_dashboard_counts_are_scoped_to_the_organization(session):
    demo.seed(session)
    acme = session.scalar(select(Organization).where(Organization.slug == "acme"))
    admin = session.scalar(select(User).where(User.email == "admin@acme.example"))
    platform = session.scalar(select(User).where(User.role == UserRole.platform_admin))
    ent = dashboard.summary(session=session, actor=actor_for_user(admin))
    everyone = dashboard.summary(session=session, actor=actor_for_user(platform))
    # Seats used: Acme's participants (its admins take no seat, console/services/seats.py).
    acme_participants = session.scalar(
        select(func.count())
        .select_from(OrgMembership)
        .where(OrgMembership.organization_id == acme.id, OrgMembership.role == MembershipRole.participant)
    )
    assert ent["members"] == acme_participants
    assert "organizations" not in ent and everyone["organizations"] == 3
    acme_in_progress = session.scalar(
        select(func.count())
        .select_from(PlaySession)
        .where(PlaySession.organization_id == acme.id, PlaySession.status == SessionStatus.in_progress)
    )
    assert ent["sessions_in_progress"] == acme_in_progress < everyone["sessions_in_progress"]
    assert everyone["events_24h"] <= session.scalar(select(func.count()).select_from(GameEvent))


def test_demo_media_live_in_the_consoles_own_storage(session):
    from console.services import media
    from models import MediaAsset, Module

    demo.seed(session, today=date(2026, 11, 25))
    storage = media.get_storage()
    assets = session.scalars(select(MediaAsset)).all()
    assert assets and all(a.url.startswith("/media/") for a in assets)  # no CDN that does not resolve
    kinds = {a.type.value for a in assets}
    assert kinds == {"image", "document"}
    for asset in assets:  # each row has its bytes, and they are what the row says they are
        data = storage.get(media.storage_key(asset))
        assert len(data) == asset.size_bytes
        assert media.inspect_bytes(data).kind.type == asset.type
    urls = {a.url for a in assets}
    sims = session.scalars(select(Simulation)).all()
    assert all(s.thumbnail_url in urls for s in sims)
    portraits = [p["portrait_url"] for m in session.scalars(select(Module)) for p in m.stakeholders]
    assert portraits and all(url in urls for url in portraits)
    keys = [media.storage_key(a) for a in assets]
    session.rollback()  # a demo load that fails half way leaves no files behind
    assert not any(storage.exists(key) for key in keys)


def test_the_large_data_set_has_the_demos_shapes_in_proportion(session):
    from sqlalchemy import text

    result = demo.seed_large(session, events=20_000, today=date(2026, 11, 25), progress=lambda _: None)
    umbrella = session.scalar(select(Organization).where(Organization.slug == "umbrella"))
    count = lambda sql: session.scalar(text(sql), {"org": umbrella.id})  # noqa: E731
    sessions = count("SELECT count(*) FROM sessions WHERE organization_id = :org")
    events = count(
        "SELECT count(*) FROM game_events e JOIN sessions s ON s.id = e.session_id WHERE s.organization_id = :org"
    )
    assert sessions == 2_000 and 19_000 <= events <= 21_000
    assert count("SELECT count(*) FROM users WHERE organization_id = :org") == 200 + 3
    assert count("SELECT count(*) FROM org_memberships WHERE organization_id = :org") == 203
    assert count("SELECT count(*) FROM simulation_assignments WHERE organization_id = :org") == 1_000
    assert count("SELECT count(DISTINCT status) FROM simulation_assignments WHERE organization_id = :org") >= 3
    # Completed sessions carry final scores with a percentile, and a debrief; events have the demo's kinds.
    bad = count(
        "SELECT count(*) FROM sessions WHERE organization_id = :org AND status = 'completed' AND NOT "
        "(final_scores ? 'total' AND final_scores ? 'percentile' AND debrief_text IS NOT NULL)"
    )
    assert bad == 0
    kinds = set(session.scalars(text("SELECT DISTINCT event_type::text FROM game_events")))
    assert kinds == {"decision", "milestone", "score_update", "completion"}
    # History grows in time at a steady rate: the play spans the days the size asks for, up to today.
    span = count("SELECT max(started_at)::date - min(started_at)::date FROM sessions WHERE organization_id = :org")
    assert 29 <= span <= 30 and result.counts["days of history"] == 30
    first = sorted(session.scalars(text("SELECT id::text FROM sessions ORDER BY id LIMIT 5")))
    session.rollback()
    demo.seed_large(session, events=20_000, today=date(2026, 11, 25), progress=lambda _: None)
    assert sorted(session.scalars(text("SELECT id::text FROM sessions ORDER BY id LIMIT 5"))) == first  # deterministic
