"""The assign dialog (from /assignments, and from a selection on /people) and the due date dialog.

Assigning is checked first and done second: "Check" runs the service's dry run and lists who will be
assigned, who already holds it, who is not a member here; "Assign" is offered only after a check of
exactly what is on screen (changing anything asks for a new check), and the service checks it all
again when it writes.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import date

from nicegui import ui

from console.assignment_routes import EMAILS_PATH
from console.services.assignments import assigning
from console.services.people import departments
from pages.components import calls
from pages.components.forms import FieldErrors
from pages.components.pickers import MultiSearchSelect, SearchSelect
from pages.components.uploader import Uploader, UploadResult
from pages.layout import MUTED, Heading
from pages.people.common import dialog as dialog_

WHO = {"people": "People", "departments": "Departments", "file": "A CSV file of emails"}
SHOWN = 12  # names listed per group in the check's summary; the rest counted


def _plural(n: int, one: str, many: str | None = None) -> str:
    return f"{n} {one if n == 1 else (many or one + 's')}"


def _names(names: list[str]) -> str:
    more = len(names) - SHOWN
    return ", ".join(names[:SHOWN]) + (f" and {more} more" if more > 0 else "")


async def assign_dialog(
    root: ui.element,
    organization_id: uuid.UUID,
    on_done: Callable[[str], Awaitable[None]],
    *,
    people: dict[str, str] | None = None,
) -> None:
    """Open the assign dialog; `people` ({user id: label}) preselects a selection from /people."""
    errors = FieldErrors()
    dept_names = await calls.read(departments.names, organization_id=organization_id)
    emails: list[str] = []
    checked: dict | None = None  # the request the last check was for

    with dialog_(root) as dialog, ui.card().classes("w-[640px] max-w-full").mark("assign-dialog"):
        Heading("Assign a simulation", level=2).classes("text-h6")
        simulation = errors.add(
            "simulation_id",
            SearchSelect(
                "Simulation *",
                lambda text: calls.read(assigning.simulation_options, search=text),
            )
            .props("outlined dense options-dense")
            .classes("w-full")
            .mark("assign-simulation"),
        )
        ui.label("Only published simulations can be assigned.").classes(MUTED + " text-caption")
        who = ui.radio(WHO, value="people").props("inline").mark("assign-who")
        chosen_people = (
            MultiSearchSelect(
                "Which people",
                lambda text: calls.read(assigning.people_options, organization_id=organization_id, search=text),
                chosen=people,
            )
            .props("outlined dense options-dense")
            .classes("w-full")
            .mark("assign-people")
        )
        chosen_people.bind_visibility_from(who, "value", value="people")
        chosen_departments = (
            ui.select(
                {**{d: d for d in dept_names}, assigning.NO_DEPARTMENT: "(no department)"},
                label="Which departments",
                multiple=True,
            )
            .props('outlined dense use-chips hint="Each department\'s participants"')
            .classes("w-full")
            .mark("assign-departments")
        )
        chosen_departments.bind_visibility_from(who, "value", value="departments")
        with ui.column().classes("w-full gap-1") as file_box:
            ui.label("A column headed email, or one address per line. At most 512 KiB.").classes(MUTED)

            async def uploaded(result: UploadResult) -> None:
                emails.clear()
                if not result.ok:
                    file_summary.text = f"{result.name} was not read: {result.reason}"
                    file_summary.classes(replace="text-negative")
                    return
                emails.extend(result.body.get("emails") or [])
                problems = result.body.get("problems") or []
                more = int(result.body.get("more_problems") or 0)
                file_summary.classes(replace="text-grey-9")
                file_summary.text = f"{result.name}: {_plural(len(emails), 'address', 'addresses')} read" + (
                    f"; {_plural(len(problems) + more, 'line')} skipped — " + "; ".join(problems[:5])
                    if problems
                    else "."
                )

            Uploader(
                f"{EMAILS_PATH}?organization={organization_id}",
                on_result=uploaded,
                accept=".csv,text/csv,text/plain",
                max_file_size=assigning.MAX_CSV_BYTES,
                title="Drop a CSV of emails here, or choose it",
                button="Choose a CSV file",
            ).classes("w-full").mark("assign-upload")
            file_summary = ui.label("").props('aria-live="polite"').mark("assign-file-summary")
        file_box.bind_visibility_from(who, "value", value="file")
        due = errors.add(
            "due_date",
            ui.input("Due date (optional)").props("outlined dense type=date stack-label clearable").classes("w-60"),
        )
        summary = ui.column().classes("w-full gap-1").props('aria-live="polite"').mark("assign-summary")

        def request() -> dict:
            data: dict = {"simulation_id": simulation.value or None, "due_date": due.value or None}
            if who.value == "people":
                data["user_ids"] = list(chosen_people.chosen)
            elif who.value == "departments":
                data["departments"] = list(chosen_departments.value or [])
            else:
                data["emails"] = list(emails)
            return data

        def show(outcome: assigning.AssignOutcome) -> None:
            summary.clear()
            with summary:
                verb = "Will assign" if outcome.dry_run else "Assigned"
                ui.label(
                    f"{verb} {outcome.simulation_title} to {_plural(len(outcome.created), 'person', 'people')}"
                    + (f", due {outcome.due_date:%Y-%m-%d}." if outcome.due_date else ", with no due date.")
                ).classes("font-medium").mark("assign-will")
                if outcome.created:
                    ui.label(_names(outcome.created)).classes(MUTED)
                if outcome.completed_by_earlier_play:
                    ui.label(
                        f"{_plural(outcome.completed_by_earlier_play, 'person has', 'people have')} already played "
                        "it through: their assignment starts completed."
                    ).classes(MUTED)
                for names, what in (
                    (outcome.already, "already hold an open assignment of it (not duplicated)"),
                    (outcome.not_found, "are not members of this organization (skipped)"),
                    (outcome.deactivated, "are deactivated (skipped)"),
                    (outcome.admins, "are admins, who are not assigned simulations (skipped)"),
                ):
                    if names:
                        ui.label(f"{len(names)} {what}: {_names(names)}").classes("text-deep-orange-10")

        async def check() -> None:
            nonlocal checked
            data = request()
            outcome = await calls.submit(
                assigning.assign, errors=errors, organization_id=organization_id, data=data, dry_run=True
            )
            if outcome is calls.REFUSED:
                summary.clear()
                checked = None
            else:
                show(outcome)
                checked = data if outcome.created else None
            confirm.set_enabled(checked is not None)
            if checked is not None:
                confirm.text = f"Assign {_plural(len(outcome.created), 'person', 'people')}"

        async def apply() -> None:
            data = request()
            if checked != data:  # something changed since the check: check again first
                await check()
                return
            outcome = await calls.submit(assigning.assign, errors=errors, organization_id=organization_id, data=data)
            if outcome is calls.REFUSED:
                return
            dialog.close()
            skipped = len(outcome.already) + len(outcome.not_found) + len(outcome.deactivated) + len(outcome.admins)
            with root:  # not the closed dialog's context: it is deleted
                await on_done(
                    f"Assigned {outcome.simulation_title} to {_plural(len(outcome.created), 'person', 'people')}."
                    + (f" {skipped} skipped." if skipped else "")
                )

        def reset() -> None:
            nonlocal checked
            checked = None
            confirm.set_enabled(False)
            confirm.text = "Assign"
            summary.clear()

        for element in (simulation, who, chosen_people, chosen_departments, due):
            element.on_value_change(lambda _: reset())

        with ui.row().classes("w-full justify-end gap-2"):
            ui.button("Cancel", on_click=dialog.close).props("flat")
            ui.button("Check", icon="fact_check", on_click=check).props("outline color=primary").mark("assign-check")
            confirm = ui.button("Assign", icon="assignment_add", on_click=apply).props("unelevated color=primary")
            confirm.mark("assign-submit").set_enabled(False)
    dialog.open()
    await simulation.load()
    await chosen_people.load()


async def due_date_dialog(
    root: ui.element,
    organization_id: uuid.UUID,
    rows: list[dict],
    on_done: Callable[[str], Awaitable[None]],
) -> None:
    """A new due date (or none) for the chosen assignments; completed ones keep theirs."""
    errors = FieldErrors()
    open_rows = [r for r in rows if r["status"] != "completed"]
    with dialog_(root) as dialog, ui.card().classes("min-w-[420px]").mark("due-dialog"):
        who = f"{rows[0]['name']} · {rows[0]['simulation']}" if len(rows) == 1 else _plural(len(rows), "assignment")
        Heading(f"Due date of {who}", level=2).classes("text-h6")
        if len(open_rows) < len(rows):
            ui.label(
                f"{_plural(len(rows) - len(open_rows), 'completed assignment keeps', 'completed assignments keep')} "
                "its due date."
            ).classes(MUTED)
        first = open_rows[0]["due_date"] if len(open_rows) == 1 else ""
        due = errors.add(
            "due_date",
            ui.input("New due date", value=first or "").props("outlined dense type=date stack-label").classes("w-60"),
        )
        no_date = ui.checkbox("No due date").mark("due-none")
        due.bind_enabled_from(no_date, "value", backward=lambda v: not v)

        async def submit() -> None:
            if not no_date.value and not due.value:
                errors.show({"due_date": "choose a date, or No due date"})
                return
            try:
                new = None if no_date.value else date.fromisoformat(due.value)
            except ValueError:
                errors.show({"due_date": "not a date"})
                return
            changed = await calls.submit(
                assigning.change_due_date,
                errors=errors,
                organization_id=organization_id,
                assignment_ids=[uuid.UUID(r["id"]) for r in rows],
                due_date=new,
            )
            if changed is calls.REFUSED:
                return
            dialog.close()
            when = f"{new:%Y-%m-%d}" if new else "no due date"
            with root:
                await on_done(
                    f"{_plural(changed, 'assignment')} now due {when}." if new else f"{changed} now with {when}."
                )

        with ui.row().classes("w-full justify-end gap-2"):
            ui.button("Cancel", on_click=dialog.close).props("flat")
            ui.button("Save", on_click=submit).props("unelevated color=primary").mark("due-submit")
    dialog.open()
