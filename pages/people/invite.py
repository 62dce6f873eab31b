"""/invite/{token}: the invited member sets their password, then signs in as anyone does.

Public: the link is the credential. There is no login behind the page for `calls` to check again, so
it runs its two service calls in a unit of work of its own, the way the login routes do. Every bad
link — unknown, used, revoked, expired, member removed — gets the same plain message.
"""

from __future__ import annotations

from nicegui import run, ui

from console import unit_of_work
from console.errors import NotFound, ValidationFailed
from console.services import accounts
from console.services.people import invitations
from pages.access import secured_page
from pages.components.forms import FieldErrors
from pages.layout import MUTED, Heading, theme


def _peek(token: str) -> invitations.Invited:
    with unit_of_work.read_only() as session:
        return invitations.peek(session=session, token=token)


def _accept(token: str, password: str) -> None:
    with unit_of_work.transaction() as session:
        invitations.accept(session=session, token=token, password=password)


@secured_page("/invite/{token}", title="Set your password", public=True)
async def invite_page(actor, token: str):  # noqa: ANN001 — None or whoever is signed in on this browser
    theme()
    ui.query("body").classes("bg-grey-2")
    with ui.column().classes("absolute-center items-center gap-4"):
        ui.label("Simvado Console").classes("text-h4 text-primary font-bold")
        card = ui.card().classes("w-[420px] p-6")
    try:
        invited = await run.io_bound(_peek, token)
    except NotFound:
        with card:
            Heading("Invitation", level=1).classes("text-h6")
            ui.label(invitations.BAD_LINK).props("role=alert").mark("invite-bad")
            ui.link("Go to sign in", "/login")
        return

    def done() -> None:
        card.clear()
        with card:
            Heading("Your password is set", level=1).classes("text-h6")
            ui.label(f"You can sign in now with {invited.email}.").props("role=status").mark("invite-done")
            ui.link("Sign in", "/login").mark("invite-login")

    with card:
        Heading("Set your password", level=1).classes("text-h6")
        ui.label(f"Welcome, {invited.name}. {invited.organization_name} invited you to Simvado.").mark("invite-name")
        ui.label(f"You will sign in with {invited.email}.").classes(MUTED)
        errors = FieldErrors()
        password = errors.add(
            "password",
            ui.input("Password", password=True, password_toggle_button=True)
            .props("outlined dense autocomplete=new-password autofocus")
            .classes("w-full"),
        )
        repeated = errors.add(
            "repeated",
            ui.input("Password again", password=True)
            .props("outlined dense autocomplete=new-password")
            .classes("w-full"),
        )
        ui.label(f"Use {accounts.MIN_PASSWORD_LENGTH} or more characters: a few words you remember work well.").classes(
            f"text-caption {MUTED}"
        ).mark("invite-rules")

        async def submit() -> None:
            problem = invitations.password_error(password.value or "", repeated.value or "")
            if problem:
                errors.show({"repeated" if "differ" in problem else "password": problem})
                return
            try:
                await run.io_bound(_accept, token, password.value)
            except ValidationFailed as exc:
                errors.show(exc.field_errors)
                return
            except NotFound:
                card.clear()
                with card:
                    ui.label(invitations.BAD_LINK).props("role=alert").mark("invite-bad")
                return
            done()

        ui.button("Set password", icon="lock", on_click=submit).props("unelevated color=primary").classes(
            "w-full"
        ).mark("invite-submit")
