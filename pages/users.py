"""Users (platform admins): everyone on the platform, with role changes, deactivation and new accounts.

Adding people to an organization, and removing them, is the organization's People page; here a
platform admin changes roles (the service keeps the membership role in step and refuses what would
break the rules: console/services/users.py), deactivates and reactivates, and creates accounts.
"""

from __future__ import annotations

import uuid
from typing import Any

from nicegui import context, ui

from console.auth import Actor, Permission
from console.services import users
from console.services.listing import ListQuery
from models.enums import SubscriptionTier, UserRole
from pages.access import secured_page
from pages.components import calls, conflicts
from pages.components.dialogs import confirm
from pages.components.forms import FieldErrors
from pages.components.labels import enum_label, enum_options
from pages.components.listing import BulkAction, Filter, ListView, RowAction
from pages.components.pickers import SearchSelect
from pages.layout import frame

COLUMNS = [
    {"name": "name", "label": "Name", "field": "name", "sortable": True, "align": "left"},
    {"name": "email", "label": "Email", "field": "email", "sortable": True, "align": "left"},
    {"name": "role", "label": "Role", "field": "role", "align": "left"},
    {"name": "organization", "label": "Organization", "field": "organization", "align": "left"},
    {"name": "tier", "label": "Tier", "field": "tier", "align": "left"},
    {"name": "last_sign_in_at", "label": "Last sign-in", "field": "last_sign_in_at", "sortable": True, "align": "left"},
    {"name": "created_at", "label": "Created", "field": "created_at", "sortable": True, "align": "left"},
    {"name": "status", "label": "Status", "field": "status", "align": "left"},
]
STATUS_SLOT = (
    '<q-td :props="props"><q-badge :label="props.value" '
    ":color=\"{active: 'positive', deactivated: 'grey-7'}[props.value]\" /></q-td>"
)
NO_ORGANIZATION_LABEL = "No organization"
ENTERPRISE = {r.value for r in users.ENTERPRISE_ROLES}
RULES = (
    "Enterprise roles go with a membership of the person's organization (admin or participant). "
    "Someone who is a member keeps an enterprise role until removed from their organization's People page."
)


def _when(value) -> str:  # noqa: ANN001
    return value.strftime("%Y-%m-%d %H:%M") if value else "never"


def _cells(row: users.UserRow, me: uuid.UUID | None) -> dict[str, Any]:
    return {
        "id": str(row.id),
        "name": row.name,
        "email": row.email,
        "role": enum_label(row.role.value),
        "role_value": row.role.value,
        "organization": row.organization_name or "—",
        "tier": enum_label(row.subscription_tier.value),
        "last_sign_in_at": _when(row.last_sign_in_at),
        "created_at": row.created_at.strftime("%Y-%m-%d"),
        "status": row.status,
        "version": row.version,
        "self": row.id == me,
    }


async def _organizations(text: str) -> dict[str, str]:
    found = await calls.read(users.organization_options, search=text)
    wanted = text.strip().lower()
    none = {users.NO_ORGANIZATION: NO_ORGANIZATION_LABEL} if not wanted or wanted in "no organization" else {}
    return {**none, **found}


async def _organization_label(value: str) -> str | None:
    if value == users.NO_ORGANIZATION:
        return NO_ORGANIZATION_LABEL
    try:
        organization_id = uuid.UUID(value)
    except ValueError:
        return None
    return await calls.read(users.organization_name, organization_id=organization_id) or "Unknown organization"


@secured_page("/users", title="Users", permission=Permission.manage_platform)
async def users_page(actor: Actor):
    me = actor.user_id

    async def fetch(query: ListQuery):
        result = await calls.read(users.list_, query=query)
        return [_cells(r, me) for r in result.rows], result

    async def change_role(row: dict) -> None:
        held = conflicts.Held(version=int(row["version"]))
        errors = FieldErrors()
        with ui.dialog() as dialog, ui.card().classes("w-[560px] max-w-full").mark("role-dialog"):
            title = ui.label(f"Change the role of {row['name']}").classes("text-h6")
            dialog.props(f"aria-labelledby={title.html_id}")
            ui.label(f"{row['email']} · organization: {row['organization']}").classes("text-grey-8")
            role = errors.add(
                "role",
                ui.select(enum_options(UserRole), label="Role", value=row["role_value"]).props("outlined dense"),
            ).classes("w-full")
            # A rule's refusal appears under the role itself (FieldErrors), where the person looks.
            ui.label(RULES).classes("text-caption text-grey-8")

            async def reload() -> None:
                dialog.close()
                await view.reload()

            async def save() -> None:
                saved = await calls.submit(
                    users.change_role,
                    errors=errors,
                    on_stale=conflicts.resolver(
                        held, yours={"role": role.value}, labels={"role": "Role"}, retry=save, reload=reload
                    ),
                    user_id=uuid.UUID(row["id"]),
                    role=role.value,
                    version=held.version,
                )
                if saved is calls.REFUSED:
                    return
                held.version = saved.version
                ui.notify(f"{row['name']} is now {enum_label(saved.role.value)}.", type="positive")
                await reload()

            with ui.row().classes("w-full justify-end gap-2"):
                ui.button("Cancel", on_click=dialog.close).props("flat")
                ui.button("Save role", icon="save", on_click=save).props("unelevated color=primary").mark("role-save")
        dialog.open()

    async def deactivate(row: dict) -> None:
        if not await confirm(
            f"Deactivate {row['name']} ({row['email']})? They are signed out everywhere at once and cannot "
            "sign in until reactivated. Their history stays.",
            action="Deactivate",
        ):
            return
        if await calls.submit(users.deactivate, user_id=uuid.UUID(row["id"])) is calls.REFUSED:
            return
        ui.notify(f"Deactivated {row['name']}.", type="positive")
        await view.reload()

    async def reactivate(row: dict) -> None:
        if not await confirm(f"Reactivate {row['name']}? They can sign in again.", action="Reactivate", danger=False):
            return
        if await calls.submit(users.reactivate, user_id=uuid.UUID(row["id"])) is calls.REFUSED:
            return
        ui.notify(f"Reactivated {row['name']}.", type="positive")
        await view.reload()

    async def bulk(rows: list[dict], *, verb: str, wanted: str, op) -> None:  # noqa: ANN001
        chosen = [r for r in rows if r["status"] == wanted]
        if not chosen:
            ui.notify(f"None of the selected people can be {verb}d.", type="info")
            return
        names = ", ".join(r["name"] for r in chosen[:5]) + (f" and {len(chosen) - 5} more" if len(chosen) > 5 else "")
        consequence = (
            "They are signed out everywhere at once and cannot sign in until reactivated."
            if verb == "deactivate"
            else "They can sign in again."
        )
        count = f"{len(chosen)} {'person' if len(chosen) == 1 else 'people'}"
        if not await confirm(
            f"{verb.capitalize()} {count} ({names})? {consequence}",
            action=verb.capitalize(),
            danger=verb == "deactivate",
        ):
            return
        result = await calls.submit(op, user_ids=[uuid.UUID(r["id"]) for r in chosen])
        if result is calls.REFUSED:
            return
        if result.changed:
            done = len(result.changed)
            ui.notify(f"{verb.capitalize()}d {done} {'person' if done == 1 else 'people'}.", type="positive")
        if result.refused:
            by_id = {r["id"]: r["name"] for r in chosen}
            show_refused(verb, [(by_id.get(str(i), str(i)), why) for i, why in result.refused.items()])
        view.clear_selection()
        await view.reload()

    def show_refused(verb: str, refused: list[tuple[str, str]]) -> None:
        # In the page's own holder: the bulk button that asked is gone once the selection clears.
        with dialog_host, ui.dialog() as dialog, ui.card().classes("w-[560px] max-w-full").mark("bulk-refused"):
            title = ui.label(f"Not {verb}d: {len(refused)}").classes("text-h6")
            dialog.props(f"aria-labelledby={title.html_id}")
            with ui.column().classes("gap-1"):
                for name, why in refused:
                    ui.label(f"{name}: {why}")
            with ui.row().classes("w-full justify-end"):
                ui.button("OK", on_click=dialog.close).props("flat")
        dialog.open()

    async def new_user() -> None:
        errors = FieldErrors()
        with ui.dialog() as dialog, ui.card().classes("w-[560px] max-w-full").mark("create-dialog"):
            title = ui.label("New user").classes("text-h6")
            dialog.props(f"aria-labelledby={title.html_id}")
            name = errors.add("name", ui.input("Name *").props("outlined dense maxlength=255 autofocus")).classes(
                "w-full"
            )
            email = errors.add("email", ui.input("Email *").props("outlined dense maxlength=255 type=email")).classes(
                "w-full"
            )
            role = errors.add(
                "role",
                ui.select(enum_options(UserRole), label="Role *", value=UserRole.individual.value).props(
                    "outlined dense"
                ),
            ).classes("w-full")
            organization = errors.add(
                "organization_id",
                SearchSelect("Organization *", lambda t: calls.read(users.organization_options, search=t))
                .props("outlined dense options-dense")
                .classes("w-full"),
            )
            organization.bind_visibility_from(role, "value", backward=lambda v: v in ENTERPRISE)
            password = errors.add(
                "password",
                ui.input("Initial password (optional)", password=True, password_toggle_button=True).props(
                    'outlined dense autocomplete=new-password hint="At least 10 characters. Empty: they cannot '
                    'sign in until someone sets one."'
                ),
            ).classes("w-full")

            async def submit() -> None:
                data = {
                    "name": name.value or "",
                    "email": (email.value or "").strip(),
                    "role": role.value,
                    "organization_id": organization.value if role.value in ENTERPRISE and organization.value else None,
                    "password": password.value or None,
                }
                created = await calls.submit(users.create, errors=errors, data=data)
                if created is calls.REFUSED:
                    return
                dialog.close()
                ui.notify(f"Created {created.name} ({created.email}).", type="positive")
                await view.reload(first_page=True)

            with ui.row().classes("w-full justify-end gap-2"):
                ui.button("Cancel", on_click=dialog.close).props("flat")
                ui.button("Create user", icon="person_add", on_click=submit).props("unelevated color=primary").mark(
                    "create-submit"
                )
        dialog.open()
        await organization.load()

    asked = context.client.request.query_params.get("organization") if context.client.request else None
    with frame(actor, "Users", breadcrumbs=[("Users", None)]):
        ui.label(
            "Everyone on the platform. Add people to an organization, or remove them, in the organization's "
            "People page; here you change roles, deactivate and reactivate accounts, and create them."
        ).classes("text-grey-8")
        dialog_host = ui.element("div")
        view = ListView(
            columns=COLUMNS,
            fetch=fetch,
            marker="user",
            noun=("person", "people"),
            path="/users",
            sort="created_at",
            descending=True,
            sortable=list(users.SORTABLE),
            search_placeholder="Search name or email…",
            filters=[
                Filter("role", "Role", enum_options(UserRole), width="w-48"),
                Filter(
                    "organization",
                    "Organization",
                    kind="search",
                    width="w-56",
                    search=_organizations,
                    value_label=await _organization_label(asked) if asked else None,
                ),
                Filter("tier", "Tier", enum_options(SubscriptionTier), width="w-36"),
                Filter("status", "Status", {s: s.capitalize() for s in users.STATUSES}, width="w-36"),
            ],
            slots={"body-cell-status": STATUS_SLOT},
            row_actions=[
                RowAction("change_role", "Change role", "manage_accounts", change_role, when="!props.row.self"),
                RowAction(
                    "deactivate",
                    "Deactivate",
                    "person_off",
                    deactivate,
                    when="props.row.status === 'active' && !props.row.self",
                    color="negative",
                ),
                RowAction("reactivate", "Reactivate", "person", reactivate, when="props.row.status === 'deactivated'"),
            ],
            bulk_actions=[
                BulkAction(
                    "deactivate",
                    "Deactivate selected",
                    "person_off",
                    lambda rows: bulk(rows, verb="deactivate", wanted="active", op=users.deactivate_many),
                    color="negative",
                ),
                BulkAction(
                    "reactivate",
                    "Reactivate selected",
                    "person",
                    lambda rows: bulk(rows, verb="reactivate", wanted="deactivated", op=users.reactivate_many),
                ),
            ],
            empty_message="No one matches this view. Clear the search or the filters, or add someone with New user.",
            on_new=new_user,
            new_label="New user",
        )
        await view.reload()
