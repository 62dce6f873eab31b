"""/people: an organization's members (search, filters, bulk moves and removals), adding and inviting
them, the seats they take, and the invitations still open."""

from __future__ import annotations

import dataclasses
import uuid

from nicegui import ui

from console.auth import Actor, Permission
from console.services.listing import ListQuery
from console.services.people import departments, invitations, members, scope
from pages.access import secured_page
from pages.assignments.dialogs import assign_dialog
from pages.components import calls
from pages.components.dialogs import confirm
from pages.components.forms import FieldErrors
from pages.components.listing import BulkAction, Filter, RowAction, list_view
from pages.layout import MUTED, Heading, frame
from pages.people.common import ROLE_OPTIONS, Chosen, choose, seats_bar, tabs
from pages.people.common import dialog as dialog_

COLUMNS = [
    {"name": "name", "label": "Name", "field": "name", "sortable": True, "align": "left"},
    {"name": "email", "label": "Email", "field": "email", "sortable": True, "align": "left"},
    {"name": "role", "label": "Role", "field": "role_label", "sortable": True, "align": "left"},
    {"name": "department", "label": "Department", "field": "department", "sortable": True, "align": "left"},
    {"name": "status", "label": "Sign-in", "field": "status", "align": "left"},
    {"name": "assignments", "label": "Assignments done", "field": "assignments", "sortable": True, "align": "left"},
    {"name": "last_played_at", "label": "Last played", "field": "last_played_at", "sortable": True, "align": "left"},
    {"name": "joined_at", "label": "Joined", "field": "joined_at", "sortable": True, "align": "left"},
]


def _day(value) -> str:  # noqa: ANN001
    return value.strftime("%Y-%m-%d") if value else "—"


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


@secured_page("/people", title="People", permission=Permission.manage_organization)
async def people_page(actor: Actor, organization: str = ""):
    base_url = str(ui.context.client.request.base_url).rstrip("/")
    with frame(actor, "People", breadcrumbs=[("People", None)]):
        chosen = await choose(actor, organization, "/people")
        if chosen is not None:
            await _members(chosen, base_url)


async def _members(chosen: Chosen, base_url: str) -> None:
    org_id = chosen.id
    root = ui.context.slot.parent  # the page's content: what dialogs' follow-ups draw in
    tabs("/people", chosen)
    dept_names = await calls.read(departments.names, organization_id=org_id)

    @ui.refreshable
    async def seats_and_invitations() -> None:
        _, use = await calls.read(scope.seat_use, organization_id=org_id)
        seats_bar(use)

    await seats_and_invitations()

    async def fetch(query: ListQuery):
        scoped = dataclasses.replace(query, filters={**query.filters, "organization_id": str(org_id)})
        result = await calls.read(members.list_, query=scoped)
        return [
            {
                "id": str(r.id),
                "user_id": str(r.user_id),
                "name": r.name,
                "email": r.email,
                "role": r.role.value,
                "role_label": ROLE_OPTIONS[r.role.value],
                "department": r.department or "—",
                "status": "active" if r.has_password else "invited",
                "assignments": f"{r.assignments_done} / {r.assignments_total}",
                "last_played_at": _day(r.last_played_at),
                "joined_at": _day(r.joined_at),
            }
            for r in result.rows
        ], result

    async def changed(message: str) -> None:
        with root:  # not the button's context: a bulk button is gone once the selection is cleared
            ui.notify(message, type="positive")
        view.clear_selection()
        await view.reload()
        seats_and_invitations.refresh()
        open_invitations.refresh()

    def department_field(errors: FieldErrors, value: str = "") -> ui.select:
        return errors.add(
            "department",
            ui.select(dept_names, label="Department", value=value or None, with_input=True, new_value_mode="add-unique")
            .props('outlined dense clearable hint="Pick one, or type a new name and press Enter"')
            .classes("w-full"),
        )

    async def member_dialog(*, invite: bool) -> None:
        errors = FieldErrors()
        title = "Invite a member" if invite else "Add a member"
        with (
            dialog_(root) as dialog,
            ui.card().classes("min-w-[480px]").mark("invite-dialog" if invite else "add-dialog"),
        ):
            Heading(title, level=2).classes("text-h6")
            if invite:
                ui.label("They get a one-time link to set their password. Their seat is taken now.").classes(MUTED)
            email = errors.add(
                "email", ui.input("Email *").props("outlined dense type=email autofocus").classes("w-full")
            )
            name = errors.add("name", ui.input("Name *").props("outlined dense maxlength=255").classes("w-full"))
            role = errors.add(
                "role", ui.select(ROLE_OPTIONS, label="Role", value="participant").props("outlined dense")
            )
            department = department_field(errors)
            seats_error = ui.label("").classes("text-negative").props("role=alert").mark("seats-error")

            async def submit() -> None:
                seats_error.text = ""
                data = {
                    "email": email.value or "",
                    "name": name.value or "",
                    "role": role.value,
                    "department": department.value or None,
                }
                op = invitations.invite if invite else members.add
                done = await calls.submit(op, errors=errors, organization_id=org_id, data=data)
                if done is calls.REFUSED:
                    if "seats" in errors.last:  # the seat refusal, with how many are missing, in the dialog
                        seats_error.text = (
                            f"No seat left: {errors.last['seats']}. Remove someone or ask for more seats."
                        )
                    return
                dialog.close()
                # In the page, not the closed dialog: a dialog opened in another one is deleted with it.
                with root:
                    if invite:
                        show_link(done)
                    await changed(f"{'Invited' if invite else 'Added'} {data['email'].strip()}.")

            with ui.row().classes("w-full justify-end gap-2"):
                ui.button("Cancel", on_click=dialog.close).props("flat")
                ui.button("Send invitation" if invite else "Add member", on_click=submit).props(
                    "unelevated color=primary"
                ).mark("member-submit")
        dialog.open()

    def show_link(created: invitations.CreatedInvitation) -> None:
        """The link, once: with Copy and a warning that it will not be shown again."""
        link = f"{base_url}/invite/{created.token}"
        with dialog_(root, persistent=True) as dialog, ui.card().classes("min-w-[600px]").mark("invite-link"):
            Heading(f"Invitation for {created.name}", level=2).classes("text-h6")
            with ui.row().classes("items-center gap-2 text-deep-orange-10 no-wrap"):
                ui.icon("warning")
                ui.label(
                    "Copy this link now and send it to them. It is shown only once, works once, and expires in 7 days."
                ).mark("link-warning")
            with ui.row().classes("w-full items-center no-wrap gap-2"):
                ui.input(value=link).props("readonly outlined dense input-class=font-mono").classes("flex-grow").mark(
                    "invite-url"
                )
                ui.button(
                    "Copy", icon="content_copy", on_click=lambda: (ui.clipboard.write(link), ui.notify("Copied."))
                ).props("unelevated color=primary").mark("copy-link")
            with ui.row().classes("w-full justify-end"):
                ui.button("I have copied it", on_click=dialog.close).props("flat").mark("link-done")
        dialog.open()

    async def move_dialog(rows: list[dict]) -> None:
        errors = FieldErrors()
        first = rows[0]["department"] if len(rows) == 1 and rows[0]["department"] != "—" else ""
        with dialog_(root) as dialog, ui.card().classes("min-w-[420px]").mark("move-dialog"):
            who = rows[0]["name"] if len(rows) == 1 else _plural(len(rows), "member")
            Heading(f"Move {who} to a department", level=2).classes("text-h6")
            department = department_field(errors, first)

            async def submit() -> None:
                ids = list(dict.fromkeys(uuid.UUID(r["id"]) for r in rows))
                done = await calls.submit(
                    members.move_to_department, errors=errors, membership_ids=ids, department=department.value or None
                )
                if done is calls.REFUSED:
                    return
                target = department.value or "no department"
                if department.value and department.value not in dept_names:
                    dept_names.append(department.value)
                await changed(f"Moved {_plural(len(ids), 'member')} to {target}.")
                dialog.close()

            with ui.row().classes("w-full justify-end gap-2"):
                ui.button("Cancel", on_click=dialog.close).props("flat")
                ui.button("Move", on_click=submit).props("unelevated color=primary").mark("move-submit")
        dialog.open()

    async def role_dialog(row: dict) -> None:
        with dialog_(root) as dialog, ui.card().classes("min-w-[380px]").mark("role-dialog"):
            Heading(f"Role of {row['name']}", level=2).classes("text-h6")
            role = ui.radio(ROLE_OPTIONS, value=row["role"]).mark("role-choice")
            ui.label("Admins manage the organization's people and assignments.").classes(MUTED)

            async def submit() -> None:
                done = await calls.submit(members.change_role, membership_id=uuid.UUID(row["id"]), role=role.value)
                if done is not calls.REFUSED:
                    await changed(f"{row['name']} is now {ROLE_OPTIONS[role.value].lower()}.")
                    dialog.close()

            with ui.row().classes("w-full justify-end gap-2"):
                ui.button("Cancel", on_click=dialog.close).props("flat")
                ui.button("Save", on_click=submit).props("unelevated color=primary").mark("role-submit")
        dialog.open()

    async def remove(rows: list[dict]) -> None:
        names = ", ".join(r["name"] for r in rows[:5]) + (f" and {len(rows) - 5} more" if len(rows) > 5 else "")
        if not await confirm(
            f"Remove {names} from {chosen.name}? Their seats are freed; their accounts, results and assignments stay.",
            action="Remove",
        ):
            return
        ids = [uuid.UUID(r["id"]) for r in rows]
        if await calls.submit(members.remove, membership_ids=ids) is not calls.REFUSED:
            await changed(f"Removed {_plural(len(rows), 'member')}.")

    async def invite_again(row: dict) -> None:
        created = await calls.submit(invitations.reinvite, membership_id=uuid.UUID(row["id"]))
        if created is not calls.REFUSED:
            show_link(created)
            open_invitations.refresh()

    with ui.row().classes("gap-2"):
        ui.button("Invite", icon="forward_to_inbox", on_click=lambda: member_dialog(invite=True)).props(
            "outline no-caps color=primary"
        ).mark("invite-open")
    view = await list_view(
        columns=COLUMNS,
        fetch=fetch,
        marker="member",
        noun=("member", "members"),
        path="/people",
        sort="name",
        sortable=members.SORTABLE,
        search_placeholder="Search name or email…",
        filters=[
            # Keeps a platform admin's organization in the list's URL (the chooser above sets it).
            *([Filter("organization", "Organization", options={str(org_id): chosen.name})] if chosen.query() else []),
            Filter("role", "Role", options=ROLE_OPTIONS),
            Filter(
                "department",
                "Department",
                options={**{d: d for d in dept_names}, members.NO_DEPARTMENT: "(no department)"},
                width="w-48",
            ),
        ],
        row_actions=[
            RowAction("role", "Role", "manage_accounts", role_dialog),
            RowAction("move", "Move", "drive_file_move", lambda row: move_dialog([row])),
            RowAction(
                "invite", "Invite again", "forward_to_inbox", invite_again, when="props.row.status === 'invited'"
            ),
            RowAction("remove", "Remove", "person_remove", lambda row: remove([row]), color="negative"),
        ],
        bulk_actions=[
            BulkAction(
                "assign",
                "Assign a simulation",
                "assignment_add",
                lambda rows: assign_dialog(
                    root, org_id, changed, people={r["user_id"]: f"{r['name']} <{r['email']}>" for r in rows}
                ),
            ),
            BulkAction("move", "Move to department", "drive_file_move", move_dialog),
            BulkAction("remove", "Remove", "person_remove", remove, color="negative"),
        ],
        empty_message="No members match. Add one, invite one, or import a CSV.",
        on_new=lambda: member_dialog(invite=False),
        new_label="Add member",
    )
    if "organization" in view._filter_inputs:
        view._filter_inputs["organization"].set_visibility(False)

    @ui.refreshable
    async def open_invitations() -> None:
        opened = await calls.read(invitations.list_open, organization_id=org_id)
        Heading("Open invitations", level=2).classes("text-h6 mt-4")
        if not opened:
            ui.label("No invitation is waiting to be used.").classes(MUTED).mark("no-invitations")
            return
        with ui.column().classes("gap-1").mark("invitations"):
            for item in opened:
                with ui.row().classes("items-center gap-3"):
                    ui.label(f"{item.name} <{item.email}>")
                    ui.label(f"expires {item.expires_at:%Y-%m-%d %H:%M} UTC").classes(MUTED)
                    ui.button("Revoke", icon="link_off", on_click=lambda i=item: revoke(i)).props(
                        "flat dense no-caps color=negative"
                    ).mark("revoke-invitation")

    async def revoke(item: invitations.OpenInvitation) -> None:
        if not await confirm(f"Revoke the invitation for {item.email}? The link stops working.", action="Revoke"):
            return
        if await calls.submit(invitations.revoke, invitation_id=item.id) is not calls.REFUSED:
            ui.notify(f"Revoked the invitation for {item.email}.", type="positive")
            open_invitations.refresh()

    await open_invitations()
