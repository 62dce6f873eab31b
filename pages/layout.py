"""The shell every page is drawn in: header, role-aware navigation, breadcrumbs, content."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from nicegui import ui

from console.auth import Actor, Permission
from console.services import launch
from pages.components.forms import csrf_field

# (label, icon, path, permission). Only entries whose page exists and whose permission the
# actor holds are shown, so a role never sees a link it cannot open.
NAVIGATION: list[tuple[str, str, str, Permission]] = [
    ("Dashboard", "dashboard", "/", Permission.view_dashboard),
    ("My assignments", "assignment_ind", "/my", Permission.view_own_assignments),
    ("Catalogue", "storefront", "/catalogue", Permission.view_own_assignments),
    ("Simulations", "sports_esports", "/simulations", Permission.view_catalogue),
    ("People", "badge", "/people", Permission.manage_organization),
    ("Assignments", "assignment", "/assignments", Permission.manage_organization),
    ("Reports", "insights", "/reports", Permission.manage_organization),
    ("Billing", "payments", "/billing", Permission.manage_organization),
    ("Live", "sensors", "/live", Permission.view_live_sessions),
    ("Sessions", "history_edu", "/sessions", Permission.view_sessions),
    ("Organizations", "corporate_fare", "/organizations", Permission.manage_platform),
    ("Users", "group", "/users", Permission.manage_platform),
    ("API keys", "key", "/api-keys", Permission.manage_test_keys),  # creators: their test keys
    ("Engine developers", "integration_instructions", "/developers", Permission.author_simulations),
    ("Audit log", "history", "/audit", Permission.view_audit_log),
]

ROLE_LABELS = {
    "platform_admin": "Platform admin",
    "studio_creator": "Studio creator",
    "enterprise_admin": "Enterprise admin",
    "enterprise_participant": "Participant",
    "individual": "Individual",
}

# Colours: every text colour used on the white cards and the #f5f6f8 body passes WCAG AA (4.5:1)
# for normal text. Quasar's defaults do not: positive #21ba45 is 2.6:1 under white text, info #31ccec
# 1.9:1, and NiceGUI's links (#3b82f6) 3.4:1 on the body. Secondary text is grey-8 (5.7:1 on the
# body), never grey-7 (4.3:1).
BRAND_COLORS = {
    "primary": "#1f4e79",
    "secondary": "#2f6690",
    "accent": "#f2a541",
    "positive": "#1b7a36",
    "negative": "#c10015",
    "info": "#1f6f8b",
    "warning": "#f2c037",  # Quasar draws dark text on it
}
MUTED = "text-grey-8"  # secondary text: captions, breadcrumbs, counts

_CSS = """
.sticky-header .q-table__middle { max-height: 70vh; }
.sticky-header thead tr th { position: sticky; z-index: 1; top: 0; background: #fff; }
.q-table th { font-weight: 600; }
body { background: #f5f6f8; }
.nicegui-link, .nicegui-markdown a { color: var(--q-primary); }
.app-nav a { color: #212121; text-decoration: none; border-radius: 4px; min-height: 32px; }
.app-nav a:hover { background: rgba(0, 0, 0, 0.06); }
.app-nav a[aria-current="page"] { color: var(--q-primary); background: rgba(31, 78, 121, 0.1); font-weight: 500; }
.app-nav a:focus-visible, .breadcrumbs a:focus-visible { outline: 2px solid var(--q-primary); outline-offset: -2px; }
.nicegui-skip-link:focus { z-index: 3000; color: var(--q-primary); }
"""


# Ctrl/Cmd+S saves the form on screen (the button marked js-save) instead of saving the web page.
_SAVE_SHORTCUT = """<script>
document.addEventListener('keydown', (e) => {
  if ((e.ctrlKey || e.metaKey) && e.key === 's') {
    const button = document.querySelector('.js-save');
    if (button) { e.preventDefault(); button.click(); }
  }
});
// A dialog that asks for something opens with its first field focused, so typing starts at once;
// Quasar focuses the dialog itself (then Tab reaches the field). Dialogs without a field are left so.
const watchDialogs = () => new MutationObserver((changes) => {
  for (const change of changes) for (const node of change.addedNodes) {
    const dialog = node.nodeType === 1 && (node.matches('.q-dialog') ? node : node.querySelector('.q-dialog'));
    if (!dialog) continue;
    let tries = 0;
    const settle = setInterval(() => {
      const active = document.activeElement;
      const idle = !active || active === document.body
        || (dialog.contains(active) && !active.matches('input, textarea, button, a, [tabindex="0"]'));
      const field = dialog.querySelector('input:not([type=hidden]):not([type=checkbox]):not([type=radio])'
        + ':not([readonly]):not([disabled]), textarea:not([readonly]):not([disabled])');
      if (field && idle) field.focus();
      if (++tries >= 12 || !dialog.isConnected) clearInterval(settle);
    }, 100);
  }
}).observe(document.body, {childList: true, subtree: true});
if (document.body) watchDialogs(); else document.addEventListener('DOMContentLoaded', watchDialogs);
</script>"""


def nav_items(actor: Actor) -> list[tuple[str, str, str]]:
    from pages.access import PAGES

    items = []
    for label, icon, path, permission in NAVIGATION:
        if path == "/" and not actor.can(Permission.view_dashboard):
            continue
        if path == "/catalogue" and not launch.can_browse_catalogue(actor):
            continue  # participants play what their organization assigns them
        if actor.can(permission) and path in PAGES:
            items.append((label, icon, path))
    return items


class Heading(ui.label):
    """A label drawn as an h1–h6: headings name the page and its parts for screen readers and
    their heading navigation. Size it with a Quasar typography class as before (`text-h5`, …)."""

    def __init__(self, text: str = "", *, level: int = 2) -> None:
        super().__init__(text)
        self.tag = f"h{level}"


def theme() -> None:
    """The console's colours and styles; every page draws it, the shell's pages through `frame`."""
    ui.add_css(_CSS)
    ui.colors(**BRAND_COLORS)


def _current_path() -> str:
    try:
        return ui.context.client.request.url.path
    except (AttributeError, RuntimeError):  # no request behind the client (never on a real page)
        return ""


def _is_current(path: str, current: str) -> bool:
    return current == path if path == "/" else current == path or current.startswith(path + "/")


@contextmanager
def frame(actor: Actor, title: str, *, breadcrumbs: list[tuple[str, str | None]] | None = None) -> Iterator[ui.column]:
    """Draw the shell and yield the content column. Every page body starts `with frame(...)`.

    Keyboard and screen readers: a "Skip to content" link is the first thing Tab reaches; the
    navigation is a list of links in a `nav` landmark (the current page marked `aria-current`); the
    title is the page's one `h1`; the content column sits in Quasar's `main`.
    """
    theme()
    ui.add_head_html(_SAVE_SHORTCUT)  # a constant: no user data ever goes into head HTML
    with ui.header(elevated=False).classes("items-center bg-white text-grey-9 border-b px-4 py-1 gap-3"):
        ui.button(icon="menu", on_click=lambda: drawer.toggle()).props(
            'flat round dense aria-label="Toggle navigation"'
        ).mark("nav-toggle")
        ui.link("Simvado Console", "/").classes("text-h6 text-primary no-underline font-bold")
        if actor.organization_name:
            ui.label(actor.organization_name).classes(MUTED).mark("header-org")
        ui.space()
        with ui.row().classes("items-center gap-1"):
            ui.icon("account_circle").classes(MUTED)
            ui.label(actor.name).mark("header-user")
            ui.badge(ROLE_LABELS.get(actor.role.value, actor.role.value)).props("outline color=grey-8")
        # A form POST with this page's token: another site cannot sign anyone out (console/auth/csrf.py).
        with ui.element("form").props("method=post action=/auth/logout"):
            csrf_field()
            ui.button("Log out", icon="logout").props("type=submit flat dense no-caps").mark("logout")
    drawer = ui.left_drawer(value=True, bordered=True).classes("bg-grey-1").props("width=220")
    current = _current_path()
    with (
        drawer,
        ui.element("nav").props('aria-label="Main"').classes("app-nav w-full"),
        ui.element("ul").classes("w-full column py-2"),
    ):
        for label, icon, path in nav_items(actor):
            with ui.element("li"):
                link = ui.link(target=path).classes("row no-wrap items-center gap-6 px-3 py-1 w-full")
                link.mark(f"nav-{path.strip('/') or 'home'}")
                if _is_current(path, current):
                    link.props('aria-current="page"')
                with link:
                    ui.icon(icon, size="sm")
                    ui.label(label)
    content = ui.column().classes("w-full p-4 gap-3")
    ui.skip_link("Skip to content", target=content)  # moves itself to the top: the first Tab stop
    with content:
        crumbs = [("Home", "/"), *(breadcrumbs or [])]
        with (
            ui.element("nav").props('aria-label="Breadcrumb"').classes("breadcrumbs").mark("breadcrumbs"),
            ui.row().classes(f"items-center gap-1 text-sm {MUTED}"),
        ):
            for index, (label, href) in enumerate(crumbs):
                if index:
                    ui.label("›").props('aria-hidden="true"')
                if href and index < len(crumbs) - 1:
                    ui.link(label, href).classes(MUTED)
                else:
                    ui.label(label).props('aria-current="page"' if index == len(crumbs) - 1 else "")
        Heading(title, level=1).classes("text-h5 font-medium").mark("page-title")
        yield content


def not_found(actor: Actor | None) -> None:
    """What a page shows for a record, or a whole page, outside the actor's reach."""
    if actor is None:
        ui.navigate.to("/login")
        return
    with frame(actor, "Not found"):
        ui.label("There is nothing here, or you do not have access to it.").mark("not-found")
        ui.link("Back to the start", "/")
