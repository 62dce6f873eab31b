"""The organization forms: New organization, Edit (name, slug, plan, seat limit) and the SSO settings.

Edit and SSO share the organization's edit version (`conflicts.Held`): a save based on an older one
opens the conflict dialog. The client secret field is a password input that is always drawn empty:
the page never holds the stored secret, only whether one is stored.
"""

from __future__ import annotations

import re
from typing import Any

from nicegui import ui
from slugify import slugify

from console.services import organizations
from console.services.identity import sso
from console.services.versions import Stale
from models.enums import OrgPlan
from pages.components import calls, conflicts
from pages.components.forms import ChipsField, FieldErrors
from pages.components.labels import enum_options

_SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")


def _seats(value: Any) -> int | None:
    return int(value) if value not in (None, "") else None


def _slug_rule(value: str | None) -> str | None:
    """The live check under the slug field (the service checks again, and uniqueness)."""
    text = (value or "").strip().lower()
    return None if not text or _SLUG.fullmatch(text) else f"Use {organizations.SLUG_RULE}."


def _org_fields(errors: FieldErrors, org: organizations.OrganizationView | None) -> dict[str, ui.element]:
    """Name, slug, plan and seat limit, filled from `org` (None: a new one)."""
    name = errors.add(
        "name",
        ui.input("Name *", value=org.name if org else "")
        .props("outlined dense maxlength=255 autofocus")
        .classes("w-full"),
    )
    slug = errors.add(
        "slug",
        ui.input("Slug", value=org.slug if org else "", validation=_slug_rule)
        .props("outlined dense maxlength=100")
        .classes("w-full"),
    )
    plan = errors.add(
        "plan",
        ui.select(enum_options(OrgPlan), label="Plan *", value=org.plan.value if org else OrgPlan.standard.value)
        .props("outlined dense")
        .classes("w-full"),
    )
    seat_limit = errors.add(
        "seat_limit",
        ui.number("Seat limit (empty = no limit)", value=org.seat_limit if org else None, min=0, precision=0)
        .props("outlined dense")
        .classes("w-full"),
    )
    return {"name": name, "slug": slug, "plan": plan, "seat_limit": seat_limit}


def _data(fields: dict[str, ui.element]) -> dict[str, Any]:
    return {
        "name": fields["name"].value or "",
        "slug": (fields["slug"].value or "").strip() or None,
        "plan": fields["plan"].value,
        "seat_limit": _seats(fields["seat_limit"].value),
    }


async def open_create() -> None:
    """The New organization dialog; a created organization opens its page."""
    errors = FieldErrors()
    with ui.dialog() as dialog, ui.card().classes("min-w-[480px]").mark("org-create-dialog"):
        title = ui.label("New organization").classes("text-h6")
        dialog.props(f"aria-labelledby={title.html_id}")
        fields = _org_fields(errors, None)
        slug = fields["slug"]

        def preview() -> None:
            # What an empty slug becomes; set through _props: it is made of the user's text.
            made = slugify(fields["name"].value or "", max_length=90, word_boundary=True) or "organization"
            slug._props["hint"] = f"Empty: made from the name ({made}). Part of the page's address."
            slug.update()

        fields["name"].on_value_change(preview)
        preview()

        async def submit() -> None:
            created = await calls.submit(organizations.create, errors=errors, data=_data(fields))
            if created is calls.REFUSED:
                return
            dialog.close()
            ui.notify(f"Created “{created.name}”.", type="positive")
            ui.navigate.to(f"/organizations/{created.slug}")

        with ui.row().classes("w-full justify-end gap-2"):
            ui.button("Cancel", on_click=dialog.close).props("flat")
            ui.button("Create organization", icon="add", on_click=submit).props("unelevated color=primary").mark(
                "org-create-submit"
            )
    dialog.open()


async def _resolve(
    exc: Stale, held: conflicts.Held, yours: dict[str, Any], labels: dict[str, str], retry, slug: str
) -> None:  # noqa: ANN001
    """The conflict dialog; Reload opens the organization where it is now (its slug may have moved)."""
    choice = await conflicts.ask(exc, yours=yours, labels=labels)
    if choice == "reload":
        ui.navigate.to(f"/organizations/{exc.current.get('slug') or slug}")
    elif choice == "overwrite":
        held.version = exc.version
        await retry()


def open_edit(org: organizations.OrganizationView, held: conflicts.Held, *, tab: str) -> None:
    """The Edit dialog: every field of the organization's own, saved with the version the page holds."""
    errors = FieldErrors()
    with ui.dialog() as dialog, ui.card().classes("min-w-[480px]").mark("org-edit-dialog"):
        title = ui.label("Edit organization").classes("text-h6")
        dialog.props(f"aria-labelledby={title.html_id}")
        fields = _org_fields(errors, org)
        with ui.row().classes("items-center no-wrap gap-2 text-deep-orange-10").mark("slug-warning"):
            ui.icon("link_off")
            ui.label(
                f"Changing the slug moves this page: links and bookmarks to /organizations/{org.slug} stop working."
            ).classes("text-caption")

        async def save() -> None:
            data = _data(fields)
            if data["slug"] is None:
                data["slug"] = org.slug  # an emptied field keeps the address rather than making a new one
            saved = await calls.submit(
                organizations.update,
                errors=errors,
                on_stale=lambda exc: _resolve(exc, held, data, organizations.LABELS, save, org.slug),
                organization_id=org.id,
                data=data,
                version=held.version,
            )
            if saved is calls.REFUSED:
                return
            held.version = saved.version
            dialog.close()
            ui.notify("Saved.", type="positive")
            ui.navigate.to(f"/organizations/{saved.slug}?tab={tab}")

        with ui.row().classes("w-full justify-end gap-2"):
            ui.button("Cancel", on_click=dialog.close).props("flat")
            ui.button("Save", icon="save", on_click=save).props("unelevated color=primary").mark("org-edit-save")
    dialog.open()


def sso_card(org: organizations.OrganizationView, held: conflicts.Held) -> None:
    """The SSO settings form. The secret is write-only: empty keeps the stored one."""
    errors = FieldErrors()
    stored = {"secret": org.sso_secret_stored}
    with ui.card().classes("w-full max-w-3xl").mark("sso-card"):
        ui.label(
            "What a sign-in through the organization's identity provider needs (OpenID Connect). "
            "People whose email is in one of its domains will sign in there."
        ).classes("text-grey-8")
        enabled = errors.add("sso_enabled", ui.switch("Single sign-on enabled", value=org.sso_enabled))
        with ui.grid(columns=2).classes("w-full gap-3"):
            provider = errors.add(
                "sso_provider",
                ui.select({"": "—", **organizations.PROVIDERS}, label="Provider", value=org.sso_provider or "").props(
                    "outlined dense"
                ),
            )
            issuer = errors.add(
                "sso_issuer_url",
                ui.input("Issuer URL", value=org.sso_issuer_url or "", placeholder="https://login.example.com").props(
                    "outlined dense maxlength=500 type=url"
                ),
            )
            client_id = errors.add(
                "sso_client_id",
                ui.input("Client ID", value=org.sso_client_id or "").props("outlined dense maxlength=255"),
            )
            with ui.column().classes("gap-1"):
                secret = errors.add(
                    "sso_client_secret",
                    ui.input("Client secret", password=True, value="")
                    .props("outlined dense maxlength=2000 autocomplete=new-password")
                    .classes("w-full"),
                )
                # Under the field it is about: whether a secret is stored (never the secret itself).
                secret_state = ui.label("").classes("text-caption text-grey-8").mark("sso-secret-state")
        domains = errors.add(
            "sso_email_domains",
            ChipsField("Email domains", value=list(org.sso_email_domains)).props("outlined dense").classes("w-full"),
        )

        def show_secret_state() -> None:
            secret_state.text = (
                "A client secret is stored. Leave the field empty to keep it; type a new one to replace it."
                if stored["secret"]
                else "No client secret is stored yet."
            )

        show_secret_state()

        async def save() -> None:
            data = {
                "sso_enabled": bool(enabled.value),
                "sso_provider": provider.value or None,
                "sso_issuer_url": issuer.value or None,
                "sso_client_id": client_id.value or None,
                "sso_client_secret": secret.value or None,
                "sso_email_domains": domains.settle(),
            }
            shown = {k: v for k, v in data.items() if k != "sso_client_secret"}
            saved = await calls.submit(
                organizations.update_sso,
                errors=errors,
                on_stale=lambda exc: _resolve(exc, held, shown, organizations.SSO_LABELS, save, org.slug),
                organization_id=org.id,
                data=data,
                version=held.version,
            )
            if saved is calls.REFUSED:
                return
            held.version = saved.version
            stored["secret"] = saved.sso_secret_stored
            secret.set_value("")  # the typed secret leaves the page once saved
            show_secret_state()
            domains.set_value(list(saved.sso_email_domains))
            ui.notify("Single sign-on settings saved.", type="positive")

        with ui.row().classes("w-full justify-end"):
            ui.button("Save SSO settings", icon="save", on_click=save).props("unelevated no-caps color=primary").mark(
                "sso-save"
            )


def sso_required_card(org: organizations.OrganizationView, held: conflicts.Held) -> None:
    """The "Require SSO" switch: members may then not sign in with a password (docs/identity.md).
    Saved at once; the service refuses it while single sign-on is off, and it moves the edit version."""
    with ui.card().classes("w-full max-w-3xl").mark("sso-required-card"):
        ui.label(
            "With SSO required, the organization's members must use Continue with SSO: a password sign-in is "
            "refused (platform admins are not members and are never affected)."
        ).classes("text-grey-8")
        state = {"value": org.sso_required}

        async def toggle(e) -> None:  # noqa: ANN001
            wanted = bool(e.value)
            if wanted == state["value"]:
                return
            saved = await calls.submit(sso.set_sso_required, organization_id=org.id, required=wanted)
            if saved is calls.REFUSED:
                switch.set_value(state["value"])  # back to what is stored
                return
            state["value"] = wanted
            held.version = saved.version
            ui.notify("SSO is now required for members." if wanted else "Members may sign in with a password again.")

        switch = ui.switch("Require SSO for members", value=org.sso_required, on_change=toggle).mark("sso-required")
        if not org.sso_enabled:
            # Not disabled: once SSO is turned on and saved above, the switch works without a reload.
            ui.label("Needs single sign-on turned on and saved first.").classes("text-caption text-grey-8").mark(
                "sso-required-why"
            )
