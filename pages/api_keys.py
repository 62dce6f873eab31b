"""API keys: create (the key shown once), list, revoke, rotate; test keys and their test sessions.

Platform admins manage every key; studio creators the test keys of the simulations they author
(api_keys.readable), which is all the page shows and offers them.

The list pages, sorts and searches on the server, with its state in the URL (the simulations list's
pattern). Row actions are emitted by the table's action slot as `revoke` / `rotate` events.
"""

from __future__ import annotations

import uuid

from nicegui import ui

from console.auth import Actor, Permission
from console.config import get_settings
from console.errors import NotFound
from console.live import HUB, ChangeKind, SessionChange
from console.services import api_keys, rejections
from console.services.listing import ListQuery
from console.services.sessions import test_data
from pages.access import secured_page
from pages.components import calls
from pages.components.dialogs import confirm
from pages.components.forms import FieldErrors
from pages.components.listing import BulkAction, Filter, RowAction, list_view
from pages.components.pickers import SearchSelect
from pages.layout import frame

# At 1400 px (a 1100 px table beside the navigation) every column shows without scrolling: cells wrap
# (Quasar's cells do not by default), a key's prefix sits under its name, dates break into a date and
# a time line, and the row actions are icon buttons (RowAction's tip).
_WRAP = "white-space: normal"
_DATE = f"{_WRAP}; min-width: 5.5rem; max-width: 6.5rem"
COLUMNS = [
    {"name": "name", "label": "Name", "field": "name", "sortable": True, "align": "left",
     "style": f"{_WRAP}; min-width: 8rem; max-width: 14rem; overflow-wrap: anywhere"},
    {"name": "binding", "label": "Bound to", "field": "binding", "align": "left",
     "style": f"{_WRAP}; min-width: 7rem; max-width: 12rem"},
    {"name": "scopes", "label": "Scopes", "field": "scopes", "align": "left", "style": _WRAP},
    {"name": "status", "label": "Status", "field": "status", "align": "left", "style": _WRAP},
    {"name": "created_at", "label": "Created", "field": "created_at", "sortable": True, "align": "left",
     "style": _DATE},
    {"name": "last_used_at", "label": "Last seen", "field": "last_used_at", "sortable": True, "align": "left",
     "style": _DATE},
    {"name": "last_error_at", "label": "Last error", "field": "last_error_at", "sortable": True, "align": "left",
     "style": f"{_WRAP}; min-width: 7rem"},
    {"name": "expires_at", "label": "Expires", "field": "expires_at", "sortable": True, "align": "left",
     "style": _DATE},
]  # fmt: skip
NAME_SLOT = (  # a test key wears its badge beside its name; its prefix (what identifies it) under it
    '<q-td :props="props">{{ props.value }}'
    '<q-badge v-if="props.row.test" color="purple-9" label="Test" class="q-ml-xs" />'
    '<div class="text-caption text-grey-8" style="font-family: monospace; white-space: nowrap">'
    "{{ props.row.key_prefix }}</div></q-td>"
)
SCOPES_SLOT = (  # one scope a line: "game:write, game:read" in one line was the widest cell of a row
    '<q-td :props="props"><div v-for="scope in props.row.scope_list" :key="scope">{{ scope }}</div></q-td>'
)
LAST_ERROR_SLOT = (
    '<q-td :props="props"><a v-if="props.row.last_error" class="text-primary" :href="props.row.inbox">'
    "{{ props.value }}</a><span v-else>—</span>"
    '<div v-if="props.row.last_error" class="text-caption text-grey-8 ellipsis" style="max-width: 9rem"'
    ' :title="props.row.last_error">{{ props.row.last_error }}</div></q-td>'
)
STATUS_SLOT = (
    '<q-td :props="props"><q-badge :label="props.value" '
    ":color=\"{active: 'positive', revoked: 'grey-7', expired: 'orange'}[props.value]\" /></q-td>"
)


def _when(value) -> str:  # noqa: ANN001
    return value.strftime("%Y-%m-%d %H:%M") if value else "—"


def _binding(row: api_keys.ApiKeyRow) -> str:
    parts = []
    if row.simulation_id:
        parts.append(f"Simulation: {row.simulation_title or row.simulation_id}")
    if row.organization_id:
        parts.append(f"Organization: {row.organization_name or row.organization_id}")
    return " · ".join(parts) or "Any"


@secured_page("/api-keys", title="API keys", permission=Permission.manage_test_keys)
async def api_keys_page(actor: Actor):
    admin = actor.can(Permission.manage_api_keys)  # else a studio creator: test keys of their simulations

    async def fetch(query: ListQuery):
        result = await calls.read(api_keys.list_, query=query)
        return [
            {
                "id": str(r.id),
                "name": r.name,
                "key_prefix": f"{r.key_prefix}…",
                "binding": _binding(r),
                "scopes": ", ".join(r.scopes),
                "scope_list": list(r.scopes),
                "status": r.status,
                "created_at": _when(r.created_at),
                "last_used_at": _when(r.last_used_at),
                "expires_at": _when(r.expires_at) if r.expires_at else "never",
                "test": r.is_test,
                "last_error_at": _when(r.last_error_at),
                "last_error": r.last_error or "",
                "inbox": f"/api-keys/{r.id}/rejections",
                "kind": "Test" if r.is_test else "Live",
            }
            for r in result.rows
        ], result

    def show_key(created: api_keys.CreatedKey, title: str) -> None:
        """The full key, once: with a copy button and a warning that it will not be shown again."""
        with (
            ui.dialog().props('persistent aria-label="The new API key"') as dialog,
            ui.card().classes("min-w-[560px]").mark("key-created"),
        ):
            ui.label(title).classes("text-h6")
            with ui.row().classes("items-center gap-2 text-deep-orange-10"):
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
            ui.label(f"Prefix {created.api_key.key_prefix}… identifies it in the list.").classes("text-grey-8")
            with ui.row().classes("w-full justify-end"):
                ui.button("I have copied it", on_click=dialog.close).props("flat").mark("key-done")
        dialog.open()

    async def open_create() -> None:
        options = await calls.read(api_keys.binding_options)
        errors = FieldErrors()
        with (
            ui.dialog().props('aria-label="New API key"') as dialog,
            ui.card().classes("min-w-[520px]").mark("create-dialog"),
        ):
            ui.label("New API key").classes("text-h6")
            name = errors.add(
                "name", ui.input("Name *").props("outlined dense maxlength=255 autofocus").classes("w-full")
            )

            async def matching(kind: str, text: str) -> dict[str, str]:
                return (await calls.read(api_keys.binding_options, search=text))[kind]

            # A studio creator's key is bound to one of their simulations (the service refuses "any"), so
            # they are offered no "Any simulation"; with several, they choose (none is chosen for them).
            own = options["simulations"]
            simulation = errors.add(
                "simulation_id",
                SearchSelect(
                    "Simulation" if admin else "Simulation *",
                    lambda t: matching("simulations", t),
                    none_label="Any simulation" if admin else None,
                )
                .props("outlined dense options-dense")
                .classes("w-full"),
            )
            organization = errors.add(
                "organization_id",
                SearchSelect("Organization", lambda t: matching("organizations", t), none_label="Any organization")
                .props("outlined dense options-dense")
                .classes("w-full"),
            )
            simulation.set_options(
                {**({"": "Any simulation"} if admin else {}), **own},
                value="" if admin else (next(iter(own)) if len(own) == 1 else None),
            )
            organization.set_options({"": "Any organization", **options["organizations"]}, value="")
            organization.set_visibility(admin)
            test = errors.add(
                "test",
                ui.checkbox("Test key (sk_sim_test_…)", value=not admin).mark("key-test"),
            )
            test.set_enabled(admin)  # a studio creator's keys are test keys
            ui.label(
                "A test key's sessions count in no figure, report or assignment and can be deleted; bound to a "
                "simulation, it also plays its unpublished (draft or staged) modules."
            ).classes("text-caption text-grey-8")
            with ui.row().classes("items-center gap-4"):
                write = ui.checkbox("game:write (sessions, events)", value=True).mark("scope-write")
                read = ui.checkbox("game:read (modules, results)", value=True).mark("scope-read")
            scopes_error = errors.add("scopes", ui.label("").classes("text-negative text-caption"))
            expires = errors.add(
                "expires_days",
                ui.number("Expires after (days, empty = never)", min=1, max=3650, precision=0).props("outlined dense"),
            )

            async def submit() -> None:
                scopes_error.text = ""
                data = {
                    "name": name.value or "",
                    "simulation_id": simulation.value or None,
                    "organization_id": organization.value or None,
                    "scopes": [s for s, on in (("game:write", write.value), ("game:read", read.value)) if on],
                    "expires_days": int(expires.value) if expires.value not in (None, "") else None,
                    "test": bool(test.value),
                }
                created = await calls.submit(api_keys.create, errors=errors, data=data)
                if created is calls.REFUSED:
                    scopes_error.text = errors.last.get("scopes", "")
                    return
                dialog.close()
                show_key(created, f"API key “{created.api_key.name}” created")
                await view.reload()

            with ui.row().classes("w-full justify-end gap-2"):
                ui.button("Cancel", on_click=dialog.close).props("flat")
                ui.button("Create key", icon="key", on_click=submit).props("unelevated color=primary").mark(
                    "create-submit"
                )
        dialog.open()

    async def on_revoke(row: dict) -> None:
        if not await confirm(
            f"Revoke “{row['name']}” ({row['key_prefix']})? Engines using it are refused from the next request.",
            action="Revoke",
        ):
            return
        if await calls.submit(api_keys.revoke, key_id=uuid.UUID(row["id"])) is calls.REFUSED:
            return
        ui.notify(f"Revoked {row['key_prefix']}.", type="positive")
        await view.reload()

    async def on_rotate(row: dict) -> None:
        if not await confirm(
            f"Create a replacement for “{row['name']}”? The old key keeps working until you revoke it.",
            action="Rotate",
            danger=False,
        ):
            return
        created = await calls.submit(api_keys.rotate, key_id=uuid.UUID(row["id"]))
        if created is calls.REFUSED:
            return
        show_key(created, f"Replacement for “{row['name']}”")
        await view.reload()

    async def on_inbox(row: dict) -> None:
        ui.navigate.to(row["inbox"])

    async def on_delete_test_sessions(row: dict) -> None:
        key_id = uuid.UUID(row["id"])
        count = await calls.read(test_data.test_session_count, key_id=key_id)
        if not count:
            ui.notify(f"{row['key_prefix']} has started no test session.", type="info")
            return
        if not await confirm(
            f"Delete the {count} test session{'s' if count != 1 else ''} started with “{row['name']}” "
            f"({row['key_prefix']}), with their events? This cannot be undone.",
            action="Delete",
        ):
            return
        deleted = await calls.submit(test_data.delete_key_sessions, key_id=key_id)
        if deleted is calls.REFUSED:
            return
        ui.notify(f"Deleted {deleted} test session{'s' if deleted != 1 else ''}.", type="positive")

    async def on_bulk_revoke(rows: list[dict]) -> None:
        active = [r for r in rows if r["status"] == "active"]
        if not active:
            ui.notify("None of the selected keys is active.", type="info")
            return
        names = ", ".join(f"“{r['name']}”" for r in active[:5])
        if len(active) > 5:
            names += f" and {len(active) - 5} more"
        if not await confirm(
            f"Revoke {len(active)} key{'s' if len(active) != 1 else ''} ({names})? "
            "Engines using them are refused from the next request.",
            action="Revoke",
        ):
            return
        if await calls.submit(api_keys.revoke_many, key_ids=[uuid.UUID(r["id"]) for r in active]) is calls.REFUSED:
            return
        ui.notify(f"Revoked {len(active)} key{'s' if len(active) != 1 else ''}.", type="positive")
        view.clear_selection()
        await view.reload()

    # Icon buttons (each named by its label and the key's name, with a tip): four labelled buttons were
    # the widest column of the list, and clipped at 1920 px.
    active = "props.row.status === 'active'"
    row_actions = [
        RowAction("inbox", "Refusals", "report", on_inbox, tip="Refused requests"),
        RowAction("rotate", "Rotate", "autorenew", on_rotate, when=active, tip="Rotate: make a replacement key"),
        RowAction("revoke", "Revoke", "block", on_revoke, when=active, color="negative", tip="Revoke"),
        RowAction(
            "delete_tests", "Delete tests", "delete_sweep", on_delete_test_sessions, when="props.row.test",
            color="negative", tip="Delete tests: the test sessions this key started",
        ),
    ]  # fmt: skip
    with frame(actor, "API keys", breadcrumbs=[("API keys", None)]):
        with ui.row().classes("items-center gap-2 text-grey-8"):
            ui.label(
                "Keys game engines use for the engine API (/api/v1). Only a hash is stored: a key is shown once, "
                "at creation."
            )
            ui.link("How engines use them", "/developers").mark("developers-link")
        view = await list_view(
            columns=COLUMNS,
            fetch=fetch,
            marker="key",
            noun=("key", "keys"),
            path="/api-keys",
            sort="created_at",
            descending=True,
            sortable=list(api_keys.SORTABLE),
            search_placeholder="Search name or prefix…",
            filters=[
                *([Filter("test", "Kind", {"0": "Live", "1": "Test"}, width="w-32")] if admin else []),
                Filter("revoked", "Show revoked", kind="switch", default="1"),
            ],
            slots={
                "body-cell-status": STATUS_SLOT,
                "body-cell-name": NAME_SLOT,
                "body-cell-last_error_at": LAST_ERROR_SLOT,
                "body-cell-scopes": SCOPES_SLOT,
            },
            row_actions=row_actions,
            bulk_actions=[BulkAction("revoke", "Revoke selected", "block", on_bulk_revoke, color="negative")],
            empty_message="No API keys yet. Create one for each engine or build server."
            if admin
            else "No test keys yet. Create one to test a build of your simulation before it is published.",
            on_new=open_create,
            new_label="New API key",
        )


_TOP = "vertical-align: top"  # a row's cells start level, however tall its longest one
INBOX_COLUMNS = [
    {"name": "received_at", "label": "When (UTC)", "field": "received_at", "sortable": True, "align": "left",
     "style": _TOP},
    {"name": "status", "label": "Status", "field": "status", "sortable": True, "align": "left", "style": _TOP},
    {"name": "request", "label": "Request", "field": "request", "align": "left",
     "style": f"{_TOP}; white-space: normal; overflow-wrap: anywhere; min-width: 8rem; max-width: 14rem"},
    {"name": "error", "label": "Error", "field": "error", "align": "left", "style": _TOP},
    {"name": "excerpt", "label": "Offending part", "field": "excerpt", "align": "left",
     "style": f"{_TOP}; width: 20rem"},
    {"name": "session", "label": "Session", "field": "session", "align": "left",
     "style": f"{_TOP}; white-space: normal; overflow-wrap: anywhere; max-width: 10rem"},
]  # fmt: skip
# The excerpt (up to api_rejection_excerpt_bytes, 1 KiB) in a box of at most six lines that scrolls:
# unbounded, one 1 KiB token wrapped in a narrow column made a row taller than the screen. A Tab stop
# (tabindex) so a keyboard reaches the rest too.
INBOX_EXCERPT_SLOT = (
    '<q-td :props="props"><pre v-if="props.value" tabindex="0" '
    'class="text-caption q-ma-none q-pa-xs bg-grey-2 rounded-borders" '
    'style="white-space: pre-wrap; overflow-wrap: anywhere; word-break: break-all; width: 20rem; '
    'max-width: 20rem; max-height: 7.5rem; overflow-y: auto">{{ props.value }}</pre>'
    '<span v-else class="text-grey-8">—</span>'
    '<div v-if="props.value && props.value.length > 300" class="text-caption text-grey-8">'
    "{{ props.value.length }} characters: scroll for the rest</div></q-td>"
)
INBOX_ERROR_SLOT = (
    '<q-td :props="props"><span class="text-weight-medium">{{ props.row.code }}</span>'
    '<div class="text-caption" style="max-width: 18rem; white-space: normal">{{ props.row.message }}</div>'
    '<div class="text-caption text-grey-8" style="max-width: 18rem; white-space: normal; overflow-wrap: anywhere">'
    "{{ props.row.details }}</div></q-td>"
)
INBOX_STATUSES = (400, 401, 403, 404, 409, 413, 415, 422, 429)
# How often the page looks whether the LISTEN fan-out told it of a new refusal (then it re-reads once).
INBOX_CHECK_SECONDS = 1.0


@secured_page("/api-keys/{key_id}/rejections", title="Rejected requests", permission=Permission.manage_test_keys)
async def rejections_page(actor: Actor, key_id: str):
    try:
        wanted = uuid.UUID(key_id)
        name, prefix, is_test = await calls.read(api_keys.label, key_id=wanted)
    except (ValueError, NotFound):
        with frame(actor, "Rejected requests", breadcrumbs=[("API keys", "/api-keys"), ("Rejected requests", None)]):
            ui.label("API key not found, or not one you can see.").classes("text-grey-8").mark("inbox-not-found")
        return

    async def fetch(query: ListQuery):
        found = await calls.read(rejections.list_, key_id=wanted, query=query)
        return [
            {
                "id": str(r.id),
                "received_at": r.received_at.strftime("%Y-%m-%d %H:%M:%S"),
                "status": r.status,
                "request": f"{r.method} {r.path}",
                "code": r.code,
                "message": r.message,
                "error": r.code,
                "details": "; ".join(f"{k}: {v}" for k, v in (r.details or {}).items())[:300],
                "excerpt": r.excerpt,
                "session": r.session_ref or "—",
            }
            for r in found.rows
        ], found

    title = f"Rejected requests · {name}"
    with frame(actor, title, breadcrumbs=[("API keys", "/api-keys"), (f"{name} ({prefix}…)", None)]):
        with ui.row().classes("items-center gap-2 text-grey-8"):
            if is_test:
                ui.badge("Test").props("color=purple-9")
            ui.label(
                f"What the engine API refused for {prefix}…, newest first: the newest "
                f"{get_settings().api_rejections_per_key} of the last {get_settings().api_rejections_days} days. "
                "New ones appear as they happen."
            )
        per_second = get_settings().api_rejections_per_key_second
        ui.label(
            f"Each server process keeps at most {per_second} refusal{'s' if per_second != 1 else ''} a second "
            "for one key: past that (or under heavy load), a refused request is answered but not listed here."
        ).classes("text-caption text-grey-8").mark("inbox-rate-note")
        view = await list_view(
            columns=INBOX_COLUMNS,
            fetch=fetch,
            marker="rejection",
            noun=("refused request", "refused requests"),
            path=f"/api-keys/{wanted}/rejections",
            sort="received_at",
            descending=True,
            sortable=["received_at", "status"],
            search_placeholder="Search code, message, body, session…",
            filters=[
                Filter("status", "Status", {str(s): str(s) for s in (400, 401, 403, 404, 409, 413, 415, 422, 429)})
            ],
            slots={"body-cell-excerpt": INBOX_EXCERPT_SLOT, "body-cell-error": INBOX_ERROR_SLOT},
            empty_message="No refused request kept for this key.",
        )
    follow_refusals(wanted, view)


def follow_refusals(key_id: uuid.UUID, view) -> None:  # noqa: ANN001
    """LIVE UPDATES: the process's LISTEN fan-out (console/live) tells of each refusal stored for any key;
    this page re-reads (through calls.read, which checks the viewer again) when one was this key's."""
    heard = {"new": False}

    def on_changes(changes: list[SessionChange]) -> None:
        if any(c.kind is ChangeKind.rejected and c.api_key_id == key_id for c in changes):
            heard["new"] = True

    unsubscribe = HUB.subscribe(on_changes)
    ui.context.client.on_delete(unsubscribe)

    async def check() -> None:
        if heard["new"]:
            heard["new"] = False
            await view.reload()

    ui.timer(INBOX_CHECK_SECONDS, check)
