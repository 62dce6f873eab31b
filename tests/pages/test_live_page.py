"""/live in NiceGUI's simulated browser: the board, its live updates through the app's own LISTEN
connection (real PostgreSQL), scoping, the stuck flag, abandoning, and a page whose viewer signed out."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime, timedelta

import pytest
from nicegui import ui
from nicegui.testing import User
from nicegui.testing.user_interaction import UserInteraction
from sqlalchemy import select

from console import live, unit_of_work
from models import AuditLogEntry, PlaySession
from models.enums import SessionStatus, UserRole
from tests.factories import PASSWORD, make_user
from tests.live_support import event, playable, post, start
from tests.support import sign_in, sign_out, wait_until_async


@pytest.fixture(autouse=True)
def _browser_answers(user: User) -> None:
    """The board waits for the browser to take in each update (pages/live.py, `_reached_browser`): the
    simulated browser answers that script as a real one does."""
    user.javascript_rules[re.compile(r"^0$")] = lambda _: 0


def rows(user: User) -> dict[str, ui.element]:
    """The board's rows by session id, in the order they are drawn (hidden ones too: an empty board hides
    its table)."""
    (body,) = [el for el in user.client.elements.values() if "live-rows" in el._markers]
    return {row.props["data-session"]: row for row in body.default_slot.children}


def shown(row: ui.element) -> dict:
    """What a row draws (pages/live_row.js draws its `row` prop)."""
    return row.props["row"]


async def listening() -> None:
    await wait_until_async(lambda: live.listener() and live.listener().connected.is_set(), what="the app's listener")


async def test_the_board_updates_as_events_arrive(user: User, database_url):
    with unit_of_work.transaction() as s:
        admin = make_user(s, role=UserRole.platform_admin)
        played = playable(s)
    first = start(played)
    await sign_in(user.http_client, admin.email, PASSWORD)
    await user.open("/live")
    await listening()
    await user.should_see("1 session in progress")
    assert list(rows(user)) == [str(first)]
    assert shown(rows(user)[str(first)])["last"] is None  # drawn as "No events yet"

    decision = event("decision")
    await asyncio.to_thread(post, first, decision)
    await wait_until_async(lambda: rows(user)[str(first)].props["data-last-event"] == decision["id"], what="the event")
    row = shown(rows(user)[str(first)])
    assert row["last"]["summary"] == "Call the press — decision d1 → c2 (moves financial)"
    assert {s["label"]: s["value"] for s in row["scores"]} == {"Financial": "60", "Reputational": "50"}

    second = await asyncio.to_thread(start, played)  # a new session: on top
    await wait_until_async(lambda: list(rows(user)) == [str(second), str(first)], what="the new session")
    await user.should_see("2 sessions in progress")

    await asyncio.to_thread(post, first, event("completion"))  # completed: off the board
    await wait_until_async(lambda: list(rows(user)) == [str(second)], what="the completed session to go")


async def test_test_sessions_are_shown_badged_and_counted_apart(user: User, database_url):
    """A creator watches their test play on the board, but the count of sessions in progress is real play
    only (issue 14: test sessions are no dashboard figure)."""
    with unit_of_work.transaction() as s:
        admin = make_user(s, role=UserRole.platform_admin)
        played = playable(s)
    real = start(played)
    tried = start(played, test=True)
    await sign_in(user.http_client, admin.email, PASSWORD)
    await user.open("/live")
    await listening()
    await user.should_see("1 session in progress and 1 test session")
    assert shown(rows(user)[str(tried)])["test"] is True and shown(rows(user)[str(real)])["test"] is False

    another = await asyncio.to_thread(start, played, test=True)  # arrives live: counted apart too
    await wait_until_async(lambda: str(another) in rows(user), what="the new test session")
    await user.should_see("1 session in progress and 2 test sessions")
    await asyncio.to_thread(post, tried, event("completion"))
    await wait_until_async(lambda: str(tried) not in rows(user), what="the completed test session to go")
    await user.should_see("1 session in progress and 1 test session")


async def test_an_enterprise_admin_never_sees_another_organizations_sessions(user: User, database_url):
    with unit_of_work.transaction() as s:
        ours = playable(s, title="Ours")
        theirs = playable(s, title="Theirs")
        admin = make_user(s, role=UserRole.enterprise_admin, organization_id=ours.player.organization_id)
    await sign_in(user.http_client, admin.email, PASSWORD)
    await user.open("/live")
    await listening()
    await user.should_see("No sessions in progress")
    await user.should_see("Assign a simulation on Assignments", retries=1)

    other = await asyncio.to_thread(start, theirs)
    await asyncio.to_thread(post, other, event("milestone"))
    mine = await asyncio.to_thread(start, ours)
    await wait_until_async(lambda: list(rows(user)) == [str(mine)], what="our session")
    await asyncio.sleep(0.5)
    assert list(rows(user)) == [str(mine)]
    await user.should_not_see("Theirs")
    await user.should_not_see("Harbor closed")


async def test_stuck_sessions_are_flagged_and_can_be_abandoned_with_a_reason(user: User, database_url):
    with unit_of_work.transaction() as s:
        played = playable(s)
        admin = make_user(s, role=UserRole.enterprise_admin, organization_id=played.player.organization_id)
    quiet = start(played, started_at=datetime.now(UTC) - timedelta(hours=1))
    busy = start(played)
    await sign_in(user.http_client, admin.email, PASSWORD)
    await user.open("/live")
    await user.should_see("2 sessions in progress · 1 stuck")
    assert shown(rows(user)[str(quiet)])["stuck"] is True
    assert shown(rows(user)[str(busy)])["stuck"] is False

    user.find(marker="live-stuck-only").click()  # only the stuck one
    assert rows(user)[str(busy)].visible is False and rows(user)[str(quiet)].visible is True
    user.find(marker="live-stuck-only").click()

    UserInteraction(user, {rows(user)[str(quiet)]}, None).trigger("abandon")  # its Abandon button
    await user.should_see(marker="abandon-ok")
    user.find(marker="abandon-ok").click()  # no reason: refused, nothing changes
    await user.should_see("Say why the session is abandoned.")
    user.find(marker="field-reason").type("left open overnight")
    user.find(marker="abandon-ok").click()
    await user.should_see("Marked abandoned.")
    await wait_until_async(lambda: list(rows(user)) == [str(busy)], what="the abandoned session to go")
    with unit_of_work.read_only() as s:
        assert s.get(PlaySession, quiet).status is SessionStatus.abandoned
        comments = list(s.scalars(select(AuditLogEntry.comment).where(AuditLogEntry.entity_id == str(quiet))))
    assert comments == ["left open overnight"]


async def test_a_page_whose_viewer_signed_out_stops_updating(user: User, database_url):
    with unit_of_work.transaction() as s:
        admin = make_user(s, role=UserRole.platform_admin)
        played = playable(s)
    sid = start(played)
    await sign_in(user.http_client, admin.email, PASSWORD)
    await user.open("/live")
    await listening()
    shown = rows(user)[str(sid)]
    await sign_out(user.http_client)  # another tab signs out: the login is revoked
    await asyncio.to_thread(post, sid, event("milestone"))
    await wait_until_async(lambda: user.back_history[-1].startswith("/login"), what="the page to send its viewer away")
    assert shown.props["data-last-event"] == ""  # never drawn


async def test_a_deleted_client_unsubscribes(user: User, database_url):
    with unit_of_work.transaction() as s:
        admin = make_user(s, role=UserRole.platform_admin)
    await sign_in(user.http_client, admin.email, PASSWORD)
    before = len(live.HUB)
    client = await user.open("/live")
    assert len(live.HUB) == before + 1
    client.delete()
    assert len(live.HUB) == before


async def test_participants_and_outsiders_cannot_open_it(user: User, database_url):
    with unit_of_work.transaction() as s:
        participant = make_user(s, role=UserRole.enterprise_participant)
    await sign_in(user.http_client, participant.email, PASSWORD)
    await user.open("/live")
    await user.should_see(marker="not-found")


async def test_dashboard_tiles_follow_sessions_without_a_reload(user: User, database_url):
    from tests.pages.test_dashboard_pages import tile_value

    with unit_of_work.transaction() as s:
        played = playable(s)
        theirs = playable(s)
        admin = make_user(s, role=UserRole.enterprise_admin, organization_id=played.player.organization_id)
    await sign_in(user.http_client, admin.email, PASSWORD)
    await user.open("/")
    await listening()
    assert tile_value(user, "in-progress") == "0"
    await asyncio.to_thread(start, theirs)  # another organization's: not ours to count
    sid = await asyncio.to_thread(start, played)
    await wait_until_async(lambda: tile_value(user, "in-progress") == "1", what="the tile to count the session")
    await asyncio.to_thread(post, sid, event("completion"))
    await wait_until_async(lambda: tile_value(user, "completed") == "1", what="the completion")
    assert tile_value(user, "in-progress") == "0"
