"""/assignments/progress: people × assigned simulations, each cell the status, score, due date and
lateness of the person's latest assignment of it. The filters and the page live in the URL (the
same names as /assignments and /reports), so a view can be bookmarked and shared."""

from __future__ import annotations

import uuid
from urllib.parse import urlencode

from nicegui import ui

from console.auth import Actor, Permission
from console.errors import ValidationFailed
from console.services.assignments import assigning, matrix, progress
from console.services.listing import ListQuery
from console.services.people import departments
from models.enums import AssignmentStatus
from pages.access import secured_page
from pages.components import calls
from pages.components.labels import ASSIGNMENT_STATUS_COLORS, enum_options
from pages.components.pickers import SearchSelect
from pages.layout import MUTED, frame
from pages.people.common import Chosen, choose

PAGE_SIZE = 25
FILTERS = ("simulation_id", "status", "department", "due", "assigned", "search")
# One cell: a status badge (dark enough for white text), the score and the due date under it.
CELL_SLOT = """
<q-td :props="props">
  <template v-if="props.value">
    <q-badge :label="props.value.status.replace('_', ' ')"
      :color="ASSIGNMENT_STATUS_COLORS[props.value.status]" />
    <div class="text-caption">
      <span v-if="props.value.score">{{ props.value.score }}
        <span :class="props.value.passed ? 'text-green-9' : 'text-red-9'">{{ props.value.pass }}</span> · </span>
      <span>{{ props.value.due }}</span>
      <span v-if="props.value.late" class="text-red-9"> · {{ props.value.late }}</span>
    </div>
  </template>
  <span v-else class="text-grey-8" aria-label="not assigned">—</span>
</q-td>
""".replace("ASSIGNMENT_STATUS_COLORS", ASSIGNMENT_STATUS_COLORS)
PERSON_SLOT = (
    '<q-td :props="props"><a class="text-primary" :href="props.row.person_url">{{ props.value }}</a>'
    '<div class="text-caption text-grey-8">{{ props.row.department }}</div></q-td>'
)


@secured_page("/assignments/progress", title="Progress", permission=Permission.manage_organization)
async def progress_page(actor: Actor, organization: str = ""):
    with frame(actor, "Progress", breadcrumbs=[("Assignments", "/assignments"), ("Progress", None)]):
        chosen = await choose(actor, organization, "/assignments/progress")
        if chosen is not None:
            await _matrix(chosen)


async def _matrix(chosen: Chosen) -> None:
    params = dict(ui.context.client.request.query_params) if ui.context.client.request else {}
    try:
        page = min(max(1, int(params.get("page") or 1)), 1_000_000)
    except ValueError:
        page = 1
    filters = {k: params[k] for k in FILTERS if params.get(k) and k != "search"}
    query = ListQuery(
        search=params.get("search", "")[:200],
        filters={**filters, "organization_id": str(chosen.id)},
        offset=(page - 1) * PAGE_SIZE,
        limit=PAGE_SIZE,
    )

    def go(**changes: str) -> None:
        wanted = {**{k: params.get(k, "") for k in FILTERS}, **changes}
        if "page" not in changes:
            wanted["page"] = ""
        if chosen.named:
            wanted["organization"] = str(chosen.id)
        ui.navigate.to("/assignments/progress?" + urlencode({k: v for k, v in wanted.items() if v}))

    dept_names = await calls.read(departments.names, organization_id=chosen.id)
    with ui.row().classes("items-center gap-2").mark("progress-filters"):
        ui.input("Search person", value=params.get("search", "")).props(
            "dense outlined clearable debounce=500"
        ).classes("w-56").on_value_change(lambda e: go(search=e.value or ""))
        asked = params.get("simulation_id", "")
        try:
            asked_id = uuid.UUID(asked) if asked else None
        except ValueError:
            asked_id = None
        asked_title = await calls.read(assigning.simulation_title, simulation_id=asked_id) if asked_id else None
        simulation = SearchSelect(
            "Simulation",
            lambda text: calls.read(assigning.simulation_options, search=text),
            value=asked if asked_title else None,
            value_label=asked_title,
            none_label="Any",
            on_change=lambda e: go(simulation_id=e.value or "") if (e.value or "") != asked else None,
        )
        simulation.props(remove="hint")
        simulation.props("dense outlined options-dense").classes("w-56").mark("progress-filter-simulation")
        await simulation.load()
        for name, label, options, width in (
            ("status", "Status", enum_options(AssignmentStatus), "w-36"),
            (
                "department",
                "Department",
                {**{d: d for d in dept_names}, progress.NO_DEPARTMENT: "(no department)"},
                "w-44",
            ),
            ("due", "Due", progress.DUE_WINDOWS, "w-44"),
            ("assigned", "Assigned", progress.RECENT_PERIODS, "w-40"),
        ):
            ui.select(
                {"": "Any", **options},
                label=label,
                value=params.get(name, "") if params.get(name, "") in options else "",
                on_change=lambda e, n=name: go(**{n: e.value or ""}),
            ).props("dense outlined options-dense").classes(width).mark(f"progress-filter-{name}")
        ui.link("Open as a list", "/assignments?" + urlencode({**filters, **chosen_params(chosen)})).mark(
            "progress-to-list"
        )
    try:
        found = await calls.read(matrix.matrix, query=query)
    except ValidationFailed as exc:
        ui.label(exc.message).classes("text-negative")
        return

    columns = [{"name": "person", "label": "Person", "field": "person", "align": "left"}] + [
        {"name": str(sim_id), "label": title, "field": str(sim_id), "align": "left"}
        for sim_id, title in found.simulations
    ]
    rows = []
    for r in found.page.rows:
        row = {
            "id": str(r.user_id),
            "person": r.name,
            "department": r.department or "no department",
            "person_url": f"/assignments/person/{r.user_id}{chosen.query()}",
        }
        for sim_id, _title in found.simulations:
            cell = r.cells.get(sim_id)
            row[str(sim_id)] = (
                None
                if cell is None
                else {
                    "status": cell.status.value,
                    "score": "" if cell.score is None else f"{cell.score:.1f}",
                    "pass": {True: "passed", False: "not passed", None: ""}[cell.passed],
                    "passed": bool(cell.passed),
                    "due": f"due {cell.due_date:%Y-%m-%d}" if cell.due_date else "no due date",
                    "late": f"{cell.days_late} d late" if cell.days_late else "",
                }
            )
        rows.append(row)
    total = found.page.total
    first, last = found.page.offset + 1, found.page.offset + len(rows)
    ui.label(
        f"{total} {'person' if total == 1 else 'people'} with assignments matching"
        + (f" · showing {first}–{last}" if total else "")
    ).classes(MUTED).props('aria-live="polite"').mark("progress-count")
    if found.more_simulations:
        ui.label(
            f"{found.more_simulations} more simulations are not shown: filter by simulation on the list to see them."
        ).classes(MUTED)
    if not rows:
        ui.label("No one matches. Clear the filters, or assign a simulation from the Assignments page.").mark(
            "progress-empty"
        )
        return
    table = (
        ui.table(columns=columns, rows=rows, row_key="id", pagination=0)
        .props("flat bordered dense hide-pagination")
        .classes("w-full")
        .mark("progress-table")
    )
    table.add_slot("body-cell-person", PERSON_SLOT)
    for sim_id, _ in found.simulations:
        table.add_slot(f"body-cell-{sim_id}", CELL_SLOT)
    pages = max(1, -(-total // PAGE_SIZE))
    with ui.row().classes("items-center gap-2").mark("progress-pager"):
        ui.button("Previous", icon="chevron_left", on_click=lambda: go(page=str(page - 1))).props(
            "flat dense no-caps"
        ).set_enabled(page > 1)
        ui.label(f"Page {page} of {pages}")
        ui.button("Next", icon="chevron_right", on_click=lambda: go(page=str(page + 1))).props(
            "flat dense no-caps"
        ).set_enabled(page < pages)


def chosen_params(chosen: Chosen) -> dict[str, str]:
    return {"organization": str(chosen.id)} if chosen.named else {}
