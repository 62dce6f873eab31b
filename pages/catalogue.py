"""The catalogue for individuals (no organization assigns them work): every published module of every
published simulation, launchable as their subscription tier allows, and their own results."""

from __future__ import annotations

from nicegui import ui

from console.auth import Actor, Permission
from console.services import launch
from console.services.listing import ListQuery
from pages.access import secured_page
from pages.components import calls
from pages.components.labels import enum_label
from pages.components.listing import Filter, RowAction, list_view
from pages.layout import MUTED, Heading, frame
from pages.my import open_launch, results_card

COLUMNS = [
    {"name": "simulation", "label": "Simulation", "field": "simulation", "align": "left", "sortable": True},
    {"name": "module", "label": "Module", "field": "module", "align": "left", "sortable": True},
    {"name": "difficulty", "label": "Difficulty", "field": "difficulty", "align": "left", "sortable": True},
    {"name": "duration", "label": "Minutes", "field": "duration", "align": "right", "sortable": True},
    {"name": "access", "label": "Access", "field": "access", "align": "left"},
]
# A badge for what opens the module, then why it cannot be launched when it cannot (our own words,
# as Vue text). Badge colours dark enough for white text.
ACCESS_SLOT = (
    '<q-td :props="props"><div class="row items-center no-wrap q-gutter-x-sm">'
    "<q-badge :label=\"props.value\" :color=\"{'Free demo': 'positive', 'Pro': 'grey-8'}[props.value] || 'blue-9'\" />"
    '<span v-if="props.row.note" class="text-grey-8">{{ props.row.note }}</span>'
    "</div></q-td>"
)


def _access(module: launch.PlayableModule) -> str:
    if module.is_free_demo:
        return "Free demo"
    return "Pro" if module.note == launch.PRO_ONLY else "Included"


def _note(module: launch.PlayableModule) -> str:
    # The badge already says "Pro": the note keeps only the explanation after it.
    return module.note.removeprefix("Pro: ") if module.note == launch.PRO_ONLY else module.note


@secured_page("/catalogue", title="Catalogue", permission=Permission.view_own_assignments)
async def catalogue_page(actor: Actor):
    with frame(actor, "Catalogue", breadcrumbs=[("Catalogue", None)]):
        if not launch.can_browse_catalogue(actor):
            # Participants play what their organization assigns them; their Launch buttons are on /my.
            with ui.card().classes("w-full"):
                ui.label("The catalogue is for individual accounts: your organization assigns your simulations.").mark(
                    "catalogue-not-yours"
                )
                ui.link("Go to my assignments", "/my")
            return
        access = await calls.read(launch.catalogue_access)

        async def fetch(query: ListQuery):
            page = await calls.read(launch.list_catalogue, query=query)
            return [
                {
                    "id": m.id,
                    "simulation": m.simulation_title,
                    "module": m.title,
                    "difficulty": enum_label(m.difficulty),
                    "duration": m.estimated_duration_min or "—",
                    "access": _access(m),
                    "note": _note(m),
                    "launchable": m.launchable,
                }
                for m in page.rows
            ], page

        with ui.card().classes("w-full"):
            Heading("Simulations to play").classes("text-h6")
            plan = enum_label(access.tier.value)
            ui.label(
                f"Your plan: {plan}. Every published module is yours to play."
                if access.full
                else f"Your plan: {plan}. Free demo modules are yours to play; modules marked Pro need a Pro "
                "subscription."
            ).classes(MUTED).mark("catalogue-plan")
            await list_view(
                columns=COLUMNS,
                fetch=fetch,
                marker="catalogue",
                noun=("module", "modules"),
                path="/catalogue",
                sort="simulation",
                sortable=list(launch.CATALOGUE_SORTABLE),
                search_placeholder="Search simulations and modules…",
                filters=[Filter("access", "Access", launch.ACCESS_FILTERS, width="w-36")],
                slots={"body-cell-access": ACCESS_SLOT},
                row_actions=[
                    RowAction(
                        "launch",
                        "Launch",
                        "play_arrow",
                        lambda row: open_launch(row.get("id") if isinstance(row, dict) else None),
                        when="props.row.launchable",
                        color="primary",
                    )
                ],
                empty_message="No published simulations match.",
            )
        await results_card(start_hint="the catalogue")
