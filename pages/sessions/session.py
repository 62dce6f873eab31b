"""/sessions/{id}: one play session — its header (every column, the module's build, the player), the
scores over time (a chart per dimension), the final scores against the pass mark, the debrief with each
statement linked to the events it rests on, the timeline (paged, engine time and arrival side by side)
and the raw events (searchable, exported as JSON or CSV). `SessionView.refresh()` reads it all again
through the services, as the viewer is now: the page's live updates call it.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC
from typing import Any

from nicegui import ui

from console.auth import Actor, Permission
from console.errors import NotFound
from console.services.export_files import FILES
from console.services.listing import ListQuery
from console.services.sessions import detail, events, test_data
from console.services.sessions.events import EventsFormat
from models.enums import EventType, SessionStatus
from pages.access import secured_page
from pages.components import calls
from pages.components.dialogs import confirm
from pages.components.exporting import download_buttons
from pages.components.labels import SESSION_STATUS_COLOR, STUCK_COLOR, TEST_COLOR, enum_options
from pages.components.listing import Filter, ListView, RowAction, list_view
from pages.components.live import SessionChange, on_session_change
from pages.components.markdown import user_markdown
from pages.layout import MUTED, Heading, frame
from pages.people.common import dialog as dialog_
from pages.sessions import facts
from pages.sessions.abandon import abandon_dialog
from pages.sessions.page import PATH
from pages.sessions.timeline import draw_event

PAGE = 50  # events on a page of the timeline
DEBRIEF_WAIT, DEBRIEF_LOOKS = 2.0, 15  # a completed session's debrief: looked for every 2 s, 15 times at most
RAW_COLUMNS = [
    {"name": "timestamp", "label": "Engine time (UTC)", "field": "timestamp", "sortable": True, "align": "left"},
    {"name": "received_at", "label": "Received (UTC)", "field": "received", "sortable": True, "align": "left"},
    {"name": "type", "label": "Type", "field": "type", "sortable": True, "align": "left"},
    {"name": "event_id", "label": "Event id", "field": "event_id", "align": "left"},
    {"name": "data", "label": "Data (JSON)", "field": "data", "align": "left"},
]
DATA_SLOT = (  # one line, cut with an ellipsis: the whole payload is a click away (View)
    '<q-td :props="props"><div class="font-mono text-xs ellipsis" style="max-width: 18rem">'
    "{{ props.value }}</div></q-td>"
)
CELL_CHARS = 300


@secured_page(PATH + "/{session_id}", title="Session", permission=Permission.view_sessions)
async def session_page(actor: Actor, session_id: str):
    with frame(actor, "Session", breadcrumbs=[("Sessions", PATH), ("Session", None)]):
        try:
            wanted = uuid.UUID(session_id)
        except ValueError:
            wanted = None
        view = SessionView(actor, wanted) if wanted else None
        if view is None or not await view.start():
            ui.label("Session not found, or not one you can see.").classes(MUTED).mark("session-not-found")
            ui.link("All sessions", PATH)
            return
        follow_live_updates(view)


def follow_live_updates(view: SessionView) -> None:
    """LIVE UPDATES — the one place the page subscribes to changes of its session: the LISTEN fan-out
    (pages/components/live.py) calls `view.on_change` for each change the viewer may hear of."""
    on_session_change(view.on_change)


class SessionView:
    def __init__(self, actor: Actor, session_id: uuid.UUID) -> None:
        self.actor = actor
        self.session_id = session_id
        self.offset = 0
        self.highlight: uuid.UUID | None = None
        self.seen: detail.Overview | None = None
        self.rows: dict[uuid.UUID, ui.element] = {}
        self.root = ui.context.slot.parent
        self.raw: ListView | None = None
        self._refreshing = False
        self._again = False
        self._debrief_looks = 0

    # ---------------------------------------------------------------------------------------- reading

    async def _read(self) -> detail.Overview | None:
        try:
            return await calls.read(
                detail.overview, session_id=self.session_id, timeline_query=ListQuery(offset=self.offset, limit=PAGE)
            )
        except NotFound:
            return None

    async def start(self) -> bool:
        self.seen = await self._read()
        if self.seen is None:
            return False
        self.header_box = ui.column().classes("w-full gap-2").mark("session-header")
        with ui.row().classes("w-full no-wrap items-stretch gap-3 max-lg:flex-wrap"):
            self.chart_box = ui.card().classes("grow min-w-0").mark("session-chart")
            self.scores_box = ui.card().classes("w-[26rem] max-lg:w-full").mark("session-scores")
        with ui.row().classes("w-full no-wrap items-start gap-3 max-lg:flex-wrap"):
            self.timeline_box = ui.card().classes("grow min-w-0").mark("session-timeline")
            self.debrief_box = ui.card().classes("w-[28rem] max-lg:w-full").mark("session-debrief")
        self._draw()
        self._await_debrief()
        await self._draw_raw_events()
        return True

    async def on_change(self, change: SessionChange) -> None:
        """A live notification (ids only): re-read this session if it is the one that changed (or if
        anything may have: a resync after the listener reconnected)."""
        if change.affects(self.session_id):
            await self.refresh()

    async def refresh(self) -> None:
        """Read the header, chart, scores, debrief and timeline again (the raw events' page too). A
        change that arrives during a re-read is read by one more pass, never dropped or run alongside."""
        if self._refreshing:
            self._again = True
            return
        self._refreshing = True
        try:
            self._again = True
            while self._again:
                self._again = False
                if not await self._reread():
                    return
        finally:
            self._refreshing = False

    async def _reread(self) -> bool:
        found = await self._read()
        with self.root:
            if found is None:
                self.header_box.clear()
                with self.header_box:
                    ui.label("This session is no longer available to you.").classes("text-negative")
                return False
            self.seen = found
            self._draw()
            self._await_debrief()
        if self.raw is not None:
            await self.raw.reload()
        return True

    def _await_debrief(self) -> None:
        """A session just completed has its debrief written a moment later, by a job that sends no
        notification: look again every DEBRIEF_WAIT seconds, a bounded number of times."""
        header = self.seen.header
        if header.status != SessionStatus.completed or header.debrief_generated_at is not None:
            return
        if self._debrief_looks >= DEBRIEF_LOOKS:
            return
        self._debrief_looks += 1
        ui.timer(DEBRIEF_WAIT, self.refresh, once=True)

    # ---------------------------------------------------------------------------------------- drawing

    def _draw(self) -> None:
        seen = self.seen
        self.header_box.clear()
        with self.header_box:
            self._draw_header(seen.header)
        self.chart_box.clear()
        with self.chart_box:
            facts.score_charts(seen.chart)
        self.scores_box.clear()
        with self.scores_box:
            facts.final_scores(seen.chart, seen.header.status)
        self.debrief_box.clear()
        with self.debrief_box:
            self._draw_debrief(seen)
        self._draw_timeline()

    def _draw_header(self, header: detail.Header) -> None:
        with ui.row().classes("w-full items-center gap-2"):
            title = f"{header.player_name} · {header.simulation_title} — {header.module_title}"
            Heading(title, level=2).classes("text-h6").mark("session-title")
            ui.badge(header.status.value.replace("_", " ")).props(
                f"color={SESSION_STATUS_COLOR[header.status.value]}"
            ).mark("session-status")
            if header.stuck:
                ui.badge("stuck").props(f"color={STUCK_COLOR}").mark("session-stuck")
            if header.is_test:
                ui.badge("Test").props(f"color={TEST_COLOR}").tooltip(
                    "Started with a test key: counted in no figure, report or assignment."
                ).mark("session-test")
            ui.space()
            if header.can_delete:
                ui.button("Delete test session", icon="delete", on_click=self._delete).props(
                    "outline no-caps color=negative"
                ).mark("session-delete")
            if header.can_abandon:
                ui.button("Mark abandoned", icon="block", on_click=self._abandon).props(
                    "outline no-caps color=negative"
                ).mark("session-abandon")
        if header.abandoned_by:
            who, why, when = header.abandoned_by
            ui.label(f"Marked abandoned by {who} on {when:%Y-%m-%d %H:%M} UTC: {why}").classes(MUTED).mark(
                "session-abandoned-by"
            )
        facts.header_facts(header)

    async def _delete(self) -> None:
        header = self.seen.header
        if not await confirm(
            f"Delete this test session of {header.player_name} and its {header.event_count} events? "
            "This cannot be undone.",
            action="Delete",
        ):
            return
        if await calls.submit(test_data.delete_session, session_id=header.id) is calls.REFUSED:
            return
        ui.notify("Test session deleted.", type="positive")
        ui.navigate.to("/sessions?kind=test")

    async def _abandon(self) -> None:
        header = self.seen.header

        async def done(message: str) -> None:
            ui.notify(message, type="positive")
            await self.refresh()

        await abandon_dialog(self.root, [(str(header.id), f"{header.player_name} · {header.module_title}")], done)

    def _draw_debrief(self, seen: detail.Overview) -> None:
        Heading("Debrief", level=3).classes("text-subtitle1 font-medium")
        if not seen.debrief:
            status = seen.header.status
            ui.label(
                "The debrief is being prepared."
                if status == SessionStatus.completed
                else "A debrief is written when the session completes."
                if status == SessionStatus.in_progress
                else "No debrief: the session was abandoned."
            ).classes(MUTED).mark("session-no-debrief")
            return
        ui.label("The numbers beside a statement (#12) show the decision events it rests on.").classes(
            f"{MUTED} text-caption"
        )
        with ui.column().classes("w-full gap-0").mark("debrief-statements"):
            for statement in seen.debrief:
                with ui.row().classes("w-full no-wrap items-start gap-2"):
                    user_markdown(demoted(statement.text)).classes("grow min-w-0")
                    for event_id in statement.event_ids:
                        position = seen.positions.get(event_id)
                        link = ui.button(
                            f"#{position}" if position else "event",
                            on_click=lambda _, e=event_id: self.show_event(e),
                        ).props("flat dense no-caps color=primary")
                        link.classes("whitespace-nowrap underline").mark("debrief-link")
                        link.props["aria-label"] = f"Show event #{position} in the timeline"

    # --------------------------------------------------------------------------------------- timeline

    def _draw_timeline(self) -> None:
        page = self.seen.timeline
        self.timeline_box.clear()
        self.rows = {}
        with self.timeline_box:
            with ui.row().classes("w-full items-center gap-2"):
                Heading("Timeline", level=3).classes("text-subtitle1 font-medium")
                ui.label("Engine time from the start; the server's arrival time on the right (UTC).").classes(
                    f"{MUTED} text-caption"
                )
            if not page.rows:
                ui.label("No events yet.").classes(MUTED).mark("timeline-empty")
                return
            with ui.column().classes("w-full gap-1"):
                for event in page.rows:
                    self.rows[event.id] = draw_event(event, highlighted=event.id == self.highlight)
            self._draw_pager(page)

    def _draw_pager(self, page: Any) -> None:
        last = max(0, (page.total - 1) // PAGE * PAGE)
        with ui.row().classes("w-full items-center justify-end gap-1").mark("timeline-pager"):
            shown = f"Events {page.offset + 1:,}–{page.offset + len(page.rows):,} of {page.total:,}"
            ui.label(shown).classes(MUTED).mark("timeline-count")
            for label, icon, offset, enabled in (
                ("First", "first_page", 0, page.offset > 0),
                ("Previous", "chevron_left", max(0, page.offset - PAGE), page.offset > 0),
                ("Next", "chevron_right", page.offset + PAGE, page.offset < last),
                ("Last", "last_page", last, page.offset < last),
            ):
                button = ui.button(label, icon=icon, on_click=lambda _, o=offset: self.go(o))
                button.props("flat dense no-caps").mark(f"timeline-{label.lower()}")
                button.set_enabled(enabled)

    async def go(self, offset: int) -> None:
        """Show the timeline's page starting at `offset`."""
        self.offset = max(0, offset)
        try:
            self.seen.timeline = await calls.read(
                detail.timeline, session_id=self.session_id, query=ListQuery(offset=self.offset, limit=PAGE)
            )
        except NotFound:
            return
        with self.root:
            self._draw_timeline()

    async def show_event(self, event_id: uuid.UUID) -> None:
        """Bring an event into view in the timeline (its page first), highlighted."""
        try:
            position = await calls.read(detail.position, session_id=self.session_id, event_id=event_id)
        except NotFound:
            ui.notify("That event is no longer in this session.", type="warning")
            return
        self.highlight = event_id
        await self.go((position - 1) // PAGE * PAGE)
        row = self.rows.get(event_id)
        if row is not None:
            # Only the element's own number goes into the script: nothing an engine or a person wrote.
            ui.run_javascript(
                f"document.getElementById('c{int(row.id)}')?.scrollIntoView({{behavior: 'smooth', block: 'center'}})"
            )

    # ------------------------------------------------------------------------------------- raw events

    async def _draw_raw_events(self) -> None:
        session_id = self.session_id
        with ui.card().classes("w-full").mark("session-raw"):
            Heading("Raw events", level=3).classes("text-subtitle1 font-medium")

            async def fetch(query: ListQuery):
                found = await calls.read(events.list_, session_id=session_id, query=query)
                return [_raw_cells(e) for e in found.rows], found

            self.raw = await list_view(
                columns=RAW_COLUMNS,
                fetch=fetch,
                marker="raw",
                noun=("event", "events"),
                sort="timestamp",
                sortable=tuple(events.SORTABLE),
                search_placeholder="Search the events' data…",
                filters=[Filter("type", "Type", enum_options(EventType), width="w-40")],
                slots={"body-cell-data": DATA_SLOT},
                row_actions=[RowAction("view", "View", "data_object", self._view_raw)],
                empty_message="No events match.",
            )

            async def write(fmt: str, path, on_progress):  # noqa: ANN001, ANN202
                query = ListQuery(
                    search=self.raw.state.search, filters={k: v for k, v in self.raw.state.filters.items() if v}
                )
                return await calls.write(
                    events.write, session_id=session_id, fmt=fmt, query=query, path=path, on_progress=on_progress
                )

            download_buttons(
                marker="export-events",
                title="Export the events matching the search and type above",
                noun="events",
                formats={EventsFormat.json.value: "JSON", EventsFormat.csv.value: "CSV"},
                reserve=lambda fmt: FILES.reserve(
                    self.actor.user_id,
                    fmt,
                    filename=events.filename_for(session_id, fmt),
                    media_type=events.MEDIA_TYPES[EventsFormat(fmt)],
                    permission=Permission.view_sessions,
                ),  # fmt: skip
                write=write,
            )

    async def _view_raw(self, row: dict) -> None:
        try:
            event = await calls.read(events.get, session_id=self.session_id, event_id=uuid.UUID(row["event_id"]))
        except (NotFound, ValueError, KeyError):
            ui.notify("That event is no longer in this session.", type="warning")
            return
        with dialog_(self.root) as dialog, ui.card().classes("w-[720px] max-w-full").mark("raw-dialog"):
            title = Heading(f"Event {event.id}", level=2).classes("text-subtitle1 font-medium")
            dialog.props(f"aria-labelledby={title.html_id}")
            cells = _raw_cells(event)
            ui.label(f"{cells['type']} · engine {cells['timestamp']} · received {cells['received']}").classes(MUTED)
            # The payload as text in a scrolling box: the engine's JSON, never markup.
            ui.label(json.dumps(event.data, ensure_ascii=False, indent=2)).classes(
                "font-mono text-xs whitespace-pre-wrap break-all max-h-96 overflow-auto"
            ).mark("raw-payload")
            with ui.row().classes("w-full justify-end"):
                ui.button("Close", on_click=dialog.close).props("flat no-caps")
        dialog.open()


def demoted(line: str) -> str:
    """A debrief line whose Markdown heading sits under the card's own (h3): `#` → h4 … (h6 at most),
    so the page keeps one outline and the debrief's title is not the largest text on the page."""
    level = len(line) - len(line.lstrip("#"))
    if not level or line[level : level + 1] != " ":
        return line
    return "#" * min(6, level + 3) + line[level:]


def _raw_cells(event: events.RawEvent) -> dict:
    compact = json.dumps(event.data, ensure_ascii=False)
    return {
        "id": str(event.id),
        "event_id": str(event.id),
        "name": f"event {event.id}",
        "timestamp": f"{event.timestamp.astimezone(UTC):%Y-%m-%d %H:%M:%S}",
        "received": f"{event.received_at.astimezone(UTC):%Y-%m-%d %H:%M:%S.%f}"[:-3],
        "type": event.type.value,
        "data": compact if len(compact) <= CELL_CHARS else compact[:CELL_CHARS] + " …",
    }
