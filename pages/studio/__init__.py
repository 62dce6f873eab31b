"""The authoring studio: a simulation's workspace (details, modules, scoring, media, history) and its
workflow bar, drawn by the `/simulations/{id}` page in pages/simulations.py. A module per tab.

Everything a user typed is shown through text-setting elements (labels, inputs, table cells) or the
Markdown component that cleans on the server (pages/components/markdown.py); nothing of theirs
goes into HTML, props strings or JavaScript.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from urllib.parse import urlencode

from nicegui import ui

from console.auth import Actor
from console.services import simulations
from models import Simulation
from pages.components import conflicts
from pages.studio.details import details_form
from pages.studio.history_tab import history_tab
from pages.studio.media_tab import media_tab
from pages.studio.modules_tab import modules_tab
from pages.studio.scoring_tab import scoring_tab
from pages.studio.workflow_bar import workflow_bar

TABS = [("details", "Details"), ("modules", "Modules"), ("scoring", "Scoring"), ("media", "Media")]


async def workspace(actor: Actor, sim: Simulation, *, tab: str, module_id: str | None) -> None:
    """The workspace with its tabs. Only the tab asked for is drawn; the others are drawn when first
    opened, and redrawn when entered if what they show changed in another tab since."""
    editable = simulations.can_edit(actor, sim)
    tabs_available = list(TABS)
    if simulations.can_read_history(actor, sim):
        tabs_available.append(("history", "History"))
    names = [name for name, _ in tabs_available]
    current = tab if tab in names else "details"
    # `changed` counts edits made in each tab; a tab that shows another tab's data redraws when entered
    # if that data changed since it was drawn (new modules for the media tab, new images for portraits).
    state = {"tab": current, "module": module_id, "changed": {"modules": 0, "media": 0}}
    held = conflicts.Held(sim.version)  # the simulation's version, for details, scoring and the workflow
    drawn: dict[str, dict[str, int]] = {}
    depends = {"details": ("media",), "modules": ("media",), "media": ("modules",), "history": ("modules", "media")}

    def url() -> str:
        params = {"tab": state["tab"]}
        if state["module"]:
            params["module"] = state["module"]
        return f"/simulations/{sim.id}?{urlencode(params)}"

    def sync_url() -> None:
        ui.navigate.history.replace(url())

    refresh_checks = await workflow_bar(actor, sim, url=url, held=held)

    def make_panel(name: str, draw: Callable[[], Awaitable[None]]):  # noqa: ANN202
        @ui.refreshable
        async def panel() -> None:
            drawn[name] = dict(state["changed"])
            await draw()

        return panel

    panels = {
        "details": make_panel("details", lambda: details_form(actor, sim, held)),
        "modules": make_panel(
            "modules", lambda: modules_tab(actor, sim, editable=editable, state=state, on_select=sync_url)
        ),
        "scoring": make_panel("scoring", lambda: _async(scoring_tab, actor, sim, editable=editable, held=held)),
        "media": make_panel("media", lambda: media_tab(actor, sim, editable=editable, state=state)),
        "history": make_panel("history", lambda: history_tab(actor, sim)),
    }
    containers: dict[str, ui.tab_panel] = {}

    async def on_tab(e) -> None:  # noqa: ANN001
        state["tab"] = e.value
        sync_url()
        if e.value not in drawn:
            with containers[e.value]:
                await panels[e.value]()
        elif e.value == "history" or any(drawn[e.value].get(k) != state["changed"][k] for k in depends[e.value]):
            await panels[e.value].refresh()
        await refresh_checks()  # edits in the tab just left may have changed what publishing lacks

    with ui.tabs(value=current, on_change=on_tab).classes("text-grey-9").props("dense align=left no-caps") as tabs:
        for name, label in tabs_available:
            ui.tab(name, label=label).mark(f"tab-{name}")
    with ui.tab_panels(tabs, value=current).classes("w-full bg-transparent").props("keep-alive"):
        for name in names:
            containers[name] = ui.tab_panel(name).classes("p-0")
    with containers[current]:
        await panels[current]()


async def _async(func, *args, **kwargs) -> None:  # noqa: ANN001
    func(*args, **kwargs)
