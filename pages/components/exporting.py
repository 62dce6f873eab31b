"""Export buttons for any view of assignments: `export_buttons(kind, query_getter)`.

A click runs the export through the service (`calls.write`: the viewer's login re-checked, their scope,
an audit entry) on a worker thread, writing a temporary file (`exports.FILES`) chunk by chunk while a
progress bar follows it; then the browser downloads it from `/exports/{token}` (console/export_routes.py),
once, and the file is removed. A failed export removes its partial file; one nobody downloads is
removed after a quarter of an hour.
"""

from __future__ import annotations

from collections.abc import Callable

from nicegui import ui

from console.errors import DomainError
from console.services.assignments import exports
from console.services.assignments.exports import ExportFormat, ExportKind
from console.services.listing import ListQuery
from pages.components import calls
from pages.layout import MUTED

LABELS = {ExportKind.progress: "Progress", ExportKind.results: "Results"}
FORMAT_LABELS = {ExportFormat.csv: "CSV", ExportFormat.xlsx: "Excel"}
HINTS = {
    ExportKind.progress: "one row per assignment",
    ExportKind.results: "one row per completed session",
}


def export_buttons(kind: ExportKind | str, query_getter: Callable[[], ListQuery], *, owner) -> None:  # noqa: ANN001
    """Draw "<Kind>: CSV · Excel" for the view `query_getter()` describes at the moment of the click.
    `owner` is the page's actor: only that person may download the file."""
    kind = ExportKind(kind)
    state = {"done": 0, "total": 0}
    with ui.column().classes("gap-1").mark(f"export-{kind.value}") as box:
        with ui.row().classes("items-center gap-2"):
            ui.label(f"{LABELS[kind]} ({HINTS[kind]})").classes("text-body2")
            buttons = [
                ui.button(
                    FORMAT_LABELS[fmt],
                    icon="download",
                    on_click=lambda _, f=fmt: run(f),
                )
                .props(f'outline dense no-caps aria-label="Export {LABELS[kind].lower()} as {FORMAT_LABELS[fmt]}"')
                .mark(f"export-{kind.value}-{fmt.value}")
                for fmt in ExportFormat
            ]
        bar = ui.linear_progress(value=0, show_value=False).props('aria-label="Export progress"').classes("w-64")
        bar.set_visibility(False)
        status = ui.label("").classes(MUTED).props('aria-live="polite"').mark(f"export-{kind.value}-status")

    def show() -> None:
        total = state["total"]
        if bar.visible and total:
            bar.value = state["done"] / total
            status.text = f"Exporting… {state['done']:,} of {total:,} rows"

    def on_progress(done: int, total: int) -> None:  # on the worker thread: plain numbers only
        state["done"], state["total"] = done, total

    async def run(fmt: ExportFormat) -> None:
        query = query_getter()
        token, path = exports.FILES.reserve(owner.user_id, kind, fmt)
        for button in buttons:
            button.disable()
        state["done"] = state["total"] = 0
        bar.value = 0
        bar.set_visibility(True)
        status.text = "Preparing the export…"
        with box:  # only while exporting: an idle timer would still wake up every 0.3 s
            timer = ui.timer(0.3, show)
        try:
            outcome = await calls.write(
                exports.write, kind=kind, fmt=fmt, query=query, path=path, on_progress=on_progress
            )
        except DomainError as exc:
            exports.FILES.discard(token)
            status.text = exc.message
            calls.notify_error(exc)
            return
        except BaseException:
            exports.FILES.discard(token)  # refused, cancelled or failed: no file is left behind
            raise
        finally:
            timer.cancel()
            timer.delete()
            bar.set_visibility(False)
            for button in buttons:
                button.enable()
        exports.FILES.ready(token)
        rows = f"{outcome.rows:,} {'row' if outcome.rows == 1 else 'rows'}"
        status.text = f"{outcome.filename}: {rows}. The download has started."
        ui.download.from_url(f"/exports/{token}", filename=outcome.filename)
