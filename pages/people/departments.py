"""/people/departments: an organization's departments with their member counts; rename and merge."""

from __future__ import annotations

from nicegui import ui

from console.auth import Actor, Permission
from console.services.people import departments
from pages.access import secured_page
from pages.components import calls
from pages.components.dialogs import confirm
from pages.components.forms import FieldErrors
from pages.layout import MUTED, Heading, frame
from pages.people.common import Chosen, choose, tabs
from pages.people.common import dialog as dialog_

COLUMNS = [
    {"name": "name", "label": "Department", "field": "label", "align": "left"},
    {"name": "members", "label": "Members", "field": "members", "align": "right"},
    {"name": "actions", "label": "Actions", "field": "name", "align": "right"},
]
# Our constant template: the department's name reaches it as row data (Vue interpolation, never HTML).
ACTIONS_SLOT = (
    '<q-td :props="props" class="whitespace-nowrap"><template v-if="props.row.name">'
    '<q-btn flat dense no-caps size="sm" icon="edit" label="Rename" '
    ":aria-label=\"'Rename ' + props.row.name\" @click=\"() => $parent.$emit('rename', props.row)\" />"
    '<q-btn flat dense no-caps size="sm" icon="merge" label="Merge into…" '
    ":aria-label=\"'Merge ' + props.row.name\" @click=\"() => $parent.$emit('merge', props.row)\" />"
    "</template></q-td>"
)


@secured_page("/people/departments", title="Departments", permission=Permission.manage_organization)
async def departments_page(actor: Actor, organization: str = ""):
    with frame(actor, "Departments", breadcrumbs=[("People", "/people"), ("Departments", None)]):
        chosen = await choose(actor, organization, "/people/departments")
        if chosen is not None:
            await _departments(chosen)


async def _departments(chosen: Chosen) -> None:
    root = ui.context.slot.parent  # the page's content: dialogs live there, not in the refreshed table
    tabs("/people/departments", chosen)
    ui.label(
        "A department is a word on its members: renaming or merging moves every member at once. "
        "Set a member's department on the Members page."
    ).classes(MUTED)

    @ui.refreshable
    async def table() -> None:
        found = await calls.read(departments.list_, organization_id=chosen.id)
        rows = [{"name": d.name or "", "label": d.name or "(no department)", "members": d.members} for d in found]
        if not rows:
            ui.label("No members yet.").classes(MUTED).mark("no-departments")
            return
        grid = ui.table(columns=COLUMNS, rows=rows, row_key="label").classes("w-full max-w-3xl").mark("departments")
        grid.add_slot("body-cell-actions", ACTIONS_SLOT)
        grid.on("rename", lambda e: rename(e.args["name"]))
        grid.on("merge", lambda e: merge(e.args["name"], [r["name"] for r in rows if r["name"]]))

    async def rename(name: str) -> None:
        errors = FieldErrors()
        with dialog_(root) as dialog, ui.card().classes("min-w-[420px]").mark("rename-dialog"):
            Heading(f"Rename “{name}”", level=2).classes("text-h6")
            new_name = errors.add(
                "new_name", ui.input("New name", value=name).props("outlined dense maxlength=100 autofocus")
            ).classes("w-full")

            async def submit() -> None:
                moved = await calls.submit(
                    departments.rename, errors=errors, organization_id=chosen.id, name=name, new_name=new_name.value
                )
                if moved is calls.REFUSED:
                    return
                ui.notify(f"Renamed: {moved} member{'s' if moved != 1 else ''} moved.", type="positive")
                table.refresh()
                dialog.close()

            with ui.row().classes("w-full justify-end gap-2"):
                ui.button("Cancel", on_click=dialog.close).props("flat")
                ui.button("Rename", on_click=submit).props("unelevated color=primary").mark("rename-submit")
        dialog.open()

    async def merge(source: str, names: list[str]) -> None:
        others = {n: n for n in names if n != source}
        if not others:
            ui.notify("There is no other department to merge into.", type="info")
            return
        errors = FieldErrors()
        with dialog_(root) as dialog, ui.card().classes("min-w-[420px]").mark("merge-dialog"):
            Heading(f"Merge “{source}” into…", level=2).classes("text-h6")
            target = errors.add("target", ui.select(others, label="Department").props("outlined dense")).classes(
                "w-full"
            )

            async def submit() -> None:
                if not target.value:
                    errors.show({"target": "choose a department"})
                    return
                if not await confirm(
                    f"Move every member of “{source}” into “{target.value}”? “{source}” will be gone.", action="Merge"
                ):
                    return
                moved = await calls.submit(
                    departments.merge, errors=errors, organization_id=chosen.id, source=source, target=target.value
                )
                if moved is calls.REFUSED:
                    return
                ui.notify(f"Merged: {moved} member{'s' if moved != 1 else ''} moved.", type="positive")
                table.refresh()
                dialog.close()

            with ui.row().classes("w-full justify-end gap-2"):
                ui.button("Cancel", on_click=dialog.close).props("flat")
                ui.button("Merge", on_click=submit).props("unelevated color=negative").mark("merge-submit")
        dialog.open()

    await table()
