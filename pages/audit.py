"""The audit log: every change made in the console, newest first — searchable, sortable, and filtered
by kind of record, record, who, what and when, all kept in the URL."""

from __future__ import annotations

import json

from console.auth import Actor, Permission
from console.services import audit
from console.services.listing import ListQuery
from models import AuditAction, AuditEntity
from pages.access import secured_page
from pages.components import calls
from pages.components.listing import Filter, list_view
from pages.layout import frame

COLUMNS = [
    {"name": "created_at", "label": "When", "field": "created_at", "align": "left", "sortable": True},
    {"name": "actor", "label": "Who", "field": "actor", "align": "left", "sortable": True},
    {"name": "action", "label": "Action", "field": "action", "align": "left", "sortable": True},
    {"name": "entity_type", "label": "Record", "field": "entity", "align": "left", "sortable": True},
    {
        "name": "change",
        "label": "Change",
        "field": "change",
        "align": "left",
        "classes": "font-mono text-xs",
        "style": "max-width: 520px; white-space: normal; word-break: break-word",
    },
]
# The record cell links to the list of that record's own entries (a link built from our own values).
RECORD_SLOT = (
    '<q-td :props="props"><a class="text-primary" '
    ":href=\"'/audit?entity_type=' + encodeURIComponent(props.row.entity_type) + '&entity_id=' + "
    'encodeURIComponent(props.row.entity_id)">{{ props.value }}</a></q-td>'
)


def _change(before: dict | None, after: dict | None) -> str:
    if before is None and after is None:
        return ""
    if before is None:
        return json.dumps(after, ensure_ascii=False)[:400]
    parts = [f"{k}: {json.dumps(before.get(k))} → {json.dumps((after or {}).get(k))}" for k in sorted(before)]
    return "; ".join(parts)[:400]


def _label(enum_cls, value: str) -> str:  # noqa: ANN001
    try:
        return enum_cls(value).label
    except ValueError:  # written before the vocabulary existed
        return value


@secured_page("/audit", title="Audit log", permission=Permission.view_audit_log)
async def audit_page(actor: Actor):
    async def fetch(query: ListQuery):
        page = await calls.read(audit.list_, query=query)
        return [
            {
                "id": str(e.id),
                "created_at": e.created_at.strftime("%Y-%m-%d %H:%M:%S"),
                "actor": e.actor_label,
                "action": _label(AuditAction, e.action),
                "entity": f"{_label(AuditEntity, e.entity_type)} {e.entity_id or ''}".strip(),
                "entity_type": e.entity_type,
                "entity_id": e.entity_id or "",
                "change": _change(e.before, e.after) + (f" — “{e.comment}”" if e.comment else ""),
            }
            for e in page.rows
        ], page

    with frame(actor, "Audit log", breadcrumbs=[("Audit log", None)]):
        await list_view(
            columns=COLUMNS,
            fetch=fetch,
            marker="audit",
            noun=("entry", "entries"),
            path="/audit",
            sort="created_at",
            descending=True,
            sortable=list(audit.SORTABLE),
            keyset=True,
            search_placeholder="Search who, what, record, comment…",
            filters=[
                Filter("entity_type", "Kind of record", {e.value: e.label for e in AuditEntity}, width="w-48"),
                Filter("action", "Action", {a.value: a.label for a in AuditAction}, width="w-56"),
                Filter("actor", "Who (email or name)", kind="text", width="w-48"),
                Filter("entity_id", "Record id", kind="text", width="w-48"),
                Filter("from", "From", kind="date", width="w-40"),
                Filter("to", "To", kind="date", width="w-40"),
            ],
            slots={"body-cell-entity_type": RECORD_SLOT},
            empty_message="No changes match. Every change made in the console appears here; clear the filters "
            "to see them all.",
        )
