"""/people/import: download the template, upload a CSV, read its dry run line by line, confirm.

The file goes to POST /people/import/upload (console/people_routes.py), which checks the login, the
page's CSRF token and the organization before reading, and stops at 2 MiB. The dry run writes nothing;
Confirm is offered only when every line can be imported and the seats suffice, and the service checks
it all again when it applies.
"""

from __future__ import annotations

import uuid

from nicegui import ui

from console.auth import Actor, Permission
from console.people_routes import IMPORT_PATH
from console.services.people import csv_import
from console.services.people.csv_import import LABELS, OK, Outcome, Report
from pages.access import secured_page
from pages.components import calls
from pages.components.uploader import Uploader, UploadResult
from pages.layout import MUTED, Heading, frame
from pages.people.common import Chosen, choose, tabs

COLUMNS = [
    {"name": "line", "label": "Line", "field": "line", "align": "right", "sortable": True},
    {"name": "email", "label": "Email", "field": "email", "align": "left"},
    {"name": "name", "label": "Name", "field": "name", "align": "left"},
    {"name": "role", "label": "Role", "field": "role", "align": "left"},
    {"name": "department", "label": "Department", "field": "department", "align": "left"},
    {"name": "outcome", "label": "Outcome", "field": "outcome", "align": "left"},
    {"name": "message", "label": "Note", "field": "message", "align": "left"},
]
OUTCOME_SLOT = (
    '<q-td :props="props"><q-badge :label="props.value" '
    ":color=\"props.row.problem ? 'negative' : (props.row.kind === 'created' ? 'positive' : 'grey-8')\" /></q-td>"
)


@secured_page("/people/import", title="Import members", permission=Permission.manage_organization)
async def import_page(actor: Actor, organization: str = ""):
    with frame(actor, "Import members", breadcrumbs=[("People", "/people"), ("Import", None)]):
        chosen = await choose(actor, organization, "/people/import")
        if chosen is not None:
            await _import(chosen)


async def _import(chosen: Chosen) -> None:
    tabs("/people/import", chosen)
    with ui.card().classes("w-full max-w-4xl"):
        Heading("1. Prepare the file", level=2).classes("text-h6")
        ui.label(
            "A CSV (UTF-8) with the columns email, name, role (admin or participant; empty means participant) "
            f"and department. At most {csv_import.MAX_LINES:,} members and 2 MiB. A file adds new people; an "
            "address that already has an account is reported, never moved (a platform admin can add it)."
        ).classes(MUTED)
        ui.button(
            "Download the template",
            icon="download",
            on_click=lambda: ui.download(csv_import.template_csv(), "members-template.csv", "text/csv"),
        ).props("outline no-caps color=primary").mark("template-download")
    with ui.card().classes("w-full max-w-4xl"):
        Heading("2. Upload it for a dry run", level=2).classes("text-h6")
        ui.label("Nothing is written until you confirm.").classes(MUTED)
        Uploader(
            f"{IMPORT_PATH}?organization={chosen.id}",
            on_result=lambda result: uploaded(result),
            accept=".csv,text/csv",
            max_file_size=csv_import.MAX_BYTES,
            title="Drop the members CSV here, or choose it",
            button="Choose a CSV file",
        ).classes("w-full").mark("import-upload")
    outcome = ui.column().classes("w-full gap-3").mark("import-report")

    async def uploaded(result: UploadResult) -> None:
        if not result.ok:
            ui.notify(f"{result.name}: {result.reason}", type="warning")
            outcome.clear()
            with outcome:
                ui.label(f"{result.name} was not accepted: {result.reason}").classes("text-negative").props(
                    "role=alert"
                ).mark("upload-refused")
            return
        report = await calls.read(csv_import.dry_run, import_id=uuid.UUID(result.body["import_id"]))
        show(report)

    def show(report: Report, *, applied: bool = False) -> None:
        # Once applied, "will be added" has happened: the same report says so.
        labels = {**LABELS, Outcome.created: "added"} if applied else LABELS
        outcome.clear()
        with outcome:
            Heading("3. Check and confirm" if not applied else "Imported", level=2).classes("text-h6")
            with ui.row().classes("items-center gap-2").mark("report-counts"):
                ui.label(report.filename).classes("font-medium")
                for kind in Outcome:
                    count = report.counts[kind.value]
                    if count:
                        color = "positive" if kind is Outcome.created else ("grey-8" if kind in OK else "negative")
                        ui.badge(f"{labels[kind]}: {count:,}").props(f"color={color}").mark(f"count-{kind.value}")
            seats_left = "no limit" if report.seats_left is None else f"{report.seats_left:,} left"
            needed = (
                f"Seats left now: {seats_left}" if applied else f"Seats needed: {report.seats_needed:,} · {seats_left}"
            )
            seats = ui.label(needed).mark("report-seats")
            if applied:
                ui.label(
                    f"Added {report.counts['created']:,} member{'s' if report.counts['created'] != 1 else ''}."
                ).classes("text-positive text-body1").props("role=status").mark("import-done")
            elif report.seats_missing:
                seats.classes("text-negative font-medium")
                ui.label(
                    f"{report.seats_missing:,} seat{'s' if report.seats_missing != 1 else ''} missing: remove lines, "
                    "free seats, or ask for a larger plan, then upload again."
                ).classes("text-negative").props("role=alert").mark("seats-missing")
            if report.problems and not applied:
                ui.label(
                    f"{report.problems:,} line{'s' if report.problems != 1 else ''} cannot be imported: "
                    "fix them in the file and upload it again."
                ).classes("text-negative").props("role=alert").mark("report-problems")
            rows = [
                {
                    "line": line.line,
                    "email": line.email,
                    "name": line.name,
                    "role": line.role,
                    "department": line.department or "",
                    "outcome": labels[line.outcome],
                    "kind": line.outcome.value,
                    "problem": line.outcome not in OK,
                    "message": line.message,
                }
                for line in report.lines
            ]
            only_problems = ui.switch("Only lines with problems", value=bool(report.problems) and not applied)
            only_problems.mark("only-problems")
            grid = (
                ui.table(columns=COLUMNS, rows=rows, row_key="line", pagination={"rowsPerPage": 25, "sortBy": "line"})
                .classes("w-full")
                .props("flat bordered dense")
                .mark("report-table")
            )
            grid.add_slot("body-cell-outcome", OUTCOME_SLOT)

            def narrow() -> None:
                grid.rows = [r for r in rows if r["problem"]] if only_problems.value else rows

            only_problems.on_value_change(narrow)
            narrow()
            if not applied:
                ui.button(
                    f"Confirm import of {report.seats_needed:,} member{'s' if report.seats_needed != 1 else ''}",
                    icon="check",
                    on_click=lambda: confirm_import(report),
                ).props("unelevated no-caps color=primary").mark("import-confirm").set_enabled(
                    report.ok and report.seats_needed > 0
                )

    async def confirm_import(report: Report) -> None:
        done = await calls.submit(csv_import.apply, import_id=report.import_id)
        if done is calls.REFUSED:
            # Something changed since the dry run (a seat taken, an account moved): show the file as it is now.
            show(await calls.read(csv_import.dry_run, import_id=report.import_id))
            return
        ui.notify(f"Imported {done.counts['created']:,} members.", type="positive")
        show(done, applied=True)
        with outcome:
            ui.link("See the members", "/people" + chosen.query()).mark("to-members")
