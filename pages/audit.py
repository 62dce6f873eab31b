"""The audit log: every change made in the console, newest first, filterable by kind of record."""

from __future__ import annotations

import json

from nicegui import ui

from console.auth import Actor, Permission
from console.services import audit
from pages.access import secured_page
from pages.components import calls
from pages.components.table import ServerTable, TableRequest
from pages.layout import frame

ENTITY_TYPES = ["simulation", "module", "media", "user", "organization", "api_key", "assignment"]
COLUMNS = [
    {"name": "created_at", "label": "When", "field": "created_at", "align": "left"},
    {"name": "actor", "label": "Who", "field": "actor", "align": "left"},
    {"name": "action", "label": "Action", "field": "action", "align": "left"},
    {"name": "entity", "label": "Record", "field": "entity", "align": "left"},
    {
        "name": "change",
        "label": "Change",
        "field": "change",
        "align": "left",
        "classes": "font-mono text-xs",
        "style": "max-width: 520px; white-space: normal; word-break: break-word",
    },
]


def _change(before: dict | None, after: dict | None) -> str:
    if before is None and after is None:
        return ""
    if before is None:
        return json.dumps(after, ensure_ascii=False)[:400]
    parts = [f"{k}: {json.dumps(before.get(k))} → {json.dumps((after or {}).get(k))}" for k in sorted(before)]
    return "; ".join(parts)[:400]


@secured_page("/audit", title="Audit log", permission=Permission.view_audit_log)
async def audit_page(actor: Actor, entity_type: str = ""):
    filters = {"entity_type": entity_type if entity_type in ENTITY_TYPES else ""}

    async def fetch(request: TableRequest):
        page = await calls.read(
            audit.list_,
            entity_type=filters["entity_type"] or None,
            offset=request.offset,
            limit=request.limit,
        )
        return [
            {
                "id": str(e.id),
                "created_at": e.created_at.strftime("%Y-%m-%d %H:%M:%S"),
                "actor": e.actor_label,
                "action": e.action,
                "entity": f"{e.entity_type} {e.entity_id or ''}".strip(),
                "change": _change(e.before, e.after) + (f" — “{e.comment}”" if e.comment else ""),
            }
            for e in page.rows
        ], page.total

    async def on_filter(value: str) -> None:
        filters["entity_type"] = value
        ui.navigate.history.replace(f"/audit?entity_type={value}" if value else "/audit")
        await table.reload(first_page=True)

    with frame(actor, "Audit log", breadcrumbs=[("Audit log", None)]):
        ui.select(
            {"": "Every kind of record", **{t: t.replace("_", " ") for t in ENTITY_TYPES}},
            value=filters["entity_type"],
            on_change=lambda e: on_filter(e.value),
        ).props("dense outlined options-dense").classes("w-64").mark("audit-filter")
        table = ServerTable(
            columns=COLUMNS,
            fetch=fetch,
            sort="created_at",
            descending=True,
            empty_message="No changes recorded yet. Every change made in the console appears here.",
        )
        table.table.mark("audit-table")
        await table.reload()
