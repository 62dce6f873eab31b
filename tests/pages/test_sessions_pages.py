"""/sessions and /sessions/{id} through NiceGUI's simulated user: scope per role, filters in the URL
(nonsense in it answered, never a 500), the stuck badge, marking abandoned (one from the page, many from
the list, with a reason), a session's timeline, chart, scores and debrief links, engine text shown as
text, and the raw events' export."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta

import pytest
from nicegui.testing import User
from sqlalchemy import select

from console import live, unit_of_work
from console.services import debrief, scoring
from console.services.export_files import FILES
from console.services.ingest.completion import dimension_values
from models import (
    AuditLogEntry,
    EventType,
    MembershipRole,
    OrgMembership,
    PlaySession,
    SessionStatus,
    UserRole,
)
from tests.factories import SCORING, make_module, make_org, make_simulation, make_user
from tests.pages.test_login_and_shell import login
from tests.services.test_sessions import NOW, XSS, event, play
from tests.support import wait_until_async


def _admin(session, org):  # noqa: ANN001, ANN202
    admin = make_user(session, role=UserRole.enterprise_admin, organization_id=org.id)
    session.add(OrgMembership(user_id=admin.id, organization_id=org.id, role=MembershipRole.admin))
    session.flush()
    return admin


@pytest.fixture
def world(database_url):
    """Acme: Ann's stuck session and her completed one (with events, a custom payload and a debrief);
    Globex: Gil's session. A creator authors the simulation."""
    with unit_of_work.transaction() as session:
        acme, globex = make_org(session, name="Acme"), make_org(session, name="Globex")
        creator = make_user(session, role=UserRole.studio_creator)
        sim = make_simulation(session, author=creator, title="Crisis Desk", scoring_config=SCORING)
        module = make_module(session, sim, title="Act One", build_version="2.1.0")
        ann = make_user(session, role=UserRole.enterprise_participant, organization_id=acme.id, name="Ann Archer")
        gil = make_user(session, role=UserRole.enterprise_participant, organization_id=globex.id, name="Gil Gold")
        stuck = play(session, ann, module, acme, started=NOW - timedelta(minutes=45))
        event(session, stuck, EventType.milestone, {"milestone_id": "m0"}, at=NOW - timedelta(minutes=30))
        t0 = NOW - timedelta(hours=2)
        done = play(session, ann, module, acme, started=t0)
        made = [
            event(
                session,
                done,
                EventType.decision,
                {
                    "decision_id": "d1",
                    "choice_id": "c2",
                    "label": "Call the board",
                    "impacts": {"financial": -5, "reputational": 10},
                },
                at=t0 + timedelta(seconds=60),
            ),  # fmt: skip
            event(
                session,
                done,
                EventType.custom,
                {"note": XSS, "label": "**bold** [x](javascript:alert(1))"},
                at=t0 + timedelta(seconds=90),
            ),  # fmt: skip
            event(
                session,
                done,
                EventType.decision,
                {"decision_id": "d2", "choice_id": "c1", "impacts": {"financial": 20}},
                at=t0 + timedelta(seconds=150),
            ),  # fmt: skip
            event(session, done, EventType.completion, {"outcome": XSS}, at=t0 + timedelta(seconds=200)),
        ]
        config = scoring.parse_config(SCORING)
        values = dimension_values(config, [(e.event_type.value, e.event_data) for e in made])
        done.final_scores = scoring.compute_final_scores(config, values)
        done.status, done.completed_at, done.total_duration_seconds = SessionStatus.completed, t0, 200
        session.add(done)
        session.flush()
        debrief.write_for_session(session=session, play_session_id=done.id)
        other = play(session, gil, module, globex, started=NOW - timedelta(minutes=5))
        people = {
            "acme_admin": _admin(session, acme),
            "globex_admin": _admin(session, globex),
            "platform": make_user(session, role=UserRole.platform_admin),
            "creator": creator,
            "participant": make_user(session, role=UserRole.enterprise_participant, organization_id=acme.id),
        }
    return {"stuck": stuck, "done": done, "other": other, "events": made, **people}


@pytest.fixture(autouse=True)
async def _settle(user: User):
    yield
    from nicegui import background_tasks

    await wait_until_async(
        lambda: not any(
            not t.done() and not t.get_name().startswith(("refresh bindings", "outbox loop"))
            and "prune" not in t.get_name() and "live" not in t.get_name()
            for t in background_tasks.running_tasks
        ),
        what="the test's page handlers to finish",
        timeout=10,
    )  # fmt: skip


def _status(play_id: uuid.UUID) -> SessionStatus:
    with unit_of_work.read_only() as session:
        return session.get(PlaySession, play_id).status


async def test_an_enterprise_admin_lists_their_organizations_sessions_with_the_stuck_badge(user: User, world):
    await login(user, world["acme_admin"].email)
    await user.open("/sessions")
    await user.should_see("2 sessions", marker="session-count", retries=80)
    rows = user.find(marker="session-table").elements.pop().rows
    assert {r["player"] for r in rows} == {"Ann Archer"}  # never Globex's Gil
    assert {r["id"]: r["stuck"] for r in rows} == {str(world["stuck"].id): True, str(world["done"].id): False}
    assert {r["url"] for r in rows} == {f"/sessions/{world['stuck'].id}", f"/sessions/{world['done'].id}"}
    await user.should_not_see(marker="filter-organization_id")  # their own organization, no choice
    await user.open("/sessions?status=completed&stuck=0")
    await user.should_see("1 session", marker="session-count", retries=80)


@pytest.mark.parametrize(
    "query",
    ["status=bogus", "from=yesterday", "organization_id=not-an-id", "module_id=%00", "stuck=maybe",
     "sort=';drop&desc=x&page=-4&size=1000000", "search=" + "x" * 5000],
)  # fmt: skip
async def test_nonsense_in_the_address_is_answered_never_a_500(user: User, world, query):
    await login(user, world["platform"].email)
    response = await user.http_client.get(f"/sessions?{query}")
    assert response.status_code == 200
    await user.open(f"/sessions?{query}")
    await user.should_see(marker="session-table", retries=80)


async def test_roles_who_may_not_see_sessions_get_not_found(user: User, world):
    await login(user, world["participant"].email)
    await user.open("/sessions")
    await user.should_see(marker="not-found")
    await login(user, world["globex_admin"].email)
    for path in (f"/sessions/{world['done'].id}", "/sessions/not-a-uuid", f"/sessions/{uuid.uuid4()}"):
        response = await user.http_client.get(path)
        assert response.status_code == 200
        await user.open(path)
        await user.should_see(marker="session-not-found")


async def test_a_session_page_shows_its_header_timeline_chart_scores_and_debrief_links(user: User, world):
    done = world["done"]
    await login(user, world["creator"].email)  # the simulation's author: reads it, may not close it
    await user.open(f"/sessions/{done.id}")
    await user.should_see("Ann Archer · Crisis Desk — Act One", marker="session-title", retries=80)
    await user.should_see("2.1.0")  # the module's build
    await user.should_see(str(done.external_session_id))
    await user.should_see("Decision d1 → choice c2")
    await user.should_see("Impacts: financial -5 · reputational +10")
    assert len(user.find(marker="dimension-chart").elements) == 2
    await user.should_see(marker="final-scores")
    await user.should_not_see(marker="session-abandon")
    links = user.find(marker="debrief-link").elements
    assert links, "the debrief names its decisions"
    assert all(link.props["aria-label"].startswith("Show event #") for link in links)
    # Engine text is data: the payload and the outcome show as their literal text.
    payloads = [e.text for e in user.find(marker="timeline-payload").elements]
    assert any(XSS in p for p in payloads) and any("javascript:alert(1)" in p for p in payloads)
    await user.should_see(f"Outcome: {XSS}")


async def test_a_debrief_link_brings_its_event_into_view(user: User, world):
    done = world["done"]
    await login(user, world["acme_admin"].email)
    await user.open(f"/sessions/{done.id}")
    await user.should_see(marker="debrief-statements", retries=80)
    assert not any("bg-amber-2" in e.classes for e in user.find(marker="timeline-event").elements)
    user.find(marker="debrief-link").click()
    await wait_until_async(
        lambda: any("bg-amber-2" in e.classes for e in user.find(marker="timeline-event").elements),
        what="the linked event to be highlighted",
    )


async def test_abandoning_from_the_session_page_asks_for_a_reason_and_is_audited(user: User, world):
    stuck = world["stuck"]
    await login(user, world["acme_admin"].email)
    await user.open(f"/sessions/{stuck.id}")
    await user.should_see(marker="session-stuck", retries=80)
    user.find(marker="session-abandon").click()
    await user.should_see(marker="abandon-dialog", retries=40)
    user.find(marker="abandon-submit").click()
    await user.should_see("Say why the session is abandoned.")
    assert _status(stuck.id) is SessionStatus.in_progress
    user.find(marker="field-reason").type("The player left for the day")
    user.find(marker="abandon-submit").click()
    await user.should_see("1 session marked abandoned.", retries=80)
    await user.should_see("The player left for the day", marker="session-abandoned-by", retries=80)
    assert _status(stuck.id) is SessionStatus.abandoned
    with unit_of_work.read_only() as session:
        entry = session.scalar(select(AuditLogEntry).where(AuditLogEntry.action == "play_session.abandon"))
    assert entry.comment == "The player left for the day" and entry.entity_id == str(stuck.id)


async def test_marking_many_abandoned_from_the_list(user: User, world):
    await login(user, world["platform"].email)
    await user.open("/sessions?status=in_progress")
    await user.should_see("2 sessions", marker="session-count", retries=80)
    table = user.find(marker="session-table").elements.pop()
    user.find(marker="session-table").trigger("selection", {"rows": table.rows, "keys": [], "added": True})
    await user.should_see(marker="bulk-abandon", retries=40)
    user.find(marker="bulk-abandon").click()
    await user.should_see("Mark 2 sessions abandoned?", retries=40)
    user.find(marker="field-reason").type("Server maintenance")
    user.find(marker="abandon-submit").click()
    await user.should_see("2 sessions marked abandoned.", retries=80)
    assert _status(world["stuck"].id) is _status(world["other"].id) is SessionStatus.abandoned


async def test_creators_get_no_abandon_action(user: User, world):
    await login(user, world["creator"].email)
    await user.open("/sessions")
    await user.should_see("3 sessions", marker="session-count", retries=80)
    table = user.find(marker="session-table").elements.pop()
    user.find(marker="session-table").trigger("selection", {"rows": table.rows, "keys": [], "added": True})
    await user.should_not_see(marker="bulk-abandon")


async def test_raw_events_search_and_export_as_json(user: User, world):
    done = world["done"]
    await login(user, world["acme_admin"].email)
    await user.open(f"/sessions/{done.id}")
    await user.should_see("4 events", marker="raw-count", retries=80)
    user.find(marker="raw-search").type("onerror")  # the custom payload and the completion's outcome
    await user.should_see("2 events", marker="raw-count", retries=80)
    user.find(marker="export-events-json").click()
    response = await user.download.next(timeout=15)
    assert response.status_code == 200 and response.headers["x-content-type-options"] == "nosniff"
    data = json.loads(response.content)
    assert [e["id"] for e in data] == [str(world["events"][1].id), str(world["events"][3].id)]
    assert data[0]["data"]["note"] == XSS and data[1]["data"]["outcome"] == XSS
    await wait_until_async(lambda: FILES.pending() == 0, what="the export file to be handed out")
    with unit_of_work.read_only() as session:
        entry = session.scalar(select(AuditLogEntry).where(AuditLogEntry.action == "play_session.export"))
    assert entry.after == {"export": "events", "format": "json", "search": "onerror", "filters": {}, "rows": 2}


async def test_an_open_session_page_follows_its_session_live(user: User, world):
    stuck = world["stuck"]
    await login(user, world["acme_admin"].email)
    await user.open(f"/sessions/{stuck.id}")
    await user.should_see("Events 1–1 of 1", marker="timeline-count", retries=80)
    with unit_of_work.transaction() as session:  # what the engine API does when a batch lands
        event(session, session.get(PlaySession, stuck.id), EventType.milestone, {"milestone_id": "m1"}, at=NOW)
        change = live.SessionChange(stuck.id, stuck.organization_id, None, stuck.module_id, live.ChangeKind.event)
        live.session_changed(session, change)
    await user.should_see("Events 1–2 of 2", marker="timeline-count", retries=100)
    await user.should_see("Milestone m1")
    await user.should_not_see(marker="session-stuck")  # it just heard from the engine


async def test_a_debrief_written_after_the_completion_appears_without_a_reload(user: User, world):
    stuck = world["stuck"]
    await login(user, world["acme_admin"].email)
    await user.open(f"/sessions/{stuck.id}")
    await user.should_see("A debrief is written when the session completes.", retries=80)
    with unit_of_work.transaction() as session:  # the completion; its debrief comes later, unannounced
        play_row = session.get(PlaySession, stuck.id)
        play_row.status, play_row.completed_at = SessionStatus.completed, NOW
        play_row.final_scores = {"financial": 50, "reputational": 50, "total": 50}
        change = live.SessionChange(stuck.id, stuck.organization_id, None, stuck.module_id, live.ChangeKind.completed)
        live.session_changed(session, change)
    await user.should_see("The debrief is being prepared.", marker="session-no-debrief", retries=100)
    with unit_of_work.transaction() as session:
        debrief.write_for_session(session=session, play_session_id=stuck.id)
    await user.should_see(marker="debrief-statements", retries=500)
