"""/sessions: every play session the viewer may see (console/services/sessions/listing.py), with the
filters, sort and page in the URL, a "stuck" badge, "Mark abandoned" for one or many (staff of the
session's organization and platform admins), and the filtered list as CSV or Excel."""

from __future__ import annotations

import dataclasses
import uuid
from datetime import UTC, datetime

from nicegui import ui

from console.auth import Actor, Permission
from console.services.export_files import FILES, ExportFormat
from console.services.listing import ListQuery
from console.services.sessions import exports, listing, stuck
from models.enums import Platform, SessionStatus
from pages.access import secured_page
from pages.components import calls
from pages.components.exporting import download_buttons
from pages.components.labels import SESSION_STATUS_SLOT, enum_options
from pages.components.listing import BulkAction, Filter, list_view
from pages.layout import MUTED, frame
from pages.sessions.abandon import abandon_dialog

PATH = "/sessions"
COLUMNS = [
    {"name": "player", "label": "Player", "field": "player", "sortable": True, "align": "left"},
    {"name": "organization", "label": "Organization", "field": "organization", "sortable": True, "align": "left"},
    {"name": "simulation", "label": "Simulation / module", "field": "simulation", "sortable": True, "align": "left"},
    {"name": "platform", "label": "Platform", "field": "platform", "sortable": True, "align": "left"},
    {"name": "status", "label": "Status", "field": "status", "sortable": True, "align": "left"},
    {"name": "started_at", "label": "Started (UTC)", "field": "started", "sortable": True, "align": "left"},
    {"name": "last_event", "label": "Last event (UTC)", "field": "last_event", "align": "left"},
    {"name": "duration", "label": "Duration", "field": "duration_text", "sortable": True, "align": "right"},
    {"name": "total_score", "label": "Total score", "field": "score", "sortable": True, "align": "right"},
]
PLAYER_SLOT = (
    '<q-td :props="props"><a class="text-primary" :href="props.row.url">{{ props.value }}</a>'
    '<div class="text-caption text-grey-8">{{ props.row.email }}</div></q-td>'
)
DURATION_SLOT = (
    '<q-td :props="props">{{ props.value }}'
    '<div v-if="props.row.running" class="text-caption text-grey-8">so far</div></q-td>'
)
SIMULATION_SLOT = (
    '<q-td :props="props">{{ props.value }}<div class="text-caption text-grey-8">{{ props.row.module }}</div></q-td>'
)


def when(value: datetime | None) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M") if value else "—"


def duration_text(seconds: int | None, status: SessionStatus | None = None) -> str:
    """ "1 h 05 min", "4 min 09 s"; with a status in progress, "… so far"."""
    if seconds is None:
        return "—"
    hours, rest = divmod(seconds, 3600)
    text = f"{hours} h {rest // 60:02d} min" if hours else f"{rest // 60} min {rest % 60:02d} s"
    return f"{text} so far" if status == SessionStatus.in_progress else text


def row_cells(r: listing.SessionRow) -> dict:
    return {
        "id": str(r.id),
        "url": f"{PATH}/{r.id}",
        "player": r.player_name,
        "name": r.player_name,  # what the selection checkbox is named after
        "email": r.player_email,
        "organization": r.organization_name or "—",
        "simulation": r.simulation_title,
        "module": r.module_title,
        "platform": r.platform.value if r.platform else "—",
        "status": r.status.value,
        "stuck": r.stuck,
        "started": when(r.started_at),
        "last_event": when(r.last_event_at),
        "duration_text": duration_text(r.duration_seconds),
        "running": r.status == SessionStatus.in_progress,
        "score": "" if r.total_score is None else f"{r.total_score:.1f}",
        "test": r.is_test,
    }


@secured_page(PATH, title="Sessions", permission=Permission.view_sessions)
async def sessions_page(actor: Actor):
    with frame(actor, "Sessions", breadcrumbs=[("Sessions", None)]):
        await _sessions(actor)


async def _sessions(actor: Actor) -> None:
    root = ui.context.slot.parent
    params = dict(ui.context.client.request.query_params) if ui.context.client.request else {}
    minutes = stuck.stuck_after().total_seconds() / 60
    ui.label(
        f"Every play session you can see. A session in progress with no event for {minutes:g} minutes is "
        "marked stuck. Times are UTC."
    ).classes(MUTED)

    async def fetch(query: ListQuery):
        found = await calls.read(listing.list_, query=query)
        return [row_cells(r) for r in found.rows], found

    async def label_of(name: str) -> str | None:
        value = (params.get(name) or "")[:64]
        return await calls.read(listing.option_label, name=name, value=value) if value else None

    async def organizations(text: str) -> dict[str, str]:
        return await calls.read(listing.organization_options, search=text)

    async def simulations(text: str) -> dict[str, str]:
        return await calls.read(listing.simulation_options, search=text)

    async def modules(text: str) -> dict[str, str]:
        chosen = view.state.filters.get("simulation_id") if view else None
        try:
            return await calls.read(listing.module_options, search=text, simulation_id=_uuid(chosen))
        except ValueError:
            return {}

    async def changed(message: str) -> None:
        with root:
            ui.notify(message, type="positive")
            view.clear_selection()
            await view.reload()

    async def mark_abandoned(rows: list[dict]) -> None:
        playing = [r for r in rows if r["status"] == SessionStatus.in_progress.value]
        if not playing:
            with root:
                ui.notify("Only sessions in progress can be marked abandoned.", type="warning")
            return
        await abandon_dialog(root, [(r["id"], f"{r['player']} · {r['module']}") for r in playing], changed)

    view = None
    # An enterprise admin's sessions are all their own organization's: no filter or column for it.
    many_organizations = actor.can(Permission.manage_platform) or actor.can(Permission.author_simulations)
    filters = []
    if many_organizations:
        filters.append(Filter("organization_id", "Organization", kind="search", search=organizations,
                              value_label=await label_of("organization_id"), width="w-48"))  # fmt: skip
    filters += [
        Filter("simulation_id", "Simulation", kind="search", search=simulations,
               value_label=await label_of("simulation_id"), width="w-52"),
        Filter("module_id", "Module", kind="search", search=modules, value_label=await label_of("module_id"),
               width="w-52"),
        Filter("status", "Status", enum_options(SessionStatus), width="w-36"),
        Filter("platform", "Platform", enum_options(Platform), width="w-32"),
        Filter("from", "Started from", kind="date", width="w-40"),
        Filter("to", "Started to", kind="date", width="w-40"),
        Filter("stuck", "Stuck only", kind="switch"),
        # Real sessions unless asked: test sessions (a test key's) count nowhere and wear a "Test" badge.
        Filter("kind", "Sessions", {"real": "Real", "test": "Test", "all": "Real and test"}, default="real",
               any_label=None, width="w-36"),
    ]  # fmt: skip
    view = await list_view(
        columns=COLUMNS if many_organizations else [c for c in COLUMNS if c["name"] != "organization"],
        fetch=fetch,
        marker="session",
        noun=("session", "sessions"),
        path=PATH,
        sort="started_at",
        descending=True,
        sortable=tuple(listing.SORTABLE),
        search_placeholder="Search player or external id…",
        filters=filters,
        slots={
            "body-cell-status": SESSION_STATUS_SLOT,
            "body-cell-player": PLAYER_SLOT,
            "body-cell-simulation": SIMULATION_SLOT,
            "body-cell-duration": DURATION_SLOT,
        },
        bulk_actions=[BulkAction("abandon", "Mark abandoned", "block", mark_abandoned, color="negative")]
        if stuck.may_abandon(actor)
        else [],
        empty_message="No sessions match. Clear the search or a filter to widen the view.",
    )

    def shown() -> ListQuery:
        """What the list shows now (search, filters, order), for the export."""
        pagination = view.table.pagination
        return dataclasses.replace(
            ListQuery(search=view.state.search, filters={k: v for k, v in view.state.filters.items() if v}),
            sort=pagination.get("sortBy") or "started_at",
            descending=bool(pagination.get("descending")),
        )

    async def write(fmt: str, path, on_progress):  # noqa: ANN001, ANN202
        return await calls.write(exports.write, fmt=fmt, query=shown(), path=path, on_progress=on_progress)

    with ui.row().classes("gap-8 items-start").mark("session-exports"):
        download_buttons(
            marker="export-sessions",
            title="Export this view (every matching session, in this order)",
            noun="sessions",
            formats={ExportFormat.csv.value: "CSV", ExportFormat.xlsx.value: "Excel"},
            reserve=lambda fmt: FILES.reserve(
                actor.user_id,
                fmt,
                filename=exports.filename_for(fmt, datetime.now(UTC)),
                media_type=exports.media_type(fmt),
                permission=exports.PERMISSION,
            ),  # fmt: skip
            write=write,
        )


def _uuid(value: str | None) -> uuid.UUID | None:
    return uuid.UUID(value) if value else None
