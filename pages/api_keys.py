"""API keys (platform admins): create (the key shown once), list, revoke, rotate.

The list pages, sorts and searches on the server, with its state in the URL (the simulations list's
pattern). Row actions are emitted by the table's action slot as `revoke` / `rotate` events.
"""

from __future__ import annotations

import uuid
from urllib.parse import urlencode

from nicegui import ui

from console.auth import Actor, Permission
from console.errors import DomainError, ValidationFailed
from console.services import api_keys
from pages.access import secured_page
from pages.components import calls
from pages.components.dialogs import confirm
from pages.components.forms import FieldErrors
from pages.components.table import ServerTable, TableRequest
from pages.layout import frame

COLUMNS = [
    {"name": "name", "label": "Name", "field": "name", "sortable": True, "align": "left"},
    {"name": "key_prefix", "label": "Key", "field": "key_prefix", "sortable": True, "align": "left"},
    {"name": "binding", "label": "Bound to", "field": "binding", "align": "left"},
    {"name": "scopes", "label": "Scopes", "field": "scopes", "align": "left"},
    {"name": "status", "label": "Status", "field": "status", "align": "left"},
    {"name": "created_at", "label": "Created", "field": "created_at", "sortable": True, "align": "left"},
    {"name": "last_used_at", "label": "Last used", "field": "last_used_at", "sortable": True, "align": "left"},
    {"name": "expires_at", "label": "Expires", "field": "expires_at", "sortable": True, "align": "left"},
    {"name": "actions", "label": "", "field": "id", "align": "right"},
]
STATUS_SLOT = (
    '<q-td :props="props"><q-badge :label="props.value" '
    ":color=\"{active: 'positive', revoked: 'grey-7', expired: 'orange'}[props.value]\" /></q-td>"
)
ACTIONS_SLOT = """<q-td :props="props">
  <template v-if="props.row.status === 'active'">
    <q-btn flat dense no-caps size="sm" icon="autorenew" label="Rotate"
           @click="() => $parent.$emit('rotate', props.row)" />
    <q-btn flat dense no-caps size="sm" color="negative" icon="block" label="Revoke"
           @click="() => $parent.$emit('revoke', props.row)" />
  </template>
</q-td>"""


def _when(value) -> str:  # noqa: ANN001
    return value.strftime("%Y-%m-%d %H:%M") if value else "—"


def _binding(row: api_keys.ApiKeyRow) -> str:
    parts = []
    if row.simulation_id:
        parts.append(f"Simulation: {row.simulation_title or row.simulation_id}")
    if row.organization_id:
        parts.append(f"Organization: {row.organization_name or row.organization_id}")
    return " · ".join(parts) or "Any"


def _int(value: str | None, default: int) -> int:
    try:
        return int(value) if value is not None else default
    except ValueError:
        return default


@secured_page("/api-keys", title="API keys", permission=Permission.manage_api_keys)
async def api_keys_page(
    actor: Actor,
    search: str = "",
    revoked: str = "1",
    sort: str = "created_at",
    desc: str = "1",
    page: str = "1",
    size: str = "25",
):
    state = {"search": search[:200], "include_inactive": revoked != "0"}

    async def fetch(request: TableRequest):
        result = await calls.read(
            api_keys.list_,
            search=state["search"],
            include_inactive=state["include_inactive"],
            sort=request.sort if request.sort in api_keys.SORTABLE else "created_at",
            descending=request.descending,
            offset=request.offset,
            limit=request.limit,
        )
        count_label.text = f"{result.total:,} key{'s' if result.total != 1 else ''}"
        return [
            {
                "id": str(r.id),
                "name": r.name,
                "key_prefix": f"{r.key_prefix}…",
                "binding": _binding(r),
                "scopes": ", ".join(r.scopes),
                "status": r.status,
                "created_at": _when(r.created_at),
                "last_used_at": _when(r.last_used_at),
                "expires_at": _when(r.expires_at) if r.expires_at else "never",
            }
            for r in result.rows
        ], result.total

    def sync_url() -> None:
        pagination = table.pagination
        params = {
            "search": state["search"] or None,
            "revoked": "1" if state["include_inactive"] else "0",
            "sort": pagination.get("sortBy") or "created_at",
            "desc": "1" if pagination.get("descending") else "0",
            "page": pagination.get("page", 1),
            "size": pagination.get("rowsPerPage", 25),
        }
        ui.navigate.history.replace(f"/api-keys?{urlencode({k: v for k, v in params.items() if v is not None})}")

    async def apply_search(value: str | None) -> None:
        state["search"] = value or ""
        await table.reload(first_page=True)
        sync_url()

    async def apply_inactive(value: bool) -> None:
        state["include_inactive"] = bool(value)
        await table.reload(first_page=True)
        sync_url()

    def show_key(created: api_keys.CreatedKey, title: str) -> None:
        """The full key, once: with a copy button and a warning that it will not be shown again."""
        with ui.dialog().props("persistent") as dialog, ui.card().classes("min-w-[560px]").mark("key-created"):
            ui.label(title).classes("text-h6")
            with ui.row().classes("items-center gap-2 text-orange-9"):
                ui.icon("warning")
                ui.label("Copy this key now. It is shown only once and cannot be recovered.").mark("key-warning")
            with ui.row().classes("w-full items-center no-wrap gap-2"):
                ui.input(value=created.key).props("readonly outlined dense input-class=font-mono").classes(
                    "flex-grow"
                ).mark("new-key")
                ui.button(
                    "Copy",
                    icon="content_copy",
                    on_click=lambda: (ui.clipboard.write(created.key), ui.notify("Copied.")),
                ).props("unelevated color=primary").mark("copy-key")
            ui.label(f"Prefix {created.api_key.key_prefix}… identifies it in the list.").classes("text-grey-7")
            with ui.row().classes("w-full justify-end"):
                ui.button("I have copied it", on_click=dialog.close).props("flat").mark("key-done")
        dialog.open()

    async def open_create() -> None:
        options = await calls.read(api_keys.binding_options)
        errors = FieldErrors()
        with ui.dialog() as dialog, ui.card().classes("min-w-[520px]").mark("create-dialog"):
            ui.label("New API key").classes("text-h6")
            name = errors.add(
                "name", ui.input("Name *").props("outlined dense maxlength=255 autofocus").classes("w-full")
            )
            simulation = errors.add(
                "simulation_id",
                ui.select({"": "Any simulation", **options["simulations"]}, value="", label="Simulation")
                .props("outlined dense options-dense")
                .classes("w-full"),
            )
            organization = errors.add(
                "organization_id",
                ui.select({"": "Any organization", **options["organizations"]}, value="", label="Organization")
                .props("outlined dense options-dense")
                .classes("w-full"),
            )
            with ui.row().classes("items-center gap-4"):
                write = ui.checkbox("game:write (sessions, events)", value=True).mark("scope-write")
                read = ui.checkbox("game:read (modules, results)", value=False).mark("scope-read")
            scopes_error = errors.add("scopes", ui.label("").classes("text-negative text-caption"))
            expires = errors.add(
                "expires_days",
                ui.number("Expires after (days, empty = never)", min=1, max=3650, precision=0).props("outlined dense"),
            )

            async def submit() -> None:
                errors.clear()
                scopes_error.text = ""
                data = {
                    "name": name.value or "",
                    "simulation_id": simulation.value or None,
                    "organization_id": organization.value or None,
                    "scopes": [s for s, on in (("game:write", write.value), ("game:read", read.value)) if on],
                    "expires_days": int(expires.value) if expires.value not in (None, "") else None,
                }
                try:
                    created = await calls.write(api_keys.create, data=data)
                except ValidationFailed as exc:
                    errors.show(exc.field_errors)
                    scopes_error.text = exc.field_errors.get("scopes", "")
                    ui.notify(exc.message, type="warning")
                    return
                except DomainError as exc:
                    calls.notify_error(exc)
                    return
                dialog.close()
                show_key(created, f"API key “{created.api_key.name}” created")
                await table.reload()

            with ui.row().classes("w-full justify-end gap-2"):
                ui.button("Cancel", on_click=dialog.close).props("flat")
                ui.button("Create key", icon="key", on_click=submit).props("unelevated color=primary").mark(
                    "create-submit"
                )
        dialog.open()

    async def on_revoke(e) -> None:  # noqa: ANN001
        row = e.args
        if not await confirm(
            f"Revoke “{row['name']}” ({row['key_prefix']})? Engines using it are refused from the next request.",
            action="Revoke",
        ):
            return
        try:
            await calls.write(api_keys.revoke, key_id=uuid.UUID(row["id"]))
        except DomainError as exc:
            calls.notify_error(exc)
            return
        ui.notify(f"Revoked {row['key_prefix']}.", type="positive")
        await table.reload()

    async def on_rotate(e) -> None:  # noqa: ANN001
        row = e.args
        if not await confirm(
            f"Create a replacement for “{row['name']}”? The old key keeps working until you revoke it.",
            action="Rotate",
            danger=False,
        ):
            return
        try:
            created = await calls.write(api_keys.rotate, key_id=uuid.UUID(row["id"]))
        except DomainError as exc:
            calls.notify_error(exc)
            return
        show_key(created, f"Replacement for “{row['name']}”")
        await table.reload()

    with frame(actor, "API keys", breadcrumbs=[("API keys", None)]):
        with ui.row().classes("items-center gap-2 text-grey-7"):
            ui.label(
                "Keys game engines use for the engine API (/api/v1). Only a hash is stored: a key is shown once, "
                "at creation."
            )
            ui.link("How engines use them", "/developers").mark("developers-link")
        with ui.row().classes("w-full items-center gap-2"):
            search_box = (
                ui.input(placeholder="Search name or prefix…  ( / )", value=state["search"])
                .props("dense outlined clearable debounce=300")
                .classes("w-80")
                .mark("key-search")
            )
            search_box.on_value_change(lambda e: apply_search(e.value))
            ui.switch(
                "Show revoked", value=state["include_inactive"], on_change=lambda e: apply_inactive(e.value)
            ).mark("show-revoked")
            ui.space()
            count_label = ui.label("").classes("text-grey-7").mark("key-count")
            ui.button("New API key", icon="add", on_click=open_create).props("unelevated color=primary").mark("key-new")
        table = ServerTable(
            columns=COLUMNS,
            fetch=fetch,
            sort=sort if sort in api_keys.SORTABLE else "created_at",
            descending=desc != "0",
            page=_int(page, 1),
            page_size=_int(size, 25),
            on_change=sync_url,
            empty_message="No API keys yet. Create one for each engine or build server.",
        )
        table.table.add_slot("body-cell-status", STATUS_SLOT)
        table.table.add_slot("body-cell-actions", ACTIONS_SLOT)
        table.table.on("revoke", on_revoke)
        table.table.on("rotate", on_rotate)
        table.table.mark("keys-table")
        await table.reload()

        async def on_key(e) -> None:  # noqa: ANN001
            if not e.action.keydown or e.modifiers.ctrl or e.modifiers.meta or e.modifiers.alt:
                return
            if e.key == "/":
                search_box.run_method("focus")
            elif e.key == "n":
                await open_create()

        ui.keyboard(on_key=on_key, ignore=["input", "select", "button", "textarea"])
