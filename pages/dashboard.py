"""Home: each role's dashboard with real counts; participants go straight to their assignments."""

from __future__ import annotations

from nicegui import ui

from console.auth import Actor, Permission
from console.services import dashboard
from console.services.seats import SeatUse
from pages.access import secured_page
from pages.components import calls
from pages.components.live import on_session_changes
from pages.layout import MUTED, Heading, frame

LIVE_INTERVAL_SECONDS = 1.0


def _tile(label: str, value, marker: str, *, href: str | None = None) -> None:
    with ui.card().classes("min-w-[170px] p-3").mark(f"tile-{marker}"):
        ui.label(label).classes(f"text-caption {MUTED}")
        text = "—" if value is None else f"{value:,}" if isinstance(value, int) else str(value)
        if href:
            ui.link(text, href).classes("text-h5 no-underline text-primary")
        else:
            ui.label(text).classes("text-h5")


def _seats_tile(use: SeatUse) -> None:
    """Members against the seat limit, linking to People; from 90 % a warning anyone can see."""
    with ui.card().classes("min-w-[170px] p-3").mark("tile-members"):
        ui.label("Members (seats used)").classes(f"text-caption {MUTED}")
        warn = "text-deep-orange-10" if use.near_limit else "text-primary"
        ui.link(use.label(), "/people").classes(f"text-h5 no-underline {warn}")
        if use.near_limit:
            with ui.row().classes("items-center no-wrap gap-1 text-deep-orange-10").mark("seat-warning"):
                ui.icon("warning", size="xs")
                ui.label("All seats used" if use.left == 0 else f"{use.left} seat{'s' if use.left != 1 else ''} left")


@secured_page("/", title="Dashboard", permission=Permission.use_console)
async def home(actor: Actor):
    if not actor.can(Permission.view_dashboard):
        ui.navigate.to("/my")
        return
    data = await calls.read(dashboard.summary)
    with frame(actor, "Dashboard"):
        _figures(actor, data)

        async def refresh(_changes: object = None) -> None:
            _figures.refresh(actor, await calls.read(dashboard.summary))

        # Fresh figures without a reload: the session tiles move as soon as a session the viewer may see
        # starts, gets events or ends (at most once a second: the summary is a dozen counts, and a busy
        # platform changes every few milliseconds); the timer catches what no session change announces
        # (people, keys, simulations).
        on_session_changes(refresh, interval=LIVE_INTERVAL_SECONDS)
        ui.timer(60, refresh)


@ui.refreshable
def _figures(actor: Actor, data: dict) -> None:
    with ui.row().classes("gap-3 flex-wrap"):
        if actor.can(Permission.manage_platform):
            _tile("Organizations", data["organizations"], "organizations")
            _tile("Users", data["users"], "users")
            _tile("Active API keys", data["active_api_keys"], "api-keys")
            _tile("Events (24 hours)", data["events_24h"], "events")
        if "seats" in data:
            _seats_tile(data["seats"])
            for status, count in data["assignments_by_status"].items():
                _tile(f"Assignments {status.replace('_', ' ')}", count, f"assignments-{status}")
        _tile("Sessions in progress", data["sessions_in_progress"], "in-progress")
        _tile("Completed (30 days)", data["sessions_completed_30d"], "completed")
        _tile("Average total (30 days)", data["average_total_score_30d"], "average-score")
    with ui.row().classes("w-full gap-3 no-wrap"):
        with ui.card().classes("flex-1"):
            Heading("Simulations by status").classes("text-subtitle1")
            by_status = data["simulations_by_status"]
            if not by_status:
                msg = "No simulations yet."
                if actor.can(Permission.author_simulations):
                    msg += " Create one from Simulations → New simulation."
                ui.label(msg).classes(MUTED)
            with ui.row().classes("gap-2"):
                for status, count in sorted(by_status.items()):
                    ui.link(f"{status}: {count}", f"/simulations?status={status}").classes("q-chip no-underline").mark(
                        f"sim-status-{status}"
                    )
        with ui.card().classes("flex-[2]"):
            Heading("Sessions started per day (30 days)").classes("text-subtitle1")
            days = data["sessions_per_day"]
            if not days:
                ui.label("No sessions in the last 30 days.").classes(MUTED)
            else:
                ui.echart(
                    {
                        # No grow animation: the figures redraw as sessions change, and a chart people
                        # glance at all day should not replay itself.
                        "animation": False,
                        "grid": {"left": 40, "right": 10, "top": 10, "bottom": 30},
                        "tooltip": {"trigger": "axis"},
                        "xAxis": {"type": "category", "data": [d for d, _ in days]},
                        "yAxis": {"type": "value", "minInterval": 1},
                        "series": [{"type": "bar", "data": [n for _, n in days], "name": "Sessions"}],
                    }
                ).classes("w-full h-56").mark("sessions-chart")
