"""/assignments: an organization's assignments — assign, change due dates (one or many), unassign —
with the filters the progress matrix and the reports share (simulation, status, department, due window)."""

from __future__ import annotations

import dataclasses
import uuid

from nicegui import ui

from console.auth import Actor, Permission
from console.services.assignments import assigning, progress
from console.services.assignments import status as rules
from console.services.assignments.exports import ExportKind
from console.services.listing import ListQuery
from console.services.people import departments
from models.enums import AssignmentStatus
from pages.access import secured_page
from pages.assignments.dialogs import assign_dialog, due_date_dialog
from pages.components import calls
from pages.components.dialogs import confirm
from pages.components.exporting import export_buttons
from pages.components.labels import ASSIGNMENT_STATUS_SLOT, enum_options
from pages.components.listing import BulkAction, Filter, RowAction, list_view
from pages.layout import MUTED, frame
from pages.people.common import Chosen, choose

COLUMNS = [
    {"name": "name", "label": "Person", "field": "name", "sortable": True, "align": "left"},
    {"name": "department", "label": "Department", "field": "department", "sortable": True, "align": "left"},
    {"name": "simulation", "label": "Simulation", "field": "simulation", "sortable": True, "align": "left"},
    {"name": "status", "label": "Status", "field": "status", "sortable": True, "align": "left"},
    {"name": "due_date", "label": "Due", "field": "due", "sortable": True, "align": "left"},
    {"name": "score", "label": "Score", "field": "score", "align": "left"},
    {"name": "completed_at", "label": "Completed", "field": "completed_at", "sortable": True, "align": "left"},
]
STATUS_SLOT = ASSIGNMENT_STATUS_SLOT
DUE_SLOT = (
    '<q-td :props="props">{{ props.value }}'
    '<div v-if="props.row.late" class="text-caption text-red-9">{{ props.row.late }}</div></q-td>'
)
SCORE_SLOT = (
    '<q-td :props="props"><span v-if="props.row.score">{{ props.row.score }} '
    "<span :class=\"props.row.passed ? 'text-green-9' : 'text-red-9'\">{{ props.row.pass_label }}</span>"
    "</span></q-td>"
)
PERSON_SLOT = (
    '<q-td :props="props"><a class="text-primary" :href="props.row.person_url">{{ props.value }}</a>'
    '<div class="text-caption text-grey-8">{{ props.row.email }}</div></q-td>'
)


def _day(value) -> str:  # noqa: ANN001
    return value.strftime("%Y-%m-%d") if value else "—"


def _late(days: int, status: AssignmentStatus) -> str:
    if not days:
        return ""
    days_text = f"{days} day{'s' if days != 1 else ''}"
    return f"done {days_text} late" if status == AssignmentStatus.completed else f"{days_text} overdue"


def row_cells(r: progress.AssignmentRow, chosen: Chosen) -> dict:
    return {
        "id": str(r.id),
        "name": r.name,
        "email": r.email,
        "person_url": f"/assignments/person/{r.user_id}{chosen.query()}",
        "department": r.department or "—",
        "simulation": r.simulation_title,
        "status": r.status.value,
        "due": _day(r.due_date),
        "due_date": r.due_date.isoformat() if r.due_date else "",
        "late": _late(r.days_late, r.status),
        "score": "" if r.score is None else f"{r.score:.1f}",
        "passed": bool(r.passed),
        "pass_label": {True: "passed", False: "not passed", None: ""}[r.passed],
        "assigned_at": _day(r.assigned_at),
        "completed_at": _day(r.completed_at),
    }


@secured_page("/assignments", title="Assignments", permission=Permission.manage_organization)
async def assignments_page(actor: Actor, organization: str = ""):
    with frame(actor, "Assignments", breadcrumbs=[("Assignments", None)]):
        chosen = await choose(actor, organization, "/assignments")
        if chosen is not None:
            await _assignments(actor, chosen)


async def _assignments(actor: Actor, chosen: Chosen) -> None:
    org_id = chosen.id
    root = ui.context.slot.parent
    dept_names = await calls.read(departments.names, organization_id=org_id)
    with ui.row().classes("items-center gap-4"):
        ui.label("Assign published simulations to people, departments or a list of emails.").classes(MUTED)
        ui.link("Progress by person", f"/assignments/progress{chosen.query()}").mark("to-progress")
        ui.link("Reports", f"/reports{chosen.query()}").mark("to-reports")

    async def fetch(query: ListQuery):
        scoped = dataclasses.replace(query, filters={**query.filters, "organization_id": str(org_id)})
        result = await calls.read(progress.list_, query=scoped)
        return [row_cells(r, chosen) for r in result.rows], result

    async def changed(message: str) -> None:
        # In the page, not the dialog or bulk button that called: those are gone by now, and anything
        # drawn in their place (the list's bulk toolbar) would have no parent.
        with root:
            ui.notify(message, type="positive")
            view.clear_selection()
            await view.reload()

    async def unassign(rows: list[dict]) -> None:
        open_rows = [r for r in rows if r["status"] != "completed"]
        if not open_rows:
            with root:
                ui.notify("Completed assignments stay as the record of what was done.", type="warning")
            return
        names = ", ".join(f"{r['name']} ({r['simulation']})" for r in open_rows[:5])
        more = f" and {len(open_rows) - 5} more" if len(open_rows) > 5 else ""
        kept = len(rows) - len(open_rows)
        if not await confirm(
            f"Unassign {names}{more}? Their sessions and results stay."
            + (f" {kept} completed assignment{'s' if kept != 1 else ''} stay too." if kept else ""),
            action="Unassign",
        ):
            return
        done = await calls.submit(
            assigning.unassign, organization_id=org_id, assignment_ids=[uuid.UUID(r["id"]) for r in rows]
        )
        if done is not calls.REFUSED:
            removed, _kept = done
            await changed(f"Unassigned {removed} assignment{'s' if removed != 1 else ''}.")

    async def simulations(text: str) -> dict[str, str]:
        return await calls.read(assigning.simulation_options, search=text)

    asked = ui.context.client.request.query_params.get("simulation_id", "") if ui.context.client.request else ""
    try:
        asked_title = await calls.read(assigning.simulation_title, simulation_id=uuid.UUID(asked)) if asked else None
    except ValueError:
        asked_title = None

    view = await list_view(
        columns=COLUMNS,
        fetch=fetch,
        marker="assignment",
        noun=("assignment", "assignments"),
        path="/assignments",
        sort="due_date",
        sortable=progress.SORTABLE,
        search_placeholder="Search person or email…",
        filters=[
            *([Filter("organization", "Organization", options={str(org_id): chosen.name})] if chosen.query() else []),
            Filter(
                "simulation_id",
                "Simulation",
                kind="search",
                search=simulations,
                value_label=asked_title,
                width="w-56",
            ),
            Filter("status", "Status", enum_options(AssignmentStatus), width="w-36"),
            Filter(
                "department",
                "Department",
                options={**{d: d for d in dept_names}, progress.NO_DEPARTMENT: "(no department)"},
                width="w-44",
            ),
            Filter("due", "Due", options=progress.DUE_WINDOWS, width="w-44"),
            Filter("assigned", "Assigned", options=progress.RECENT_PERIODS, width="w-40"),
        ],
        slots={
            "body-cell-status": STATUS_SLOT,
            "body-cell-name": PERSON_SLOT,
            "body-cell-due_date": DUE_SLOT,
            "body-cell-score": SCORE_SLOT,
        },
        row_actions=[
            RowAction(
                "due",
                "Due date",
                "event",
                lambda row: due_date_dialog(root, org_id, [row], changed),
                when="props.row.status !== 'completed'",
            ),
            RowAction(
                "unassign",
                "Unassign",
                "assignment_return",
                lambda row: unassign([row]),
                when="props.row.status !== 'completed'",
                color="negative",
            ),
        ],
        bulk_actions=[
            BulkAction("due", "Change due date", "event", lambda rows: due_date_dialog(root, org_id, rows, changed)),
            BulkAction("unassign", "Unassign", "assignment_return", unassign, color="negative"),
        ],
        empty_message=(
            "No assignments match. Assign a simulation with the button above, or clear the search and filters."
        ),
        on_new=lambda: assign_dialog(root, org_id, changed),
        new_label="Assign a simulation",
    )
    if "organization" in view._filter_inputs:
        view._filter_inputs["organization"].set_visibility(False)
    ui.label(
        f"Today is {rules.today():%Y-%m-%d} (UTC): an open assignment past its due date shows as overdue."
    ).classes(MUTED + " text-caption")

    def shown() -> ListQuery:
        """What the list shows now (its search and filters, in this organization), for the exports."""
        filters = {k: v for k, v in view.state.filters.items() if v and k != "organization"}
        return ListQuery(search=view.state.search, filters={**filters, "organization_id": str(org_id)})

    with ui.row().classes("gap-8 items-start").mark("assignment-exports"):
        export_buttons(ExportKind.progress, shown, owner=actor)
        export_buttons(ExportKind.results, shown, owner=actor)
