"""Simulations: the list (server-side paging, sorting, filters, search — all kept in the URL) and the
create/edit form. The pattern every other list and editor in the console follows."""

from __future__ import annotations

import uuid
from urllib.parse import urlencode

from nicegui import ui

from console.auth import Actor, Permission
from console.errors import DomainError, NotFound, ValidationFailed
from console.services import media, simulations
from models.enums import Difficulty, SimulationFormat, SimulationStatus
from pages import studio
from pages.access import secured_page
from pages.components import calls
from pages.components.forms import FieldErrors
from pages.components.labels import enum_label, enum_options
from pages.components.table import ServerTable, TableRequest
from pages.layout import frame, not_found

COLUMNS = [
    {"name": "title", "label": "Title", "field": "title", "sortable": True, "align": "left"},
    {"name": "status", "label": "Status", "field": "status", "sortable": True, "align": "left"},
    {"name": "category", "label": "Category", "field": "category", "sortable": True, "align": "left"},
    {"name": "difficulty", "label": "Difficulty", "field": "difficulty", "sortable": True, "align": "left"},
    {"name": "format", "label": "Format", "field": "format", "sortable": True, "align": "left"},
    {"name": "estimated_duration_min", "label": "Minutes", "field": "estimated_duration_min", "sortable": True},
    {"name": "updated_at", "label": "Updated", "field": "updated_at", "sortable": True, "align": "left"},
]
STATUS_SLOT = (
    '<q-td :props="props"><q-badge :label="props.value" '
    ":color=\"{draft: 'grey-7', review: 'orange', staged: 'purple', published: 'positive', archived: 'blue-grey'}"
    '[props.value]" /></q-td>'
)
TITLE_SLOT = (
    '<q-td :props="props"><a :href="\'/simulations/\' + props.row.id" class="text-primary">{{ props.value }}</a></q-td>'
)


def _enum_or_none(enum_cls, value: str | None):  # noqa: ANN001
    try:
        return enum_cls(value) if value else None
    except ValueError:
        return None


def _int(value: str | None, default: int) -> int:
    try:
        return int(value) if value is not None else default
    except ValueError:
        return default


@secured_page("/simulations", title="Simulations", permission=Permission.view_catalogue)
async def simulations_list(
    actor: Actor,
    search: str = "",
    status: str | None = None,
    category: str | None = None,
    difficulty: str | None = None,
    format: str | None = None,  # noqa: A002
    sort: str = "updated_at",
    desc: str = "1",
    page: str = "1",
    size: str = "25",
):
    filters = {
        "search": search[:200],
        "status": _enum_or_none(SimulationStatus, status),
        "category": (category or None) and category[:100],
        "difficulty": _enum_or_none(Difficulty, difficulty),
        "format": _enum_or_none(SimulationFormat, format),
    }
    category_options = await calls.read(simulations.categories)

    async def fetch(request: TableRequest):
        query = simulations.SimulationQuery(
            search=filters["search"],
            status=filters["status"],
            category=filters["category"],
            difficulty=filters["difficulty"],
            format=filters["format"],
            sort=request.sort if request.sort in simulations.SORTABLE else "updated_at",
            descending=request.descending,
            offset=request.offset,
            limit=request.limit,
        )
        result = await calls.read(simulations.list_, query=query)
        count_label.text = f"{result.total:,} simulation{'s' if result.total != 1 else ''}"
        return [
            {
                "id": str(s.id),
                "title": s.title,
                "status": s.status.value,
                "category": s.category or "",
                "difficulty": enum_label(s.difficulty.value),
                "format": enum_label(s.format.value),
                "estimated_duration_min": s.estimated_duration_min,
                "updated_at": s.updated_at.strftime("%Y-%m-%d %H:%M"),
            }
            for s in result.rows
        ], result.total

    def sync_url() -> None:
        """Keep the view in the address bar, so a filtered list can be bookmarked and shared."""
        pagination = table.pagination
        params = {k: (v.value if hasattr(v, "value") else v) for k, v in filters.items() if v}
        params.update(
            sort=pagination.get("sortBy") or "updated_at",
            desc="1" if pagination.get("descending") else "0",
            page=pagination.get("page", 1),
            size=pagination.get("rowsPerPage", 25),
        )
        ui.navigate.history.replace(f"/simulations?{urlencode(params)}")

    async def apply(key: str, value) -> None:  # noqa: ANN001
        filters[key] = value or None if key != "search" else (value or "")
        await table.reload(first_page=True)
        sync_url()

    with frame(actor, "Simulations", breadcrumbs=[("Simulations", None)]):
        with ui.row().classes("w-full items-center gap-2"):
            search_box = (
                ui.input(placeholder="Search title, description, tags…  ( / )", value=filters["search"])
                .props("dense outlined clearable debounce=300")
                .classes("w-80")
                .mark("sim-search")
            )
            search_box.on_value_change(lambda e: apply("search", e.value))
            ui.select(
                {"": "Any status", **enum_options(SimulationStatus)},
                value=status if filters["status"] else "",
                on_change=lambda e: apply("status", _enum_or_none(SimulationStatus, e.value)),
            ).props("dense outlined options-dense").classes("w-36").mark("filter-status")
            ui.select(
                {"": "Any category", **{c: c for c in category_options}},
                value=filters["category"] if filters["category"] in category_options else "",
                on_change=lambda e: apply("category", e.value),
            ).props("dense outlined options-dense").classes("w-48").mark("filter-category")
            ui.select(
                {"": "Any difficulty", **enum_options(Difficulty)},
                value=difficulty if filters["difficulty"] else "",
                on_change=lambda e: apply("difficulty", _enum_or_none(Difficulty, e.value)),
            ).props("dense outlined options-dense").classes("w-40").mark("filter-difficulty")
            ui.select(
                {"": "Any format", **enum_options(SimulationFormat)},
                value=format if filters["format"] else "",
                on_change=lambda e: apply("format", _enum_or_none(SimulationFormat, e.value)),
            ).props("dense outlined options-dense").classes("w-44").mark("filter-format")
            ui.space()
            count_label = ui.label("").classes("text-grey-7").mark("sim-count")
            if actor.can(Permission.author_simulations):
                ui.button("New simulation", icon="add", on_click=lambda: ui.navigate.to("/simulations/new")).props(
                    "unelevated color=primary"
                ).mark("sim-new")
        table = ServerTable(
            columns=COLUMNS,
            fetch=fetch,
            sort=sort if sort in simulations.SORTABLE else "updated_at",
            descending=desc != "0",
            page=_int(page, 1),
            page_size=_int(size, 25),
            on_change=sync_url,
            empty_message="No simulations match. Clear the filters, or create a new simulation.",
        )
        table.table.add_slot("body-cell-status", STATUS_SLOT)
        table.table.add_slot("body-cell-title", TITLE_SLOT)
        table.table.mark("sim-table")
        await table.reload()

        def on_key(e) -> None:  # noqa: ANN001
            if not e.action.keydown or e.modifiers.ctrl or e.modifiers.meta or e.modifiers.alt:
                return
            if e.key == "/":
                search_box.run_method("focus")
            elif e.key == "n" and actor.can(Permission.author_simulations):
                ui.navigate.to("/simulations/new")

        ui.keyboard(on_key=on_key, ignore=["input", "select", "button", "textarea"])


@secured_page("/simulations/new", title="New simulation", permission=Permission.author_simulations)
async def simulation_new(actor: Actor):
    with frame(actor, "New simulation", breadcrumbs=[("Simulations", "/simulations"), ("New", None)]):
        await _editor(actor, None)


@secured_page("/simulations/{simulation_id}", title="Simulation", permission=Permission.view_catalogue)
async def simulation_edit(actor: Actor, simulation_id: str, tab: str = "details", module: str | None = None):
    """The simulation's workspace: details, modules, scoring, media and history tabs (pages/studio.py)."""
    try:
        sim = await calls.read(simulations.get, simulation_id=uuid.UUID(simulation_id))
    except (ValueError, NotFound):
        not_found(actor)
        return
    with frame(actor, sim.title, breadcrumbs=[("Simulations", "/simulations"), (sim.title, None)]):
        await studio.workspace(actor, sim, tab=tab, module_id=(module or "")[:36] or None, details=_editor)


async def _editor(actor: Actor, sim) -> None:  # noqa: ANN001
    editable = sim is None or simulations.can_edit(actor, sim)
    errors = FieldErrors()
    with ui.card().classes("w-full max-w-4xl"):
        with ui.grid(columns=2).classes("w-full gap-3"):
            title = errors.add(
                "title",
                ui.input("Title *", value=sim.title if sim else "").props("outlined dense maxlength=255 autofocus"),
            )
            category = errors.add(
                "category",
                ui.input("Category", value=(sim.category or "") if sim else "").props("outlined dense maxlength=100"),
            )
            difficulty = errors.add(
                "difficulty",
                ui.select(
                    enum_options(Difficulty),
                    label="Difficulty *",
                    value=sim.difficulty.value if sim else Difficulty.intermediate.value,
                ).props("outlined dense"),
            )
            fmt = errors.add(
                "format",
                ui.select(
                    enum_options(SimulationFormat),
                    label="Format *",
                    value=sim.format.value if sim else SimulationFormat.branching_narrative.value,
                ).props("outlined dense"),
            )
            duration = errors.add(
                "estimated_duration_min",
                ui.number(
                    "Estimated duration (minutes)",
                    value=sim.estimated_duration_min if sim else None,
                    min=1,
                    max=1440,
                    precision=0,
                ).props("outlined dense"),
            )
            thumbnail = errors.add(
                "thumbnail_url",
                ui.input("Thumbnail URL", value=(sim.thumbnail_url or "") if sim else "").props(
                    "outlined dense maxlength=500"
                ),
            )
        description = errors.add(
            "description",
            ui.textarea("Description", value=(sim.description or "") if sim else "")
            .props("outlined dense autogrow maxlength=5000")
            .classes("w-full"),
        )
        tags = errors.add(
            "skill_tags",
            ui.input_chips("Skill tags", value=list(sim.skill_tags or []) if sim else [], new_value_mode="add-unique")
            .props("outlined dense hint='Type a tag and press Enter'")
            .classes("w-full"),
        )
        if sim is not None:
            images = await calls.read(media.simulation_images, simulation_id=sim.id)
            if images and editable:
                ui.select(
                    {a.url: a.filename for a in images},
                    label="Pick the thumbnail from this simulation's images",
                    on_change=lambda e: thumbnail.set_value(e.value or thumbnail.value),
                ).props("outlined dense clearable").classes("w-full").mark("sim-thumbnail-pick")
            if sim.thumbnail_url and sim.thumbnail_url.startswith("/media/"):
                ui.image(sim.thumbnail_url).classes("w-48 h-28 rounded").props("fit=cover").mark("sim-thumbnail")
        for element in (title, category, difficulty, fmt, duration, thumbnail, description, tags):
            element.set_enabled(editable)

        async def save() -> None:
            if not editable:
                return
            errors.clear()
            data = {
                "title": title.value or "",
                "description": description.value or None,
                "category": (category.value or "").strip() or None,
                "skill_tags": list(tags.value or []),
                "difficulty": difficulty.value,
                "format": fmt.value,
                "thumbnail_url": (thumbnail.value or "").strip() or None,
                "estimated_duration_min": int(duration.value) if duration.value not in (None, "") else None,
            }
            try:
                if sim is None:
                    created = await calls.write(simulations.create, data=data)
                    ui.notify(f"Created “{created.title}”.", type="positive")
                    ui.navigate.to(f"/simulations/{created.id}")
                else:
                    await calls.write(simulations.update, simulation_id=sim.id, data=data)
                    ui.notify("Saved.", type="positive")
            except ValidationFailed as exc:
                errors.show(exc.field_errors)
                ui.notify(exc.message, type="warning")
            except DomainError as exc:
                calls.notify_error(exc)

        with ui.row().classes("w-full justify-end gap-2"):
            ui.button("Cancel", on_click=lambda: ui.navigate.to("/simulations")).props("flat")
            if editable:
                ui.button("Save  (Ctrl+S)", icon="save", on_click=save).props("unelevated color=primary").classes(
                    "js-save"
                ).mark("sim-save")
