"""Simulations: the list (server-side paging, sorting, filters, search — all kept in the URL) and the
create/edit form. The pattern every other list and editor in the console follows."""

from __future__ import annotations

import json
import uuid

from nicegui import ui

from console.auth import Actor, Permission
from console.errors import NotFound
from console.services import simulations
from console.services.listing import ListQuery
from models.enums import Difficulty, SimulationFormat, SimulationStatus
from pages import studio
from pages.access import secured_page
from pages.components import calls
from pages.components.labels import enum_label, enum_options
from pages.components.listing import Filter, list_view
from pages.layout import frame, not_found
from pages.studio.common import STATUS_COLORS
from pages.studio.details import details_form

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
    f':color="{json.dumps(STATUS_COLORS).replace(chr(34), chr(39))}[props.value]" /></q-td>'
)
TITLE_SLOT = (
    '<q-td :props="props"><a :href="\'/simulations/\' + props.row.id" class="text-primary">{{ props.value }}</a></q-td>'
)


@secured_page("/simulations", title="Simulations", permission=Permission.view_catalogue)
async def simulations_list(actor: Actor):
    category_options = await calls.read(simulations.categories)

    async def fetch(query: ListQuery):
        result = await calls.read(simulations.list_, query=query)
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
        ], result

    creates = actor.can(Permission.author_simulations)
    with frame(actor, "Simulations", breadcrumbs=[("Simulations", None)]):
        await list_view(
            columns=COLUMNS,
            fetch=fetch,
            marker="sim",
            noun=("simulation", "simulations"),
            path="/simulations",
            sort="updated_at",
            descending=True,
            sortable=list(simulations.SORTABLE),
            search_placeholder="Search title, description, tags…",
            filters=[
                Filter("status", "Status", enum_options(SimulationStatus), width="w-32"),
                Filter("category", "Category", {c: c for c in category_options}, width="w-44"),
                Filter("difficulty", "Difficulty", enum_options(Difficulty), width="w-36"),
                Filter("format", "Format", enum_options(SimulationFormat), width="w-40"),
            ],
            slots={"body-cell-status": STATUS_SLOT, "body-cell-title": TITLE_SLOT},
            empty_message=(
                "No simulations match. Clear the filters"
                + (", or create a new simulation." if creates else " to see the whole catalogue.")
            ),
            on_new=(lambda: ui.navigate.to("/simulations/new")) if creates else None,
            new_label="New simulation",
        )


@secured_page("/simulations/new", title="New simulation", permission=Permission.author_simulations)
async def simulation_new(actor: Actor):
    with frame(actor, "New simulation", breadcrumbs=[("Simulations", "/simulations"), ("New", None)]):
        await details_form(actor, None)


@secured_page("/simulations/{simulation_id}", title="Simulation", permission=Permission.view_catalogue)
async def simulation_edit(actor: Actor, simulation_id: str, tab: str = "details", module: str | None = None):
    """The simulation's workspace: details, modules, scoring, media and history tabs (pages/studio.py)."""
    try:
        sim = await calls.read(simulations.get, simulation_id=uuid.UUID(simulation_id))
    except (ValueError, NotFound):
        not_found(actor)
        return
    with frame(actor, sim.title, breadcrumbs=[("Simulations", "/simulations"), (sim.title, None)]):
        await studio.workspace(actor, sim, tab=tab, module_id=(module or "")[:36] or None)
