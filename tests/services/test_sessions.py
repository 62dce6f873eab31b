"""Sessions as staff follow them: the list's scope per role, filters, sorting and search; one session's
header, timeline, chart and debrief links; raw events and exports; the stuck rule; abandoning."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError
from sqlalchemy import select

from console.config import Settings, get_settings
from console.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from console.services import debrief, scoring
from console.services.export_files import ExportFormat, rows_of
from console.services.ingest.completion import dimension_values
from console.services.listing import ListQuery
from console.services.sessions import detail, events, exports, listing, stuck
from models import (
    AuditLogEntry,
    EventType,
    GameEvent,
    MembershipRole,
    OrgMembership,
    Platform,
    PlaySession,
    SessionStatus,
    UserRole,
)
from tests.factories import SCORING, actor_of, make_module, make_org, make_simulation, make_user

NOW = datetime.now(UTC)
XSS = "<img src=x onerror=alert(1)>"


def play(session, user, module, org=None, *, status=SessionStatus.in_progress, started=None, **kw) -> PlaySession:  # noqa: ANN001
    row = PlaySession(
        user_id=user.id,
        module_id=module.id,
        organization_id=org.id if org else None,
        status=status,
        started_at=started or NOW - timedelta(minutes=30),
        external_session_id=f"ext-{uuid.uuid4().hex[:10]}",
        **kw,
    )
    session.add(row)
    session.flush()
    return row


def event(session, play_row, kind, data, *, at, received=None) -> GameEvent:  # noqa: ANN001
    row = GameEvent(session_id=play_row.id, event_type=kind, event_data=data, timestamp=at, received_at=received or at)
    session.add(row)
    session.flush()
    return row


def _admin(session, org, **kw):  # noqa: ANN001, ANN202
    admin = make_user(session, role=UserRole.enterprise_admin, organization_id=org.id, **kw)
    session.add(OrgMembership(user_id=admin.id, organization_id=org.id, role=MembershipRole.admin))
    session.flush()
    return admin


@pytest.fixture
def world(session):  # noqa: ANN001
    """Acme and Globex; a creator's Crisis (m1) and another creator's Budget (m2).

    s1 Ann·Crisis (Acme) in progress, last event 20 minutes ago: stuck. s2 Ann·Budget (Acme) completed 70.
    s3 Gil·Crisis (Globex) in progress, an event a minute ago. s4 Gil·Budget (Globex) abandoned.
    s5 Ivy·Crisis (no organization) completed 90.
    """
    acme, globex = make_org(session, name="Acme"), make_org(session, name="Globex")
    creator = make_user(session, role=UserRole.studio_creator, name="Cora Creator")
    other_creator = make_user(session, role=UserRole.studio_creator)
    crisis = make_simulation(session, author=creator, title="Crisis Desk")
    budget = make_simulation(session, author=other_creator, title="Budget Call")
    m1, m2 = make_module(session, crisis, title="Act One"), make_module(session, budget, title="Quarter")
    ann = make_user(session, role=UserRole.enterprise_participant, organization_id=acme.id, name="Ann Archer")
    gil = make_user(session, role=UserRole.enterprise_participant, organization_id=globex.id, name="Gil Gold")
    ivy = make_user(session, role=UserRole.individual, name="Ivy Ives")
    s1 = play(session, ann, m1, acme, platform=Platform.unreal, started=NOW - timedelta(minutes=40))
    event(session, s1, EventType.milestone, {"milestone_id": "m0"}, at=NOW - timedelta(minutes=20))
    s2 = play(
        session, ann, m2, acme, status=SessionStatus.completed, platform=Platform.web,
        started=NOW - timedelta(days=3), completed_at=NOW - timedelta(days=3) + timedelta(minutes=12),
        total_duration_seconds=720, final_scores={"financial": 70, "reputational": 70, "total": 70},
    )  # fmt: skip
    s3 = play(session, gil, m1, globex, platform=Platform.unity, started=NOW - timedelta(minutes=15))
    event(session, s3, EventType.milestone, {"milestone_id": "m0"}, at=NOW - timedelta(minutes=1))
    s4 = play(session, gil, m2, globex, status=SessionStatus.abandoned, started=NOW - timedelta(days=10))
    s5 = play(
        session, ivy, m1, None, status=SessionStatus.completed, platform=Platform.web,
        started=NOW - timedelta(days=1), completed_at=NOW - timedelta(days=1) + timedelta(minutes=5),
        total_duration_seconds=300, final_scores={"financial": 90, "reputational": 90, "total": 90},
    )  # fmt: skip
    return {
        "platform": actor_of(make_user(session, role=UserRole.platform_admin)),
        "acme_admin": actor_of(_admin(session, acme)),
        "globex_admin": actor_of(_admin(session, globex)),
        "creator": actor_of(creator),
        "other_creator": actor_of(other_creator),
        "participant": actor_of(ann),
        "acme": acme, "globex": globex, "crisis": crisis, "budget": budget, "m1": m1, "m2": m2,
        "s1": s1, "s2": s2, "s3": s3, "s4": s4, "s5": s5,
    }  # fmt: skip


def _ids(session, actor, **query) -> set:  # noqa: ANN001
    return {r.id for r in listing.list_(session=session, actor=actor, query=ListQuery(**query), now=NOW).rows}


def _named(world, *names) -> set:  # noqa: ANN001
    return {world[n].id for n in names}


# --- the list's scope, filters, order --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "sees"),
    [
        ("platform", ("s1", "s2", "s3", "s4", "s5")),
        ("acme_admin", ("s1", "s2")),
        ("globex_admin", ("s3", "s4")),
        ("creator", ("s1", "s3", "s5")),  # every play of their Crisis, in any organization
        ("other_creator", ("s2", "s4")),
    ],
)
def test_each_role_lists_exactly_the_sessions_in_its_reach(session, world, who, sees):
    actor = world[who]
    page = listing.list_(session=session, actor=actor, query=ListQuery(), now=NOW)
    assert {r.id for r in page.rows} == _named(world, *sees) and page.total == len(sees)
    # Naming another organization, simulation or module in the filters widens nothing.
    assert _ids(session, actor, filters={"organization_id": str(world["globex"].id)}) <= _named(world, *sees)
    for other in ("s1", "s2", "s3", "s4", "s5"):
        if other not in sees:
            with pytest.raises(NotFound):
                detail.overview(session=session, actor=actor, session_id=world[other].id, timeline_query=ListQuery())
            with pytest.raises(NotFound):
                events.list_(session=session, actor=actor, session_id=world[other].id, query=ListQuery())


def test_participants_have_no_sessions_list(session, world):
    with pytest.raises(PermissionDenied):
        listing.list_(session=session, actor=world["participant"], query=ListQuery())


def test_rows_carry_player_organization_module_last_event_duration_and_score(session, world):
    rows = {r.id: r for r in listing.list_(session=session, actor=world["platform"], query=ListQuery(), now=NOW).rows}
    s1, s2, s5 = rows[world["s1"].id], rows[world["s2"].id], rows[world["s5"].id]
    assert (s1.player_name, s1.organization_name, s1.simulation_title, s1.module_title) == (
        "Ann Archer", "Acme", "Crisis Desk", "Act One",
    )  # fmt: skip
    assert s1.platform is Platform.unreal and s1.stuck and s1.total_score is None
    assert abs((s1.last_event_at - (NOW - timedelta(minutes=20))).total_seconds()) < 1
    assert s1.duration_seconds == 40 * 60  # so far
    assert (s2.duration_seconds, s2.total_score, s2.stuck) == (720, 70, False)
    assert s5.organization_name is None and not rows[world["s3"].id].stuck


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({"status": "in_progress"}, ("s1", "s3")),
        ({"status": "abandoned"}, ("s4",)),
        ({"platform": "web"}, ("s2", "s5")),
        ({"stuck": "1"}, ("s1",)),
        ({"simulation_id": "crisis"}, ("s1", "s3", "s5")),
        ({"module_id": "m2"}, ("s2", "s4")),
        ({"organization_id": "acme"}, ("s1", "s2")),
        ({"from": (NOW - timedelta(days=2)).date().isoformat()}, ("s1", "s3", "s5")),
        ({"to": (NOW - timedelta(days=2)).date().isoformat()}, ("s2", "s4")),
    ],
)
def test_filters(session, world, filters, expected):
    resolved = {k: (str(world[v].id) if v in world else v) for k, v in filters.items()}
    assert _ids(session, world["platform"], filters=resolved) == _named(world, *expected)


def test_search_by_player_or_external_id(session, world):
    assert _ids(session, world["platform"], search="archer") == _named(world, "s1", "s2")
    assert _ids(session, world["platform"], search=world["s4"].external_session_id) == _named(world, "s4")
    assert _ids(session, world["platform"], search="100%_\\") == set()  # LIKE characters are literal


@pytest.mark.parametrize("bad", [{"status": "paused"}, {"platform": "xbox"}, {"from": "yesterday"},
                                 {"organization_id": "acme"}, {"stuck": "maybe"}])  # fmt: skip
def test_a_filter_that_means_nothing_is_refused_by_name(session, world, bad):
    with pytest.raises(ValidationFailed) as refused:
        listing.list_(session=session, actor=world["platform"], query=ListQuery(filters=bad))
    assert set(refused.value.details) == set(bad)


def test_sorting_and_paging(session, world):
    def order(**query) -> list:  # noqa: ANN003
        page = listing.list_(session=session, actor=world["platform"], query=ListQuery(**query), now=NOW)
        return [r.id for r in page.rows]

    newest = order()
    assert newest[:2] == [world["s3"].id, world["s1"].id] and newest[-1] == world["s4"].id  # newest first
    assert order(sort="total_score", descending=True)[:2] == [world["s5"].id, world["s2"].id]  # NULLs last
    players = order(sort="player")
    assert [players.index(world[s].id) < 2 for s in ("s1", "s2")] == [True, True]  # Ann before Gil and Ivy
    assert order(sort="simulation")[:2] in ([world["s2"].id, world["s4"].id], [world["s4"].id, world["s2"].id])
    assert order(limit=2) + order(limit=2, offset=2) + order(limit=2, offset=4) == newest
    assert order(offset=4, limit=2) == newest[4:]  # the last page, read from the other end
    assert order(offset=10**12) == []


def test_filter_choices_stay_in_reach(session, world):
    acme_admin, creator = world["acme_admin"], world["creator"]
    assert listing.organization_options(session=session, actor=acme_admin) == {}
    assert set(listing.organization_options(session=session, actor=creator).values()) == {"Acme", "Globex"}
    assert set(listing.simulation_options(session=session, actor=creator).values()) == {"Crisis Desk"}
    assert list(listing.module_options(session=session, actor=creator).values()) == ["Crisis Desk — Act One"]
    name = listing.option_label
    assert name(session=session, actor=creator, name="simulation_id", value=str(world["budget"].id)) is None
    assert name(session=session, actor=creator, name="organization_id", value=str(world["acme"].id)) == "Acme"
    assert name(session=session, actor=world["platform"], name="module_id", value="nonsense") is None


# --- the stuck rule ----------------------------------------------------------------------------------------


def test_stuck_is_in_progress_with_nothing_received_since_the_cutoff(session, world, monkeypatch):
    s1, s3 = world["s1"], world["s3"]
    quiet = play(
        session, make_user(session, role=UserRole.individual), world["m1"], started=NOW - timedelta(minutes=11)
    )
    fresh = play(session, make_user(session, role=UserRole.individual), world["m1"], started=NOW - timedelta(minutes=9))
    # An engine clock far behind does not make a live session look stuck: arrival time counts.
    late_clock = play(
        session, make_user(session, role=UserRole.individual), world["m1"], started=NOW - timedelta(hours=3)
    )
    event(session, late_clock, EventType.milestone, {"milestone_id": "x"}, at=NOW - timedelta(hours=3), received=NOW)

    def stuck_ids() -> set:
        rows = session.scalars(select(PlaySession.id).where(stuck.stuck_condition(NOW))).all()
        return set(rows)

    assert stuck_ids() == {s1.id, quiet.id}
    assert stuck.stuck_cutoff(NOW) == NOW - timedelta(minutes=10)
    monkeypatch.setenv("SIMVADO_STUCK_AFTER_MINUTES", "30")
    get_settings.cache_clear()
    assert stuck.stuck_cutoff(NOW) == NOW - timedelta(minutes=30)
    assert stuck_ids() == set()  # s1's last event was 20 minutes ago
    assert not {s3.id, fresh.id} & stuck_ids()


def test_stuck_must_stay_below_the_abandon_sweep():
    with pytest.raises(ValidationError, match="STUCK_AFTER_MINUTES"):
        Settings(stuck_after_minutes=120, abandon_after_minutes=120)
    with pytest.raises(ValidationError):
        Settings(stuck_after_minutes=0)
    assert Settings().stuck_after_minutes == 10


# --- abandon ---------------------------------------------------------------------------------------------


def _audit(session, play_row) -> list[AuditLogEntry]:  # noqa: ANN001
    return list(session.scalars(select(AuditLogEntry).where(AuditLogEntry.entity_id == str(play_row.id))))


@pytest.mark.parametrize("who", ["platform", "acme_admin"])
def test_staff_abandon_an_in_progress_session_with_a_reason_audited(session, world, who):
    s1 = world["s1"]
    done = stuck.abandon(session=session, actor=world[who], session_id=s1.id, reason="  Player left\n the room ")
    assert done.status is SessionStatus.abandoned
    (entry,) = _audit(session, s1)
    assert (entry.action, entry.comment, entry.organization_id) == ("play_session.abandon", "Player left the room",
                                                                    world["acme"].id)  # fmt: skip
    assert (entry.before, entry.after) == ({"status": "in_progress"}, {"status": "abandoned"})
    who_, why, _when = stuck.abandon_reason(session=session, play=s1)
    assert why == "Player left the room" and who_ == world[who].label
    header = detail.header(session=session, actor=world[who], session_id=s1.id)
    assert header.abandoned_by[1] == "Player left the room" and not header.can_abandon


@pytest.mark.parametrize(
    ("who", "target", "reason", "error"),
    [
        ("globex_admin", "s1", "gone", NotFound),  # another organization's: never told it exists
        ("participant", "s1", "gone", PermissionDenied),  # their own play is not theirs to close
        ("creator", "s1", "gone", PermissionDenied),  # sees their simulation's sessions, does not close them
        ("platform", "s2", "gone", Conflict),  # completed
        ("platform", "s4", "gone", Conflict),  # already abandoned
        ("platform", "s1", "   ", ValidationFailed),
        ("platform", "s1", "x" * 501, ValidationFailed),
    ],
)
def test_abandon_refusals_change_nothing(session, world, who, target, reason, error):
    before = world[target].status
    with pytest.raises(error):
        stuck.abandon(session=session, actor=world[who], session_id=world[target].id, reason=reason)
    session.refresh(world[target])
    assert world[target].status == before and _audit(session, world[target]) == []
    with pytest.raises(NotFound):
        stuck.abandon(session=session, actor=world["platform"], session_id=uuid.uuid4(), reason="gone")


def test_abandon_many_is_all_or_nothing(session, world):
    actor = world["platform"]
    attempt = session.begin_nested()
    with pytest.raises(Conflict):
        stuck.abandon_many(session=session, actor=actor, session_ids=[world["s1"].id, world["s2"].id], reason="x")
    attempt.rollback()  # the boundary's answer to a refusal: nothing of it is kept
    assert session.get(PlaySession, world["s1"].id).status is SessionStatus.in_progress
    with pytest.raises(ValidationFailed):
        stuck.abandon_many(session=session, actor=actor, session_ids=[], reason="x")


# --- one session -----------------------------------------------------------------------------------------


@pytest.fixture
def played(session, world):  # noqa: ANN001
    """A completed Crisis session of Ann's with each kind of event and its debrief."""
    t0 = NOW - timedelta(hours=1)
    row = play(session, make_user(session, role=UserRole.enterprise_participant, organization_id=world["acme"].id),
               world["m1"], world["acme"], started=t0)  # fmt: skip
    made = [
        event(
            session,
            row,
            EventType.decision,
            {
                "decision_id": "d1",
                "choice_id": "c2",
                "label": "Call the board",
                "impacts": {"financial": -5, "reputational": 10},
                "time_to_decide_ms": 4000,
            },
            at=t0 + timedelta(seconds=60),
            received=t0 + timedelta(seconds=61),
        ),  # fmt: skip
        event(
            session, row, EventType.milestone, {"milestone_id": "m1", "label": "Act 1"}, at=t0 + timedelta(seconds=90)
        ),
        event(session, row, EventType.score_update, {"scores": {"financial": 40}}, at=t0 + timedelta(seconds=120)),
        event(session, row, EventType.custom, {"note": XSS, "nested": {"a": [1, 2]}}, at=t0 + timedelta(seconds=130)),
        event(
            session,
            row,
            EventType.decision,
            {"decision_id": "d_2", "choice_id": "c1", "impacts": {"financial": 20}},
            at=t0 + timedelta(seconds=150),
        ),  # fmt: skip
        event(session, row, EventType.completion, {"outcome": "finished"}, at=t0 + timedelta(seconds=200)),
    ]
    config = scoring.parse_config(SCORING)
    values = dimension_values(config, [(e.event_type.value, e.event_data) for e in made])
    row.final_scores = scoring.compute_final_scores(config, values)
    row.status, row.completed_at, row.total_duration_seconds = SessionStatus.completed, t0 + timedelta(seconds=200), 200
    session.add(row)
    session.flush()
    assert debrief.write_for_session(session=session, play_session_id=row.id)
    return {"play": row, "events": made, "values": values}


def test_header_has_every_seed_column_the_build_and_the_player(session, world, played):
    world["m1"].build_version = "1.4.2"
    session.add(world["m1"])
    session.flush()
    row = played["play"]
    header = detail.header(session=session, actor=world["acme_admin"], session_id=row.id)
    for column in PlaySession.model_fields:
        if column not in ("debrief_text", "total_score"):
            assert getattr(header, column) == getattr(row, column), column
    assert (header.build_version, header.simulation_title, header.module_title, header.event_count) == (
        "1.4.2", "Crisis Desk", "Act One", 6,
    )  # fmt: skip
    assert header.player_name.startswith("User ") and header.organization_name == "Acme"
    assert not header.can_abandon and not header.stuck


def test_timeline_is_in_engine_order_with_received_at_and_pages(session, world, played):
    row, made = played["play"], played["events"]
    first = detail.timeline(session=session, actor=world["platform"], session_id=row.id, query=ListQuery(limit=4))
    second = detail.timeline(
        session=session, actor=world["platform"], session_id=row.id, query=ListQuery(limit=4, offset=4)
    )
    assert first.total == 6 and [e.id for e in first.rows + second.rows] == [e.id for e in made]
    assert [e.position for e in second.rows] == [5, 6]
    assert first.rows[0].at_seconds == 60 and first.rows[0].received_at - first.rows[0].timestamp == timedelta(
        seconds=1
    )
    assert first.rows[3].data == {"note": XSS, "nested": {"a": [1, 2]}}  # the payload as data, untouched
    where = detail.position(session=session, actor=world["platform"], session_id=row.id, event_id=made[4].id)
    assert where == 5
    with pytest.raises(NotFound):  # an event of another session is not found here
        detail.position(session=session, actor=world["platform"], session_id=world["s1"].id, event_id=made[4].id)


def test_chart_follows_each_dimension_and_ends_on_the_final_scores(session, world, played):
    chart = detail.score_chart(session=session, actor=world["creator"], session_id=played["play"].id)
    # Each line runs to the session's last move (the completion, at 200 s).
    assert chart.series["financial"] == [(0.0, 50.0), (60.0, 45.0), (120.0, 40.0), (150.0, 60.0), (200.0, 60.0)]
    assert chart.series["reputational"] == [(0.0, 50.0), (60.0, 60.0), (200.0, 60.0)]
    for dim in chart.dimensions:
        assert chart.series[dim.key][-1][1] == played["values"][dim.key] == dim.final
    assert (chart.pass_mark, chart.total, chart.passed) == (60, played["play"].final_scores["total"], True)


def test_thin_keeps_the_ends_and_at_most_the_limit():
    points = [(float(i), float(i % 7)) for i in range(5000)]
    kept = detail.thin(points, 400)
    assert len(kept) <= 400 and kept[0] == points[0] and kept[-1] == points[-1]
    assert [p[0] for p in kept] == sorted(p[0] for p in kept)


def test_debrief_statements_link_to_the_decisions_they_name(session, world, played):
    made = played["events"]
    statements = detail.overview(
        session=session, actor=world["platform"], session_id=played["play"].id, timeline_query=ListQuery()
    ).debrief
    assert [s.text for s in statements] == [line for line in played["play"].debrief_text.splitlines() if line]
    linked = {s.text: s.event_ids for s in statements if s.event_ids}
    assert linked, statements
    for text, ids in linked.items():
        if "Call the board" in text:
            assert ids == [made[0].id]
        elif "decision d\\_2" in text:
            assert ids == [made[4].id]
    assert {made[0].id, made[4].id} == {i for ids in linked.values() for i in ids}
    assert all(not s.event_ids for s in statements if s.text.startswith("#"))


def test_a_rewritten_debrief_links_by_decision_id(session, world, played):
    row = played["play"]
    row.debrief_text = "# Debrief\n\nYour decision d1 helped your reputation.\nNothing else to say."
    statements = detail.overview(session=session, actor=world["platform"], session_id=row.id,
                                 timeline_query=ListQuery()).debrief  # fmt: skip
    assert [s.event_ids for s in statements] == [[], [played["events"][0].id], []]


# --- raw events and exports --------------------------------------------------------------------------------


def test_raw_events_search_the_payload_and_filter_by_type(session, world, played):
    row, made = played["play"], played["events"]

    def found(**query) -> list:  # noqa: ANN003
        return [e.id for e in events.list_(session=session, actor=world["platform"], session_id=row.id,
                                           query=ListQuery(**query)).rows]  # fmt: skip

    assert found() == [e.id for e in made]
    assert found(search="onerror") == [made[3].id]
    assert found(search=str(made[2].id).upper()) == [made[2].id]
    assert found(filters={"type": "decision"}) == [made[0].id, made[4].id]
    assert found(sort="timestamp", descending=True)[0] == made[-1].id
    with pytest.raises(ValidationFailed):
        found(filters={"type": "explosion"})


@pytest.mark.parametrize("fmt", ["json", "csv"])
def test_events_export_streams_every_matching_event_audited(session, world, played, tmp_path, fmt):
    row, made = played["play"], played["events"]
    path = tmp_path / f"events.{fmt}"
    progress: list[tuple[int, int]] = []
    done = events.write(session=session, actor=world["acme_admin"], session_id=row.id, fmt=fmt, query=ListQuery(),
                        path=path, on_progress=lambda a, b: progress.append((a, b)))  # fmt: skip
    assert done.rows == 6 and done.filename == f"session-{row.id}-events.{fmt}" and progress[-1] == (6, 6)
    if fmt == "json":
        data = json.loads(path.read_text())
        assert [e["id"] for e in data] == [str(e.id) for e in made]
        assert data[3]["data"]["note"] == XSS and data[0]["received_at"].endswith("Z")
    else:
        rows = list(rows_of(path, "csv"))
        assert rows[0] == list(events.CSV_HEADER) and len(rows) == 7
        assert json.loads(rows[4][4]) == {"note": XSS, "nested": {"a": [1, 2]}}
    entry = _audit(session, row)[-1]
    assert entry.action == "play_session.export" and entry.after["rows"] == 6
    assert entry.organization_id == world["acme"].id
    with pytest.raises(NotFound):
        events.write(session=session, actor=world["globex_admin"], session_id=row.id, fmt=fmt, query=ListQuery(),
                     path=tmp_path / "no", )  # fmt: skip


@pytest.mark.parametrize("fmt", [ExportFormat.csv, ExportFormat.xlsx])
def test_list_export_is_the_filtered_view_in_scope(session, world, tmp_path, fmt):
    path = tmp_path / f"sessions.{fmt.value}"
    query = ListQuery(sort="started_at", descending=True)
    done = exports.write(session=session, actor=world["acme_admin"], fmt=fmt, query=query, path=path, now=NOW)
    rows = list(rows_of(path, fmt))
    assert rows[0] == list(exports.HEADER) and done.rows == 2
    assert [r[0] for r in rows[1:]] == [str(world["s1"].id), str(world["s2"].id)]
    everyone = exports.write(session=session, actor=world["platform"], fmt=fmt,
                             query=ListQuery(filters={"stuck": "1"}), path=path, now=NOW)  # fmt: skip
    assert everyone.rows == 1 and list(rows_of(path, fmt))[1][0] == str(world["s1"].id)
    entries = session.scalars(select(AuditLogEntry).where(AuditLogEntry.action == "play_session.export")).all()
    assert [e.organization_id for e in entries] == [world["acme"].id, None]
    assert entries[1].after["filters"] == {"stuck": "1"}
