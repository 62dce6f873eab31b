"""One organization's page: header with seats, Edit and Delete, then tabs — members, engine keys,
assigned simulations, seat use over time, single sign-on, billing and the audit trail (the tab in the
URL)."""

from __future__ import annotations

import json

from nicegui import ui

from console.auth import Actor, Permission
from console.errors import NotFound
from console.services import organizations
from console.services.billing import subscriptions
from console.services.listing import ListQuery
from pages import billing
from pages.access import secured_page
from pages.components import calls, conflicts
from pages.components.dialogs import confirm
from pages.components.labels import enum_label
from pages.components.listing import list_view
from pages.layout import MUTED, Heading, frame, not_found
from pages.organizations.forms import open_edit, sso_card, sso_required_card

TABS = [
    ("members", "Members"),
    ("keys", "Engine keys"),
    ("simulations", "Simulations"),
    ("seats", "Seat use"),
    ("sso", "Single sign-on"),
    ("billing", "Billing"),
    ("audit", "Audit trail"),
]


def _when(value) -> str:  # noqa: ANN001
    return value.strftime("%Y-%m-%d %H:%M") if value else "—"


def _columns(*spec: tuple[str, str]) -> list[dict]:
    return [{"name": key, "label": label, "field": key, "align": "left"} for key, label in spec]


def _table(columns: list[dict], rows: list[dict], marker: str, empty: str) -> ui.table:
    return (
        ui.table(columns=columns, rows=rows, row_key="id")
        .props(f'dense flat bordered hide-pagination :pagination="{{rowsPerPage: 0}}" no-data-label="{empty}"')
        .classes("w-full")
        .mark(marker)
    )


@secured_page("/organizations/{slug}", title="Organization", permission=Permission.manage_platform)
async def organization_page(actor: Actor, slug: str, tab: str = "members"):
    try:
        org = await calls.read(organizations.get_by_slug, slug=slug)
        seen = await calls.read(organizations.overview, organization_id=org.id)
        billed = await calls.read(subscriptions.overview, organization_id=org.id)
    except NotFound:
        not_found(actor)
        return
    org = seen.organization
    current = tab if tab in dict(TABS) else "members"
    held = conflicts.Held(org.version)
    state = {"tab": current}
    with frame(actor, org.name, breadcrumbs=[("Organizations", "/organizations"), (org.name, None)]):
        _header(seen, held, state, billed)

        def on_tab(e) -> None:  # noqa: ANN001
            state["tab"] = e.value
            ui.navigate.history.replace(f"/organizations/{org.slug}?tab={e.value}")

        with ui.tabs(value=current, on_change=on_tab).classes("text-grey-9").props("dense align=left no-caps") as tabs:
            for name, label in TABS:
                ui.tab(name, label=label).mark(f"tab-{name}")
        with ui.tab_panels(tabs, value=current).classes("w-full bg-transparent").props("keep-alive"):
            with ui.tab_panel("members").classes("p-0"):
                _members(seen)
            with ui.tab_panel("keys").classes("p-0"):
                _keys(seen)
            with ui.tab_panel("simulations").classes("p-0"):
                _simulations(seen)
            with ui.tab_panel("seats").classes("p-0"):
                _seat_use(seen)
            with ui.tab_panel("sso").classes("p-0 column gap-3"):
                sso_card(org, held)
                sso_required_card(org, held)
            with ui.tab_panel("billing").classes("p-0 column gap-3"):
                await billing.organization_tab(billed)
            with ui.tab_panel("audit").classes("p-0"):
                await _audit(org)


def _header(
    seen: organizations.Overview, held: conflicts.Held, state: dict, billed: subscriptions.BillingOverview
) -> None:
    org, seats = seen.organization, seen.seats
    with ui.card().classes("w-full").mark("org-header"):
        with ui.row().classes("w-full items-center gap-3"):
            ui.badge(enum_label(org.plan.value)).props("outline color=primary").mark("org-plan")
            ui.label(f"/organizations/{org.slug}").classes(f"{MUTED} font-mono text-sm")
            ui.badge("SSO on" if org.sso_enabled else "SSO off").props(
                f"outline color={'positive' if org.sso_enabled else 'grey-8'}"
            ).mark("org-sso")
            if billed.subscription_id:
                billing.status_badge(billed)
            ui.space()
            ui.button("Edit", icon="edit", on_click=lambda: open_edit(org, held, tab=state["tab"])).props(
                "outline no-caps"
            ).mark("org-edit")
            _delete_button(seen)
        with ui.row().classes("w-full items-center gap-3 no-wrap"):
            ui.label("Seats").classes(f"{MUTED} whitespace-nowrap")
            ui.label(seats.label()).classes("text-h6 whitespace-nowrap").mark("org-seats")
            if seats.share is not None:
                bar = ui.linear_progress(
                    value=min(seats.share, 1.0),
                    show_value=False,
                    size="10px",
                    color="deep-orange-10" if seats.near_limit else "primary",
                ).classes("max-w-md rounded")
                bar._props["aria-label"] = f"Seats used: {seats.label()}"
        if seats.near_limit:
            full = seats.left == 0
            with ui.row().classes("items-center gap-2 text-deep-orange-10").mark("seat-warning"):
                ui.icon("warning")
                ui.label(
                    "Every seat is used: new members are refused until the limit is raised or members leave."
                    if full
                    else f"{round((seats.share or 0) * 100)} % of the seats are used ({seats.left} left)."
                )
        if billed.hold:
            with ui.row().classes("items-center gap-2 text-deep-orange-10").mark("billing-hold"):
                ui.icon("warning")
                ui.label(billed.hold)
        if seen.delete_blockers:
            with ui.column().classes("gap-0").mark("delete-blockers"):
                ui.label("Why it cannot be deleted:").classes(f"{MUTED} text-caption")
                for reason in seen.delete_blockers:
                    ui.label(reason).classes(f"{MUTED} text-caption")


def _delete_button(seen: organizations.Overview) -> None:
    org = seen.organization

    async def delete() -> None:
        if not await confirm(
            f"Delete “{org.name}” for good? Its settings go; its audit entries stay.", action="Delete organization"
        ):
            return
        if await calls.submit(organizations.delete, organization_id=org.id) is calls.REFUSED:
            return
        ui.notify(f"Deleted “{org.name}”.", type="positive")
        ui.navigate.to("/organizations")

    button = ui.button("Delete", icon="delete", on_click=delete).props("outline no-caps color=negative")
    button.mark("org-delete")
    if seen.delete_blockers:
        button.disable()
        button.tooltip("Cannot be deleted: see the reasons below.")


def _members(seen: organizations.Overview) -> None:
    org, used = seen.organization, seen.seats.used
    rows = [
        {
            "id": str(m.user_id),
            "name": m.name,
            "email": m.email,
            "role": enum_label(m.role.value),
            "department": m.department or "—",
            "joined": _when(m.joined_at),
        }
        for m in seen.members
    ]
    with ui.row().classes("w-full items-center gap-2 py-2"):
        shown = f"The first {len(rows)} of {used} members, by name." if used > len(rows) else f"{used} members."
        ui.label(shown if used else "Members take seats; add them in People.").classes(MUTED)
        ui.link(f"All members in People ({used})", f"/people?organization={org.id}").mark("org-people-link")
    cols = _columns(("name", "Name"), ("email", "Email"), ("role", "Role"), ("department", "Department"))
    _table([*cols, *_columns(("joined", "Joined"))], rows, "org-members", "No members yet.")


def _keys(seen: organizations.Overview) -> None:
    rows = [
        {
            "id": str(k.id),
            "name": k.name,
            "prefix": f"{k.key_prefix}…",
            "status": k.status,
            "last_used": _when(k.last_used_at),
        }
        for k in seen.api_keys
    ]
    with ui.row().classes("w-full items-center gap-2 py-2"):
        ui.label("Engine API keys bound to this organization.").classes(MUTED)
        ui.link("Manage keys", "/api-keys")
    columns = _columns(("name", "Name"), ("prefix", "Key"), ("status", "Status"), ("last_used", "Last used"))
    _table(columns, rows, "org-keys", "No engine keys are bound to this organization.")


SIMULATION_SLOT = (
    '<q-td :props="props"><a class="text-primary" '
    ":href=\"'/simulations/' + encodeURIComponent(props.row.id)\">{{ props.value }}</a></q-td>"
)


def _simulations(seen: organizations.Overview) -> None:
    rows = [
        {"id": str(s.simulation_id), "title": s.title, "assignments": s.assignments, "completed": s.completed}
        for s in seen.simulations
    ]
    ui.label("Simulations assigned to its members, with how many assignments are completed.").classes(f"{MUTED} py-2")
    columns = _columns(("title", "Simulation"), ("assignments", "Assignments"), ("completed", "Completed"))
    table = _table(columns, rows, "org-simulations", "Nothing has been assigned in this organization yet.")
    table.add_slot("body-cell-title", SIMULATION_SLOT)


def _seat_use(seen: organizations.Overview) -> None:
    series, limit = seen.seat_series, seen.seats.limit
    days = [d.isoformat() for d, _ in series]
    chart_series = [
        {"type": "line", "name": "Members", "data": [n for _, n in series], "showSymbol": False, "step": "end"}
    ]
    if limit is not None:
        chart_series.append(
            {
                "type": "line",
                "name": "Seat limit",
                "data": [limit] * len(series),
                "showSymbol": False,
                "lineStyle": {"type": "dashed", "color": "#bf360c"},
                "itemStyle": {"color": "#bf360c"},
            }
        )
    with ui.card().classes("w-full"):
        Heading(f"Members at the end of each day, the last {organizations.SERIES_DAYS} days (UTC)", level=2).classes(
            "text-subtitle1"
        )
        ui.echart(
            {
                "animation": False,
                "grid": {"left": 48, "right": 16, "top": 30, "bottom": 30},
                "legend": {"top": 0},
                "tooltip": {"trigger": "axis"},
                "xAxis": {"type": "category", "data": days},
                "yAxis": {"type": "value", "minInterval": 1, "min": 0},
                "series": chart_series,
            }
        ).classes("w-full h-64").mark("seat-chart")
        with ui.expansion("The numbers", icon="table_rows").classes("w-full").mark("seat-numbers"):
            rows = [{"id": d.isoformat(), "day": d.isoformat(), "members": n} for d, n in reversed(series)]
            ui.table(
                columns=_columns(("day", "Day"), ("members", "Members")),
                rows=rows,
                row_key="id",
                pagination={"rowsPerPage": 15},
            ).props("dense flat bordered").classes("w-full max-w-md").mark("seat-table")


AUDIT_COLUMNS = [
    {"name": "created_at", "label": "When", "field": "created_at", "align": "left", "sortable": True},
    {"name": "actor", "label": "Who", "field": "actor", "align": "left", "sortable": True},
    {"name": "action", "label": "What", "field": "action", "align": "left", "sortable": True},
    {
        "name": "change",
        "label": "Change",
        "field": "change",
        "align": "left",
        "style": "white-space: normal; min-width: 320px; max-width: 600px; word-break: break-word",
    },
]


def _change(before: dict | None, after: dict | None, comment: str | None) -> str:
    before, after = before or {}, after or {}
    parts = []
    for key in sorted((set(before) | set(after)) - {"version"}):  # the edit counter is bookkeeping
        old, new = (json.dumps(v, ensure_ascii=False)[:80] for v in (before.get(key), after.get(key)))
        parts.append(f"{key}: {old} → {new}" if key in before else f"{key}: {new}")
    if comment:
        parts.append(comment)
    return "; ".join(parts)[:600]


async def _audit(org: organizations.OrganizationView) -> None:
    async def fetch(query: ListQuery):  # noqa: ANN202
        page = await calls.read(organizations.history, organization_id=org.id, query=query)
        return [
            {
                "id": str(e.id),
                "created_at": e.created_at.strftime("%Y-%m-%d %H:%M:%S"),
                "actor": e.actor_label,
                "action": e.action,
                "change": _change(e.before, e.after, e.comment),
            }
            for e in page.rows
        ], page

    await list_view(
        columns=AUDIT_COLUMNS,
        fetch=fetch,
        marker="org-audit",
        noun=("entry", "entries"),
        sort="created_at",
        descending=True,
        keyset=True,
        search_placeholder="Search who, what, comment…",
        empty_message="No entries yet.",
    )
