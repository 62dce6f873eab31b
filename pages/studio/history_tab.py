"""The history tab: the simulation's audit trail, newest first."""

from __future__ import annotations

import json

from console.auth import Actor
from console.services import simulations
from console.services.listing import ListQuery
from models import Simulation
from pages.components import calls
from pages.components.listing import list_view

HISTORY_COLUMNS = [
    {"name": "created_at", "label": "When", "field": "created_at", "align": "left", "sortable": True},
    {"name": "actor", "label": "Who", "field": "actor", "align": "left", "sortable": True},
    {"name": "action", "label": "What", "field": "action", "align": "left", "sortable": True},
    {
        "name": "changes",
        "label": "Changes",
        "field": "changes",
        "align": "left",
        "style": "white-space: normal; min-width: 320px; max-width: 560px; word-break: break-word",
    },
    {
        "name": "comment",
        "label": "Comment",
        "field": "comment",
        "align": "left",
        "style": "white-space: normal; min-width: 200px; max-width: 360px; word-break: break-word",
    },
]


def _changes(before: dict | None, after: dict | None) -> str:
    before, after = before or {}, after or {}
    parts = []
    for key in sorted((set(before) | set(after)) - {"version"}):  # the edit counter: bookkeeping, not content
        old, new = before.get(key), after.get(key)
        text = lambda v: json.dumps(v, ensure_ascii=False)[:80] if not isinstance(v, str) else v[:80]  # noqa: E731
        parts.append(f"{key}: {text(old)} → {text(new)}" if key in before else f"{key}: {text(new)}")
    return "; ".join(parts)[:600]


async def history_tab(actor: Actor, sim: Simulation) -> None:
    async def fetch(query: ListQuery):  # noqa: ANN202
        page = await calls.read(simulations.history, simulation_id=sim.id, query=query)
        return [
            {
                "id": str(e.id),
                "created_at": e.created_at.strftime("%Y-%m-%d %H:%M:%S"),
                "actor": e.actor_label,
                "action": e.action,
                "changes": _changes(e.before, e.after),
                "comment": e.comment or "",
            }
            for e in page.rows
        ], page

    await list_view(
        columns=HISTORY_COLUMNS,
        fetch=fetch,
        marker="history",
        noun=("change", "changes"),
        sort="created_at",
        descending=True,
        sortable=["created_at", "actor", "action"],
        keyset=True,
        search_placeholder="Search who, what, comment…",
        empty_message="No history yet: every change to this simulation, its modules and media appears here.",
    )
