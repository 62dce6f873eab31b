"""Participants' and individuals' page: their own assignments and results, nothing else."""

from __future__ import annotations

from datetime import date

from nicegui import ui

from console.auth import Actor, Permission
from console.services import assignments, play_sessions
from console.services.listing import ListQuery
from models.enums import AssignmentStatus
from pages.access import secured_page
from pages.components import calls
from pages.components.labels import enum_options
from pages.components.listing import Filter, list_view
from pages.components.markdown import user_markdown
from pages.layout import MUTED, Heading, frame

RESULTS_SHOWN = 50
ASSIGNMENT_COLUMNS = [
    {"name": "simulation", "label": "Simulation", "field": "simulation", "align": "left", "sortable": True},
    {"name": "status", "label": "Status", "field": "status", "align": "left", "sortable": True},
    {"name": "due_date", "label": "Due", "field": "due", "align": "left", "sortable": True},
]
# Badge colours dark enough for their white text (4.5:1 and more).
STATUS_SLOT = (
    "<q-td :props=\"props\"><q-badge :label=\"props.value.replace('_', ' ')\" "
    ":color=\"{assigned: 'grey-8', in_progress: 'blue-9', completed: 'positive', overdue: 'negative'}"
    '[props.value]" /></q-td>'
)


@secured_page("/my", title="My assignments", permission=Permission.view_own_assignments)
async def my_page(actor: Actor):
    async def fetch(query: ListQuery):
        page = await calls.read(assignments.list_mine, query=query)
        today = date.today()
        return [
            {
                "id": a.id,
                "simulation": a.simulation_title,
                "status": a.status.value,
                "due": a.due_date.isoformat() if a.due_date else "—",
                "late": bool(a.due_date and a.due_date < today and a.status.value != "completed"),
            }
            for a in page.rows
        ], page

    @ui.refreshable
    async def results_section(offset: int) -> None:
        results = await calls.read(play_sessions.list_mine, query=ListQuery(offset=offset, limit=RESULTS_SHOWN))
        if not results.rows:
            ui.label("No sessions played yet. Launch a simulation from your assignments to start.").mark(
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

    with frame(actor, "My assignments and results", breadcrumbs=[("My assignments", None)]):
        with ui.card().classes("w-full"):
            Heading("Assignments").classes("text-h6")
            await list_view(
                columns=ASSIGNMENT_COLUMNS,
                fetch=fetch,
                marker="my-assignments",
                noun=("assignment", "assignments"),
                path="/my",
                sort="due_date",
                sortable=list(assignments.MINE_SORTABLE),
                search_placeholder="Search simulations…",
                filters=[Filter("status", "Status", enum_options(AssignmentStatus), width="w-36")],
                slots={"body-cell-status": STATUS_SLOT},
                empty_message=(
                    "Nothing is assigned to you yet. Your organization's admin assigns simulations here."
                    if actor.organization_id
                    else "Nothing is assigned to you: assignments come from an organization's admin."
                ),
            )
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
