"""The modules tab: the simulation's modules in play order beside the editor of the chosen one."""

from __future__ import annotations

import uuid

from nicegui import ui

from console.auth import Actor
from console.errors import DomainError
from console.services import modules
from console.services.listing import ListQuery
from models import Module, Simulation
from pages.components import calls
from pages.components.buttons import icon_button
from pages.components.dialogs import confirm
from pages.components.forms import FieldErrors
from pages.studio.common import STATUS_COLORS
from pages.studio.module_editor import module_editor


async def modules_tab(actor: Actor, sim: Simulation, *, editable: bool, state: dict, on_select) -> None:  # noqa: ANN001
    view = {"search": "", "limit": 50}

    async def select(module_id: uuid.UUID | None) -> None:
        state["module"] = str(module_id) if module_id else None
        state["changed"]["modules"] += 1
        on_select()
        await module_list.refresh()
        await editor.refresh()

    @ui.refreshable
    async def module_list() -> None:
        page = await calls.read(
            modules.list_,
            simulation_id=sim.id,
            query=ListQuery(search=view["search"], sort="sort_order", limit=view["limit"]),
        )
        ui.label(f"{page.total} module{'s' if page.total != 1 else ''}").classes("text-grey-8").mark("mod-count")
        if not page.rows:
            ui.label("No modules yet.").classes("text-grey-8")
        for index, module in enumerate(page.rows):
            selected = state["module"] == str(module.id)
            with (
                ui.row()
                .classes("w-full items-center gap-1 no-wrap px-2 py-1 rounded " + ("bg-blue-1" if selected else ""))
                .mark(f"mod-row-{index}")
            ):
                ui.label(f"{index + 1}.").classes("text-grey-8 w-6")
                # A button, so Tab reaches it and Enter opens it (the title is set as text, never HTML).
                ui.button(module.title, on_click=lambda m=module: select(m.id)).props(
                    "flat dense no-caps align=left color=primary"
                ).classes("grow min-w-0").mark(f"mod-open-{index}")
                ui.badge(module.status.value).props(
                    f"color={STATUS_COLORS.get(module.status.value, 'grey')} outline"
                ).mark(f"mod-status-{index}")
                if editable:
                    for icon, action, tip in (
                        ("arrow_upward", "up", "Move up"),
                        ("arrow_downward", "down", "Move down"),
                        ("content_copy", "duplicate", "Duplicate"),
                        ("archive", "archive", "Archive"),
                    ):
                        icon_button(icon, f"{tip}: {module.title}", lambda m=module, a=action: act(m, a)).mark(
                            f"mod-{action}-{index}"
                        )
        if page.total > len(page.rows):

            async def more() -> None:
                view["limit"] += 50
                await module_list.refresh()

            ui.button(f"Show more ({page.total - len(page.rows)} left)", on_click=more).props("flat dense no-caps")

    async def act(module: Module, action: str) -> None:
        try:
            if action == "up":
                await calls.write(modules.move, module_id=module.id, direction=-1)
            elif action == "down":
                await calls.write(modules.move, module_id=module.id, direction=1)
            elif action == "duplicate":
                copy = await calls.write(modules.duplicate, module_id=module.id)
                ui.notify("Module duplicated.", type="positive")
                await select(copy.id)
                return
            elif action == "archive":
                if not await confirm(f"Archive the module “{module.title}”? Engines will no longer get it."):
                    return
                await calls.write(modules.archive, module_id=module.id)
                state["changed"]["modules"] += 1
                ui.notify("Module archived.", type="positive")
        except DomainError as exc:
            calls.notify_error(exc)
        await module_list.refresh()
        await editor.refresh()

    async def add() -> None:
        with ui.dialog() as dialog, ui.card().classes("min-w-[380px]"):
            ui.label("New module").classes("text-h6")
            errors = FieldErrors()
            title = errors.add(
                "title", ui.input("Title *").props("outlined dense autofocus maxlength=255").classes("w-full")
            ).mark("mod-new-title")

            async def create() -> None:
                created = await calls.submit(
                    modules.create, errors=errors, simulation_id=sim.id, data={"title": title.value or ""}
                )
                if created is calls.REFUSED:
                    return
                dialog.close()
                ui.notify("Module added.", type="positive")
                await select(created.id)

            title.on("keydown.enter", create)
            with ui.row().classes("w-full justify-end"):
                ui.button("Cancel", on_click=dialog.close).props("flat")
                ui.button("Create module", on_click=create).props("unelevated color=primary").mark("mod-new-ok")
        dialog.open()

    @ui.refreshable
    async def editor() -> None:
        if not state["module"]:
            ui.label("Choose a module on the left, or add one.").classes("text-grey-8 p-4").mark("mod-none")
            return
        try:
            module = await calls.read(modules.get, module_id=uuid.UUID(state["module"]))
        except (ValueError, DomainError):
            ui.label("That module is not available.").classes("text-grey-8 p-4")
            return
        if module.simulation_id != sim.id:
            ui.label("That module is not part of this simulation.").classes("text-grey-8 p-4")
            return

        async def saved() -> None:
            state["changed"]["modules"] += 1
            await module_list.refresh()

        await module_editor(actor, sim, module, editable=editable, on_saved=saved)

    with ui.row().classes("w-full items-start gap-4 no-wrap"):
        with ui.card().classes("w-[380px] shrink-0 gap-1").mark("mod-list"):
            with ui.row().classes("w-full items-center gap-2"):

                async def on_search(e) -> None:  # noqa: ANN001
                    view["search"] = e.value or ""
                    await module_list.refresh()

                ui.input(placeholder="Search modules", on_change=on_search).props(
                    "dense outlined clearable debounce=300"
                ).classes("grow").mark("mod-search")
                if editable:
                    ui.button("Add module", icon="add", on_click=add).props(
                        "unelevated dense no-caps color=primary"
                    ).mark("mod-add")
            await module_list()
        with ui.card().classes("grow min-w-0").mark("mod-editor"):
            await editor()
