"""Live (`/live`): the play sessions in progress, updating as their events arrive.

Drawn once from `live_board.board`; then each notification (pages/components/live.py: throttled,
scoped to the viewer, the viewer re-checked) re-reads only the sessions it names (`live_board.rows`):
a row is redrawn, added, or removed when its session ended or left the viewer's reach. After the
console's LISTEN connection comes back from an outage, the whole board is read again. The "how long
ago" column ticks in the browser, and a timer re-judges "stuck" every few seconds from what the page
already holds: neither asks the database anything.

Everything an engine or an author wrote (labels, ids, outcomes, dimension names) is set as element
text, never as markup or a props string.
"""

from __future__ import annotations

import contextlib
import uuid
from datetime import datetime

from nicegui import ui
from nicegui.element import Element

from console.auth import Actor, Permission
from console.live import ChangeKind, SessionChange, SessionMemo
from console.services.sessions import live_board, stuck
from models.base import utcnow
from pages.access import PAGES, secured_page
from pages.components import calls
from pages.components.forms import FieldErrors
from pages.components.labels import enum_label
from pages.components.live import on_session_changes
from pages.layout import MUTED, Heading, frame

STUCK_RECHECK_SECONDS = 5.0
# At most two redraws a second under a steady stream of events (the first event after a quiet spell
# is drawn at once). bench/live.py, 20 boards at 23 events/s on 2 cores: every 0.2 s the browser could
# not keep up (p95 1.4 s, Chromium 1.15 cores); every 0.5 s, p95 0.65 s on 0.86 cores.
BOARD_INTERVAL_SECONDS = 0.5
BROWSER_WAIT_SECONDS = 3.0
# The rows every board of this process re-reads after a change: read once, shared (never the reach:
# live_board asks which sessions each viewer may see on every read).
ROWS: SessionMemo[live_board.LiveSession] = SessionMemo()
# (header, width): fixed, so columns keep their place while the texts in them change many times a
# second (automatic widths made the board shift sideways as summaries came and went).
COLUMNS = (
    ("Player", "16%"),
    ("Organization", "10%"),
    ("Simulation · module", "14%"),
    ("Started (UTC)", "9%"),
    ("Last event", "20%"),
    ("Scores", "14%"),
    ("Last activity", "9%"),
    ("", "8%"),
)
ORGANIZATION_COLUMN = 1

_CSS = """
.live-board { max-height: 75vh; }
.live-board table { table-layout: fixed; width: 100%; }
.live-board thead th { position: sticky; top: 0; z-index: 1; background: #fff; text-align: left; }
.live-board td { vertical-align: top; overflow-wrap: anywhere; }
.live-board td.live-actions { overflow-wrap: normal; white-space: nowrap; }
.live-board tr.live-stuck td { background: #fff4e5; }
.live-scores { display: grid; grid-template-columns: auto auto auto; column-gap: 6px; font-size: 0.8rem; }
"""


@secured_page("/live", title="Live sessions", permission=Permission.view_live_sessions)
async def live_page(actor: Actor, stuck_only: str | None = None):
    board = await calls.read(live_board.board, memo=ROWS)
    with frame(actor, "Live sessions", breadcrumbs=[("Live", None)]):
        ui.add_css(_CSS)
        LiveBoard(actor, board, stuck_only=stuck_only == "1")


class LiveBoard:
    """The board on one page: its rows by session, kept current from notifications."""

    def __init__(self, actor: Actor, board: live_board.Board, *, stuck_only: bool) -> None:
        self.actor = actor
        self.rows: dict[uuid.UUID, _Row] = {}
        self.total = board.in_progress
        self.tests = board.tests_in_progress  # of the total: shown apart, as no real figure counts them
        self.stuck_only = stuck_only
        self.has_session_pages = any(path.startswith("/sessions/") for path in PAGES)
        # An enterprise admin sees one organization's sessions: its name on every row says nothing.
        one_organization = actor.can(Permission.manage_organization) and actor.organization_id is not None
        self.shows_organization = actor.can(Permission.manage_platform) or not one_organization
        with ui.row().classes("w-full items-center gap-4"):
            self.count = ui.label().classes("text-subtitle1").mark("live-count")
            hint = f"Stuck: no event for {board.stuck_after_minutes} minutes. Times in UTC; updates as events arrive."
            ui.label(hint).classes(f"text-caption {MUTED}")
            ui.space()
            ui.checkbox("Only stuck sessions", value=stuck_only, on_change=self._toggle_stuck).mark("live-stuck-only")
            if "/sessions" in PAGES:
                ui.link("All sessions", "/sessions").classes("text-primary")
        self.empty = ui.column().classes("w-full items-start gap-1 p-4").mark("live-empty")
        with self.empty:
            Heading("No sessions in progress", level=2).classes("text-subtitle1 font-medium")
            ui.label(_empty_advice(actor)).classes(MUTED)
        with (
            ui.element("q-markup-table")
            .props("dense flat bordered separator=horizontal wrap-cells")
            .classes("w-full live-board") as self.table
        ):
            self.table._props["aria-label"] = "Sessions in progress"
            with ui.element("thead"), ui.element("tr"):
                for index, (name, width) in enumerate(COLUMNS):
                    if index == ORGANIZATION_COLUMN and not self.shows_organization:
                        continue
                    with ui.element("th").props("scope=col").style(f"width: {width}"):
                        ui.label(name or "Actions").classes("" if name else "sr-only")
            self.body = ui.element("tbody").mark("live-rows")
        self.dialogs = ui.element("div")  # dialogs live here, not in a row that a redraw may clear
        self._redraw(board.sessions, board.read_at)
        on_session_changes(self.apply, interval=BOARD_INTERVAL_SECONDS)
        ui.timer(STUCK_RECHECK_SECONDS, self._recheck_stuck)

    # ----------------------------------------------------------------------------------- updates

    async def apply(self, changes: list[SessionChange]) -> None:
        """Re-read the sessions the changes name (everything after a resync) and redraw what moved."""
        if any(change.kind is ChangeKind.resync for change in changes):
            board = await calls.read(live_board.board, memo=ROWS)
            self.total, self.tests = board.in_progress, board.tests_in_progress
            self._redraw(board.sessions, board.read_at)
            await _reached_browser()
            return
        ids = [change.session_id for change in changes]
        fresh, read_at = await calls.read(live_board.rows, session_ids=ids, memo=ROWS)
        found = {s.id: s for s in fresh}
        for session_id in ids:
            if session_id in found:
                self._upsert(found[session_id], read_at)
            elif session_id in self.rows:
                gone = self.rows.pop(session_id)
                gone.remove()
                self.total = max(0, self.total - 1)
                if gone.play.is_test:
                    self.tests = max(0, self.tests - 1)
        self._show_counts()
        await _reached_browser()

    def _redraw(self, sessions: list[live_board.LiveSession], read_at: datetime) -> None:
        for row in self.rows.values():
            row.remove()
        self.rows.clear()
        for play in sessions:
            self._upsert(play, read_at, counted=True)
        self._show_counts()

    def _upsert(self, play: live_board.LiveSession, read_at: datetime, *, counted: bool = False) -> None:
        row = self.rows.get(play.id)
        if row is None:
            with self.body:
                row = _Row(self, play, read_at)
            self.rows[play.id] = row
            if not counted:
                self.total += 1
                self.tests += play.is_test
            # Newest start first, as the board was read: a session that just started goes on top.
            ordered = sorted(self.rows.values(), key=lambda r: (r.play.started_at, str(r.play.id)), reverse=True)
            row.element.move(target_index=ordered.index(row))
        else:
            row.draw(play, read_at)
        row.element.set_visibility(row.play.stuck or not self.stuck_only)

    def _recheck_stuck(self) -> None:
        cutoff = stuck.stuck_cutoff(utcnow())
        for row in self.rows.values():
            row.set_stuck(row.play.last_activity_at < cutoff)
        self._show_counts()

    def _toggle_stuck(self, event) -> None:  # noqa: ANN001
        self.stuck_only = bool(event.value)
        for row in self.rows.values():
            row.element.set_visibility(row.stuck or not self.stuck_only)
        ui.navigate.history.replace("/live?stuck_only=1" if self.stuck_only else "/live")
        self._show_counts()

    def _show_counts(self) -> None:
        stuck_count = sum(1 for row in self.rows.values() if row.stuck)
        shown = len(self.rows)
        real = self.total - self.tests
        text = f"{real:,} session{'s' if real != 1 else ''} in progress"
        if self.tests:
            text += f" and {self.tests:,} test session{'s' if self.tests != 1 else ''}"
        if self.total > shown:
            text += f" (the newest {shown:,} shown)"
        if stuck_count:
            text += f" · {stuck_count} stuck"
        self.count.set_text(text)
        self.empty.set_visibility(not self.rows)
        self.table.set_visibility(bool(self.rows))

    # ----------------------------------------------------------------------------------- abandon

    async def ask_abandon(self, row: _Row) -> None:
        """The reason first, then the sessions rule decides (who may, still in progress)."""
        play = row.play
        with self.dialogs, ui.dialog() as dialog, ui.card().classes("min-w-[420px] gap-3"):
            title = Heading("Mark this session abandoned?", level=2).classes("text-h6")
            dialog.props(f"aria-labelledby={title.html_id}")
            ui.label(f"{play.player_name} — {play.simulation_title} · {play.module_title}").classes(MUTED)
            ui.label("The engine can send no more events to it. The reason goes into the audit log.")
            errors = FieldErrors()
            reason = errors.add(
                "reason",
                ui.textarea("Reason", placeholder="e.g. the player left the session open")
                .props(f"outlined autogrow maxlength={stuck.MAX_REASON} counter")
                .classes("w-full"),
            )
            with ui.row().classes("w-full justify-end gap-2"):
                ui.button("Cancel", on_click=dialog.close).props("flat").mark("abandon-cancel")
                confirm = ui.button("Mark abandoned", icon="block").props("color=negative").mark("abandon-ok")

        async def submit() -> None:
            done = await calls.submit(live_board.abandon, errors=errors, session_id=play.id, reason=reason.value or "")
            if done is not calls.REFUSED:
                dialog.close()
                ui.notify("Marked abandoned.", type="positive")
                await self.apply([SessionChange(play.id, None, None, None, ChangeKind.abandoned)])

        confirm.on_click(submit)
        dialog.on("hide", dialog.delete)
        dialog.open()


async def _reached_browser() -> None:
    """Return once the browser has taken in what was just sent (the answer to a script follows every
    message before it), or after BROWSER_WAIT_SECONDS. The board's next update waits for it, so a
    browser that falls behind (a busy machine, a slow laptop) gets fewer, fuller updates instead of a
    growing queue of stale ones: bench/live.py saw p95 grow to several seconds without it."""
    with contextlib.suppress(TimeoutError):
        await ui.run_javascript("0", timeout=BROWSER_WAIT_SECONDS)  # a constant: no data in scripts


class LiveRow(Element, component="live_row.js"):
    """A session's row, drawn in the browser from one prop (see live_row.js for why)."""


class _Row:
    """One session's row on the board: what it shows, as the data its browser component draws."""

    def __init__(self, board: LiveBoard, play: live_board.LiveSession, read_at: datetime) -> None:
        self.board = board
        self.element = LiveRow().mark("live-row")
        self.element.props["data-session"] = str(play.id)
        self.element.on("abandon", lambda: self.board.ask_abandon(self))
        self.stuck = play.stuck
        self.draw(play, read_at)

    def remove(self) -> None:
        self.element.delete()

    def set_stuck(self, is_stuck: bool) -> None:
        if is_stuck == self.stuck:
            return
        self.stuck = is_stuck
        self.element.props["row"] = {**self.element.props["row"], "stuck": is_stuck}
        self.element.set_visibility(is_stuck or not self.board.stuck_only)

    def draw(self, play: live_board.LiveSession, read_at: datetime) -> None:
        """Show the session as read. Engine and author text travels as data, drawn as text nodes."""
        self.play = play
        self.stuck = play.stuck
        last = play.last_event
        row = {
            "player_name": play.player_name,
            "player_email": play.player_email,
            "simulation_title": play.simulation_title,
            "module_title": play.module_title,
            "started": play.started_at.strftime("%Y-%m-%d %H:%M"),
            "platform": enum_label(play.platform.value) if play.platform else "",
            "last": None
            if last is None
            else {
                "kind": enum_label(last.type.value),
                "received": last.received_at.strftime("%H:%M:%S"),
                "summary": last.summary,
            },
            "scores": [
                {"key": s.key, "label": s.label, "value": f"{s.value:g}", "high": f"{s.high:g}"} for s in play.scores
            ],
            "age": round((read_at - play.last_activity_at).total_seconds(), 1),
            "stuck": play.stuck,
            "test": play.is_test,
            "can_abandon": play.can_abandon,
            "href": f"/sessions/{play.id}" if self.board.has_session_pages else None,
        }
        if self.board.shows_organization:
            row["organization_name"] = play.organization_name
        with self.element.props.suspend_updates():
            # For tests and the event-to-screen benchmark: which event the row shows (our own ids).
            self.element.props["data-last-event"] = str(last.id) if last else ""
            self.element.props["row"] = row
        self.element.update()


def _empty_advice(actor: Actor) -> str:
    """What to do when nothing is being played, for this viewer."""
    if actor.can(Permission.manage_platform):
        return (
            "Sessions appear here the moment an engine starts one (POST /api/v1/sessions with an API key) and "
            "update as its events arrive. To try it, create a key on API keys and run examples/play_session.py."
        )
    if actor.can(Permission.manage_organization):
        return (
            "Your organization's sessions appear here while people play them. Assign a simulation on "
            "Assignments; when someone launches it, their session shows up here and updates as they play."
        )
    return (
        "Sessions of the simulations you author appear here while they are played. Publish a simulation (or "
        "stage it and play it with a test key) to see one."
    )
