"""The live board's service: what each role may see of the sessions in progress, and what a row says."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from console import live, unit_of_work
from console.errors import NotFound, PermissionDenied
from console.live import ChangeKind, SessionChange
from console.services.sessions import live_board
from models import PlaySession
from models.enums import EventType, SessionStatus, UserRole
from tests.factories import actor_of, make_user
from tests.live_support import event, playable, post, start


@pytest.fixture
def two_orgs(database_url):  # noqa: ANN001
    """Org A's session (a simulation authored by `creator`), org B's session (another author), and their
    admins; a completed session of A's, which is on no board."""
    with unit_of_work.transaction() as s:
        creator = make_user(s, role=UserRole.studio_creator)
        a = playable(s, author=creator, title="Harbor Crisis")
        b = playable(s, title="Other Org's Sim")
        admin_a = make_user(s, role=UserRole.enterprise_admin, organization_id=a.player.organization_id)
        admin_b = make_user(s, role=UserRole.enterprise_admin, organization_id=b.player.organization_id)
        platform = make_user(s, role=UserRole.platform_admin)
        other_creator = make_user(s, role=UserRole.studio_creator)
    a_session, b_session, done = start(a), start(b), start(a)
    post(done, event("completion"))
    return {
        "a": a, "b": b, "a_session": a_session, "b_session": b_session, "done": done,
        "creator": actor_of(creator), "other_creator": actor_of(other_creator), "admin_a": actor_of(admin_a),
        "admin_b": actor_of(admin_b), "platform": actor_of(platform),
    }  # fmt: skip


def board_ids(actor) -> set[uuid.UUID]:  # noqa: ANN001
    with unit_of_work.read_only() as s:
        return {row.id for row in live_board.board(session=s, actor=actor).sessions}


@pytest.mark.parametrize(
    ("who", "sees"),
    [
        ("platform", {"a_session", "b_session"}),
        ("admin_a", {"a_session"}),
        ("admin_b", {"b_session"}),
        ("creator", {"a_session"}),
        ("other_creator", set()),
    ],
)
def test_each_role_sees_the_sessions_in_progress_in_its_reach(two_orgs, who, sees):  # noqa: ANN001
    assert board_ids(two_orgs[who]) == {two_orgs[name] for name in sees}


def test_participants_have_no_board(two_orgs):  # noqa: ANN001
    with unit_of_work.read_only() as s:
        player = s.get(type(two_orgs["a"].player), two_orgs["a"].player.id)
        with pytest.raises(PermissionDenied):
            live_board.board(session=s, actor=actor_of(player))


def test_an_enterprise_admin_never_gets_another_organizations_row_even_by_id(two_orgs):  # noqa: ANN001
    with unit_of_work.read_only() as s:
        rows, _ = live_board.rows(
            session=s, actor=two_orgs["admin_a"], session_ids=[two_orgs["b_session"], two_orgs["a_session"]]
        )
    assert [row.id for row in rows] == [two_orgs["a_session"]]


def test_a_session_that_ended_leaves_the_board(two_orgs):  # noqa: ANN001
    post(two_orgs["a_session"], event("completion"))
    with unit_of_work.read_only() as s:
        rows, _ = live_board.rows(session=s, actor=two_orgs["platform"], session_ids=[two_orgs["a_session"]])
    assert rows == []


def test_change_filters_follow_the_reach(two_orgs):  # noqa: ANN001
    a, b = two_orgs["a"], two_orgs["b"]
    change_a = SessionChange(uuid.uuid4(), a.player.organization_id, a.simulation.id, a.module.id, ChangeKind.event)
    change_b = SessionChange(uuid.uuid4(), b.player.organization_id, b.simulation.id, b.module.id, ChangeKind.event)
    with unit_of_work.read_only() as s:
        filters = {who: live_board.change_filter(session=s, actor=two_orgs[who]) for who in
                   ("platform", "admin_a", "admin_b", "creator", "other_creator")}  # fmt: skip
    assert filters["platform"](change_a) and filters["platform"](change_b)
    assert filters["admin_a"](change_a) and not filters["admin_a"](change_b)
    assert filters["admin_b"](change_b) and not filters["admin_b"](change_a)
    assert filters["creator"](change_a) and not filters["creator"](change_b)
    assert not filters["other_creator"](change_a) and not filters["other_creator"](change_b)
    assert all(f(SessionChange.resync()) for f in filters.values())


def test_a_row_says_who_plays_what_the_last_event_and_the_scores(two_orgs):  # noqa: ANN001
    sid = two_orgs["a_session"]
    now = datetime.now(UTC)
    post(sid, event("decision", at=now - timedelta(seconds=30)))  # financial 50 → 60
    post(sid, event("score_update", data={"scores": {"reputational": 80}}, at=now - timedelta(seconds=20)))
    custom = event("custom", data={"secret": "<b>x</b>", "n": 1}, at=now - timedelta(seconds=10))
    post(sid, custom)
    with unit_of_work.read_only() as s:
        (row,) = live_board.board(session=s, actor=two_orgs["admin_a"]).sessions
    assert row.player_email == two_orgs["a"].player.email
    assert (row.simulation_title, row.module_title) == ("Harbor Crisis", "Act One")
    assert row.last_event.id == uuid.UUID(custom["id"])
    assert row.last_event.type is EventType.custom
    assert row.last_event.summary == "custom data (2 fields)"  # never the payload itself
    assert [(score.key, score.value) for score in row.scores] == [("financial", 60.0), ("reputational", 80.0)]
    assert not row.stuck and row.can_abandon


@pytest.mark.parametrize(
    ("kind", "data", "summary"),
    [
        ("decision", None, "Call the press — decision d1 → c2 (moves financial)"),
        ("milestone", None, "Harbor closed — milestone m1"),
        ("score_update", None, "scores set: financial, reputational"),
        ("completion", {"outcome": "deal closed"}, None),  # completes: leaves the board
        ("decision", {"decision_id": "d", "choice_id": "c", "label": "x" * 250}, "x" * 119 + "…"),
    ],
)
def test_last_event_summaries(two_orgs, kind, data, summary):  # noqa: ANN001
    post(two_orgs["a_session"], event(kind, data=data))
    with unit_of_work.read_only() as s:
        rows = live_board.board(session=s, actor=two_orgs["admin_a"]).sessions
    if summary is None:
        assert rows == []
    else:
        assert rows[0].last_event.summary == summary


def test_stuck_sessions_are_flagged(database_url):  # noqa: ANN001
    with unit_of_work.transaction() as s:
        played = playable(s)
        platform = actor_of(make_user(s, role=UserRole.platform_admin))
    quiet = start(played, started_at=datetime.now(UTC) - timedelta(hours=1))
    busy = start(played, started_at=datetime.now(UTC) - timedelta(hours=1))
    post(busy, event())
    fresh = start(played)
    with unit_of_work.read_only() as s:
        board = live_board.board(session=s, actor=platform)
    assert {row.id: row.stuck for row in board.sessions} == {quiet: True, busy: False, fresh: False}
    assert board.stuck_after_minutes == 10


def test_abandon_from_the_board_is_the_sessions_rule_and_is_announced(two_orgs):  # noqa: ANN001
    with unit_of_work.transaction() as s, pytest.raises(NotFound):
        live_board.abandon(session=s, actor=two_orgs["admin_b"], session_id=two_orgs["a_session"], reason="idle")
    with unit_of_work.transaction() as s:
        live_board.abandon(session=s, actor=two_orgs["admin_a"], session_id=two_orgs["a_session"], reason="idle")
        (announced,) = live.pending_changes(s)
    a = two_orgs["a"]
    assert announced == SessionChange(
        two_orgs["a_session"], a.player.organization_id, a.simulation.id, a.module.id, ChangeKind.abandoned
    )
    with unit_of_work.read_only() as s:
        assert s.get(PlaySession, two_orgs["a_session"]).status is SessionStatus.abandoned
    assert board_ids(two_orgs["admin_a"]) == set()


def test_test_sessions_are_counted_apart_past_the_rows_shown_too(two_orgs, monkeypatch):  # noqa: ANN001
    """The count of test sessions in progress, within the rows read and (past MAX_ROWS) from the database."""
    start(two_orgs["a"], test=True)
    start(two_orgs["b"], test=True)
    with unit_of_work.read_only() as s:
        board = live_board.board(session=s, actor=two_orgs["admin_a"])
        assert (board.in_progress, board.tests_in_progress) == (2, 1)
        monkeypatch.setattr(live_board, "MAX_ROWS", 1)  # the board shows one row: the rest is counted
        board = live_board.board(session=s, actor=two_orgs["platform"])
        assert len(board.sessions) == 1
        assert (board.in_progress, board.tests_in_progress) == (4, 2)
