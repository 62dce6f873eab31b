"""What the people pages share: whose people they show (the organization chooser), the seats bar, the
tabs between members, departments and import."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from urllib.parse import urlencode

from nicegui import ui

from console.auth import Actor, Permission
from console.errors import NotFound
from console.services.people import scope
from console.services.seats import SeatUse
from pages.components import calls
from pages.components.pickers import SearchSelect
from pages.layout import MUTED

ROLE_OPTIONS = {"participant": "Participant", "admin": "Admin"}


@dataclass(frozen=True)
class Chosen:
    """The organization a people page is about: None for a platform admin who has not chosen one yet."""

    id: uuid.UUID | None
    name: str = ""
    named: bool = False  # chosen in the URL (platform admins), so links carry it on

    def query(self, **more: str) -> str:
        """The organization in a link's query (platform admins'; an enterprise admin's is implied)."""
        params = {"organization": str(self.id)} if self.id and self.named else {}
        params.update({k: v for k, v in more.items() if v})
        return f"?{urlencode(params)}" if params else ""


async def choose(actor: Actor, organization: str, path: str) -> Chosen | None:
    """Resolve the page's organization and, for platform admins, draw the chooser (changing it opens
    `path?organization=<id>`). None when the page has nothing to show but the chooser or a notice."""
    wanted: uuid.UUID | None = None
    if organization:
        try:
            wanted = uuid.UUID(organization)
        except ValueError:
            wanted = None
    platform = actor.can(Permission.manage_platform)
    chosen: Chosen | None = None
    if wanted is not None or not platform:
        try:
            # An enterprise admin's organization is their own, whatever the address says.
            org, _ = await calls.read(scope.seat_use, organization_id=wanted if platform else None)
            chosen = Chosen(org.id, org.name, named=platform)
        except NotFound:
            chosen = None
    if platform:

        async def search(text: str) -> dict[str, str]:
            return await calls.read(scope.organization_options, search=text)

        def go(e) -> None:  # noqa: ANN001
            if e.value and (chosen is None or e.value != str(chosen.id)):
                ui.navigate.to(f"{path}?{urlencode({'organization': e.value})}")

        picker = (
            SearchSelect(
                "Organization",
                search,
                value=str(chosen.id) if chosen else None,
                value_label=chosen.name if chosen else None,
                on_change=go,
            )
            .props("outlined dense options-dense")
            .classes("w-80")
            .mark("org-picker")
        )
        await picker.load()
        if chosen is None:
            message = "Choose an organization to see its people." if not organization else "Organization not found."
            ui.label(message).classes(MUTED).mark("choose-org")
            return None
    elif chosen is None:
        ui.label("Your account is not part of an organization.").mark("no-org")
        return None
    return chosen


class _Gone(ui.dialog):
    def close(self) -> None:
        super().close()
        self.delete()


def dialog(parent: ui.element, *, persistent: bool = False) -> ui.dialog:
    """A dialog that is gone once closed (the next one draws fresh fields, no stale input behind), made
    in `parent`: NiceGUI deletes a dialog with the element it was opened from, and a list's toolbar or a
    refreshed table is redrawn under the dialog's feet."""
    with parent:
        made = _Gone()
    if persistent:
        made.props("persistent")
    return made


def seats_bar(use: SeatUse) -> None:
    """Seats used against the limit; the warning colour from 90 % (seats.WARN_AT)."""
    with ui.row().classes("items-center gap-3 w-full max-w-xl").mark("seats"):
        ui.label("Seats").classes("font-medium")
        if use.limit is not None:
            color = "warning" if use.near_limit else "primary"
            bar = ui.linear_progress(value=min(use.share or 0, 1.0), show_value=False, size="10px", color=color)
            bar.classes("flex-grow").props(f'aria-label="Seats used: {use.used} of {use.limit}"')
            bar.mark("seats-bar-warning" if use.near_limit else "seats-bar")
        ui.label(f"{use.label()} used").classes(MUTED).mark("seats-label")
        if use.near_limit:
            ui.label(f"{use.left} left").classes("text-deep-orange-10 font-medium").mark("seats-left")


def tabs(current: str, chosen: Chosen) -> None:
    """Links between the three people pages (links, not tabs: each is its own page and URL)."""
    with ui.row().classes("gap-4").mark("people-tabs"):
        for label, path in (
            ("Members", "/people"),
            ("Departments", "/people/departments"),
            ("Import", "/people/import"),
        ):
            link = ui.link(label, path + chosen.query()).mark(f"tab-{label.lower()}")
            if path == current:
                link.props('aria-current="page"').classes("font-bold no-underline")
