"""Participants' and individuals' page: their own assignments (each with its modules' Launch buttons)
and results, nothing else. The Launch handler and the results section are shared with the catalogue."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from nicegui import ui

from console.auth import Actor, Permission
from console.errors import DomainError
from console.services import assignments, launch, play_sessions
from console.services.listing import ListQuery
from models.enums import AssignmentStatus
from pages.access import secured_page
from pages.components import calls
from pages.components.labels import ASSIGNMENT_STATUS_SLOT, enum_options
from pages.components.listing import Filter, list_view
from pages.components.markdown import user_markdown
from pages.layout import MUTED, Heading, frame

RESULTS_SHOWN = 50
ASSIGNMENT_COLUMNS = [
    {"name": "simulation", "label": "Simulation", "field": "simulation", "align": "left", "sortable": True},
    {"name": "status", "label": "Status", "field": "status", "align": "left", "sortable": True},
    {"name": "due_date", "label": "Due", "field": "due", "align": "left", "sortable": True},
    {"name": "play", "label": "Modules", "field": "modules", "align": "left"},
]
STATUS_SLOT = ASSIGNMENT_STATUS_SLOT
# Each playable module of the row's simulation: a Launch button, or why it has none. Titles and notes
# are Vue text interpolation (never HTML); the button sends ids only, and the server decides the rest.
MODULES_SLOT = (
    '<q-td :props="props">'
    '<div v-if="!props.row.modules.length" class="text-grey-8">No playable modules yet</div>'
    '<div v-for="m in props.row.modules" :key="m.id" class="row items-center no-wrap q-gutter-x-sm">'
    "<span>{{ m.title }}</span>"
    '<q-btn v-if="m.launchable" unelevated dense no-caps size="sm" color="primary" icon="play_arrow" '
    'label="Launch" :aria-label="\'Launch \' + m.title" '
    "@click=\"() => $parent.$emit('launch', {assignment_id: props.row.id, module_id: m.id})\" />"
    '<span v-else class="text-grey-8">{{ m.note }}</span>'
    "</div></q-td>"
)


def module_cells(module: launch.PlayableModule) -> dict[str, Any]:
    """What a row's Modules cell needs of a module (the ids, for the Launch event)."""
    return {"id": module.id, "title": module.title, "launchable": module.launchable, "note": module.note}


def _uuid(value: Any) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value)) if value else None
    except ValueError:
        return None


def _launch_ids(args: Any) -> tuple[Any, Any]:
    """(module id, assignment id) from a Launch event: whatever the browser sent, never an error."""
    if not isinstance(args, dict):
        return None, None
    return args.get("module_id"), args.get("assignment_id")


async def open_launch(module_id: Any, assignment_id: Any = None) -> None:
    """Launch: open the module's launch URL, with a token made now, in a new tab.

    The ids come from the browser: anything that is not an id launches nothing. The token is made at
    the press (launch.launch re-checks who may play what), never when the page was drawn. Browsers let
    a page open a tab for a few seconds after a click, which a round trip to the server fits in.
    """
    module = _uuid(module_id)
    if module is None or (assignment_id and _uuid(assignment_id) is None):
        ui.notify("That module cannot be launched.", type="warning")
        return
    try:
        found = await calls.read(launch.launch, module_id=module, assignment_id=_uuid(assignment_id))
    except DomainError as exc:
        calls.notify_error(exc)
        return
    ui.navigate.to(found.url, new_tab=True)


@secured_page("/my", title="My assignments", permission=Permission.view_own_assignments)
async def my_page(actor: Actor):
    async def fetch(query: ListQuery):
        page = await calls.read(assignments.list_mine, query=query)
        playable = await calls.read(launch.assigned_modules, assignment_ids=[uuid.UUID(a.id) for a in page.rows])
        today = date.today()
        return [
            {
                "id": a.id,
                "simulation": a.simulation_title,
                "status": a.status.value,
                "due": a.due_date.isoformat() if a.due_date else "—",
                "late": bool(a.due_date and a.due_date < today and a.status.value != "completed"),
                "modules": [module_cells(m) for m in playable.get(a.id, [])],
            }
            for a in page.rows
        ], page

    individual = launch.can_browse_catalogue(actor)
    with frame(actor, "My assignments and results", breadcrumbs=[("My assignments", None)]):
        with ui.card().classes("w-full"):
            Heading("Assignments").classes("text-h6")
            view = await list_view(
                columns=ASSIGNMENT_COLUMNS,
                fetch=fetch,
                marker="my-assignments",
                noun=("assignment", "assignments"),
                path="/my",
                sort="due_date",
                sortable=list(assignments.MINE_SORTABLE),
                search_placeholder="Search simulations…",
                filters=[Filter("status", "Status", enum_options(AssignmentStatus), width="w-36")],
                slots={"body-cell-status": STATUS_SLOT, "body-cell-play": MODULES_SLOT},
                empty_message=(
                    "Nothing is assigned to you yet. Your organization's admin assigns simulations here."
                    if actor.organization_id
                    else "Nothing is assigned to you: choose what to play from the Catalogue."
                    if individual
                    else "Nothing is assigned to you: assignments come from an organization's admin."
                ),
            )
            view.table.table.on("launch", lambda e: open_launch(*_launch_ids(e.args)))
            if individual:
                ui.link("Browse the catalogue", "/catalogue").mark("my-catalogue-link")
        await results_card(start_hint="the Catalogue" if individual else "your assignments")


async def results_card(*, start_hint: str) -> None:
    """The viewer's own results, newest first, paged: on /my and on the catalogue."""

    @ui.refreshable
    async def results_section(offset: int) -> None:
        results = await calls.read(play_sessions.list_mine, query=ListQuery(offset=offset, limit=RESULTS_SHOWN))
        if not results.rows:
            ui.label(f"No sessions played yet. Launch a simulation from {start_hint} to start.").mark(
                "my-results-empty"
            )
            return
        last = results.offset + len(results.rows)
        with ui.row().classes("w-full items-center gap-2"):
            counted = f"{results.offset + 1}–{last} of {results.total:,} sessions, newest first"
            ui.label(counted).classes(MUTED).mark("my-results-count")
            ui.space()
            if results.offset:
                newer = max(0, results.offset - RESULTS_SHOWN)
                ui.button("Newer", icon="chevron_left", on_click=lambda: results_section.refresh(newer)).props(
                    "flat dense no-caps"
                ).mark("my-results-newer")
            if last < results.total:
                ui.button("Older", icon="chevron_right", on_click=lambda: results_section.refresh(last)).props(
                    "flat dense no-caps"
                ).mark("my-results-older")
        for result in results.rows:
            _result(result)

    with ui.card().classes("w-full"):
        Heading("Results").classes("text-h6")
        await results_section(0)


def _result(result: play_sessions.MyResult) -> None:
    with (
        ui.expansion(
            f"{result.simulation_title} — {result.module_title}",
            caption=f"{result.status.value.replace('_', ' ')} · started {result.started_at:%Y-%m-%d %H:%M}"
            + (f" · total {result.total}" if result.total is not None else ""),
        )
        .classes("w-full")
        .mark("my-result")
    ):
        if result.final_scores:
            with ui.row().classes("gap-2"):
                for key, value in result.final_scores.items():
                    ui.chip(f"{key}: {value}").props("outline")
        if result.debrief_text:
            user_markdown(result.debrief_text).mark("my-debrief")  # an engine's labels or an LLM wrote parts of it
        elif result.status.value == "completed":
            ui.label("Your debrief is being prepared.").classes(MUTED)
