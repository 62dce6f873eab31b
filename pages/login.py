"""The login page: a plain HTML form posted to /auth/login, so the server can set a fresh cookie; and
"Continue with SSO", which sends the browser to /auth/sso/start with the typed email (its domain picks
the organization's identity provider: console/identity_routes.py, docs/identity.md)."""

from __future__ import annotations

from urllib.parse import urlencode

from nicegui import ui

from console.auth.web import safe_next
from console.config import get_settings
from console.identity_routes import SSO_START_PATH, STAFF_START_PATH
from console.services.accounts import INVALID_LOGIN, TOO_MANY_ATTEMPTS
from console.services.identity import staff
from console.services.identity.sso import MESSAGES as SSO_MESSAGES
from pages.access import secured_page
from pages.components.forms import csrf_field, hidden_field
from pages.layout import MUTED, Heading, theme

MESSAGES = {
    "invalid": INVALID_LOGIN,
    "locked": TOO_MANY_ATTEMPTS,
    "missing": "Enter your email and password.",
    "expired": "This sign-in form had expired. Please sign in again.",
    **SSO_MESSAGES,
}


@secured_page("/login", title="Sign in", public=True)
def login_page(actor, next: str = "/", error: str | None = None, signed_out: str | None = None):  # noqa: A002
    if actor is not None:
        ui.navigate.to(safe_next(next))
        return
    theme()
    ui.query("body").classes("bg-grey-2")
    with ui.column().classes("absolute-center items-center gap-4"):
        ui.label("Simvado Console").classes("text-h4 text-primary font-bold")
        with ui.card().classes("w-[380px] p-6"):
            Heading("Sign in", level=1).classes("text-h6")
            if error in MESSAGES:
                ui.label(MESSAGES[error]).classes("text-negative").props("role=alert").mark("login-error")
            elif signed_out:
                ui.label("You are signed out.").classes("text-positive").props("role=status").mark("login-info")
            with ui.element("form").props("method=post action=/auth/login").classes("w-full column gap-3"):
                email = (
                    ui.input("Email")
                    .props("name=email type=email autocomplete=username autofocus outlined dense")
                    .classes("w-full")
                    .mark("login-email")
                )
                password = (
                    ui.input("Password", password=True, password_toggle_button=True)
                    .props("name=password autocomplete=current-password outlined dense")
                    .classes("w-full")
                    .mark("login-password")
                )
                hidden_field("next", safe_next(next))
                csrf_field()
                ui.button("Sign in", icon="login").props("type=submit color=primary unelevated").classes("w-full").mark(
                    "login-submit"
                )
            del email, password
            _sso_section(safe_next(next))
        ui.label("Forgot your password? Ask a platform admin to reset it.").classes(f"text-caption {MUTED}")


def _sso_section(target: str) -> None:
    """Email → the organization's provider. A navigation, not a form post: the page's CSP
    (`form-action 'self'`) would stop a posted form that redirects to the provider's origin."""
    with ui.row().classes("w-full items-center no-wrap gap-2 q-mt-md"):
        ui.separator().classes("col")
        ui.label("or").classes(f"text-caption {MUTED}")
        ui.separator().classes("col")
    with ui.column().classes("w-full gap-2"):
        work_email = (
            ui.input("Work address for SSO", placeholder="you@company.com")
            .props("type=email autocomplete=email outlined dense")
            .classes("w-full")
            .mark("sso-email")
        )

        def go() -> None:
            query = urlencode({"email": (work_email.value or "").strip(), "next": target})
            ui.navigate.to(f"{SSO_START_PATH}?{query}")

        work_email.on("keydown.enter", go)
        ui.button("Continue with SSO", icon="badge", on_click=go).props("outline color=primary").classes("w-full").mark(
            "sso-submit"
        )
        if staff.provider(get_settings()) is not None:
            # Platform staff sign in at the platform's own provider (docs/identity.md, "Staff sign-in").
            ui.button(
                "Staff sign-in",
                icon="admin_panel_settings",
                on_click=lambda: ui.navigate.to(f"{STAFF_START_PATH}?{urlencode({'next': target})}"),
            ).props("flat no-caps color=primary").classes("w-full").mark("staff-sso")
