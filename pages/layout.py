"""The shell every page is drawn in: header, role-aware navigation, breadcrumbs, content."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from nicegui import ui

from console.auth import Actor, Permission

# (label, icon, path, permission). Only entries whose page exists and whose permission the
# actor holds are shown, so a role never sees a link it cannot open.
NAVIGATION: list[tuple[str, str, str, Permission]] = [
    ("Dashboard", "dashboard", "/", Permission.view_dashboard),
    ("My assignments", "assignment_ind", "/my", Permission.view_own_assignments),
    ("Simulations", "sports_esports", "/simulations", Permission.view_catalogue),
    ("API keys", "key", "/api-keys", Permission.manage_api_keys),
    ("Audit log", "history", "/audit", Permission.view_audit_log),
]

ROLE_LABELS = {
    "platform_admin": "Platform admin",
    "studio_creator": "Studio creator",
    "enterprise_admin": "Enterprise admin",
    "enterprise_participant": "Participant",
    "individual": "Individual",
}

_CSS = """
.sticky-header .q-table__middle { max-height: 70vh; }
.sticky-header thead tr th { position: sticky; z-index: 1; top: 0; background: #fff; }
.q-table th { font-weight: 600; }
body { background: #f5f6f8; }
"""


# Ctrl/Cmd+S saves the form on screen (the button marked js-save) instead of saving the web page.
_SAVE_SHORTCUT = """<script>
document.addEventListener('keydown', (e) => {
  if ((e.ctrlKey || e.metaKey) && e.key === 's') {
    const button = document.querySelector('.js-save');
    if (button) { e.preventDefault(); button.click(); }
  }
});
</script>"""


def nav_items(actor: Actor) -> list[tuple[str, str, str]]:
    from pages.access import PAGES

    items = []
    for label, icon, path, permission in NAVIGATION:
        if path == "/" and not actor.can(Permission.view_dashboard):
            continue
        if actor.can(permission) and path in PAGES:
            items.append((label, icon, path))
    return items


@contextmanager
def frame(actor: Actor, title: str, *, breadcrumbs: list[tuple[str, str | None]] | None = None) -> Iterator[ui.column]:
    """Draw the shell and yield the content column. Every page body starts `with frame(...)`."""
    ui.add_css(_CSS)
    ui.add_head_html(_SAVE_SHORTCUT)  # a constant: no user data ever goes into head HTML
    ui.colors(primary="#1f4e79", secondary="#3a7ca5", accent="#f2a541")
    with ui.header(elevated=False).classes("items-center bg-white text-grey-9 border-b px-4 py-1 gap-3"):
        ui.button(icon="menu", on_click=lambda: drawer.toggle()).props("flat round dense").mark("nav-toggle")
        ui.link("Simvado Console", "/").classes("text-h6 text-primary no-underline font-bold")
        if actor.organization_name:
            ui.label(actor.organization_name).classes("text-grey-7").mark("header-org")
        ui.space()
        with ui.row().classes("items-center gap-1"):
            ui.icon("account_circle").classes("text-grey-7")
            ui.label(actor.name).mark("header-user")
            ui.badge(ROLE_LABELS.get(actor.role.value, actor.role.value)).props("outline color=grey-7")
        # A form POST: with SameSite=Lax cookies another site cannot log anyone out.
        with ui.element("form").props("method=post action=/auth/logout"):
            ui.button("Log out", icon="logout").props("type=submit flat dense no-caps").mark("logout")
    drawer = ui.left_drawer(value=True, bordered=True).classes("bg-grey-1").props("width=220")
    with drawer, ui.list().props("dense padding").classes("w-full"):
        for label, icon, path in nav_items(actor):
            with ui.item(on_click=lambda p=path: ui.navigate.to(p)).mark(f"nav-{path.strip('/') or 'home'}"):
                with ui.item_section().props("avatar"):
                    ui.icon(icon)
                with ui.item_section():
                    ui.item_label(label)
    with ui.column().classes("w-full p-4 gap-3") as content:
        crumbs = [("Home", "/"), *(breadcrumbs or [])]
        with ui.row().classes("items-center gap-1 text-sm text-grey-7").mark("breadcrumbs"):
            for index, (label, href) in enumerate(crumbs):
                if index:
                    ui.label("›")
                if href and index < len(crumbs) - 1:
                    ui.link(label, href).classes("text-grey-7")
                else:
                    ui.label(label)
        ui.label(title).classes("text-h5 font-medium").mark("page-title")
        yield content


def not_found(actor: Actor | None) -> None:
    """What a page shows for a record, or a whole page, outside the actor's reach."""
    if actor is None:
        ui.navigate.to("/login")
        return
    with frame(actor, "Not found"):
        ui.label("There is nothing here, or you do not have access to it.").mark("not-found")
        ui.link("Back to the start", "/")
