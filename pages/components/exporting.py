"""Export buttons for any view of assignments: `export_buttons(kind, query_getter)`; for any other
export written through the same temporary files (play sessions): `download_buttons(...)`.

A click runs the export through the service (`calls.write`: the viewer's login re-checked, their scope,
an audit entry) on a worker thread, writing a temporary file (`export_files.FILES`) chunk by chunk while a
progress bar follows it; then the browser downloads it from `/exports/{token}` (console/export_routes.py),
once, and the file is removed. A failed export removes its partial file; one nobody downloads is
removed after a quarter of an hour.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any

from nicegui import ui

from console.errors import DomainError
from console.services.assignments import exports
from console.services.assignments.exports import ExportKind, ProgressCallback
from console.services.export_files import FILES, ExportFormat
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

    async def write(fmt: str, path: Path, on_progress: ProgressCallback):  # noqa: ANN202
        return await calls.write(
            exports.write, kind=kind, fmt=fmt, query=query_getter(), path=path, on_progress=on_progress
        )

    download_buttons(
        marker=f"export-{kind.value}",
        title=f"{LABELS[kind]} ({HINTS[kind]})",
        noun=LABELS[kind].lower(),
        formats={fmt.value: FORMAT_LABELS[fmt] for fmt in ExportFormat},
        reserve=lambda fmt: FILES.reserve(
            owner.user_id, ExportFormat(fmt), filename=exports.filename_for(kind, ExportFormat(fmt))
        ),
        write=write,
    )


def download_buttons(
    *,
    marker: str,
    title: str,
    noun: str,
    formats: Mapping[str, str],
    reserve: Callable[[str], tuple[str, Path]],
    write: Callable[[str, Path, ProgressCallback], Awaitable[Any]],
) -> None:
    """Export buttons for any export written through `export_files.FILES`: one button per format
    ({value: label}); `reserve(fmt)` gives the file's token and path, `write(fmt, path, on_progress)`
    runs the export (through `calls.write`) and returns what has `.rows` and `.filename`."""
    state = {"done": 0, "total": 0}
    with ui.column().classes("gap-1").mark(marker) as box:
        with ui.row().classes("items-center gap-2"):
            ui.label(title).classes("text-body2")
            buttons = []
            for fmt, label in formats.items():
                button = ui.button(label, icon="download", on_click=lambda _, f=fmt: run(f))
                button.props("outline dense no-caps").mark(f"{marker}-{fmt}")
                button.props["aria-label"] = f"Export {noun} as {label}"  # a value: never parsed as props
                buttons.append(button)
        bar = ui.linear_progress(value=0, show_value=False).props('aria-label="Export progress"').classes("w-64")
        bar.set_visibility(False)
        status = ui.label("").classes(MUTED).props('aria-live="polite"').mark(f"{marker}-status")

    def show() -> None:
        total = state["total"]
        if bar.visible and total:
            bar.value = state["done"] / total
            status.text = f"Exporting… {state['done']:,} of {total:,} rows"

    def on_progress(done: int, total: int) -> None:  # on the worker thread: plain numbers only
        state["done"], state["total"] = done, total

    async def run(fmt: str) -> None:
        token, path = reserve(fmt)
        for button in buttons:
            button.disable()
        state["done"] = state["total"] = 0
        bar.value = 0
        bar.set_visibility(True)
        status.text = "Preparing the export…"
        with box:  # only while exporting: an idle timer would still wake up every 0.3 s
            timer = ui.timer(0.3, show)
        try:
            outcome = await write(fmt, path, on_progress)
        except DomainError as exc:
            FILES.discard(token)
            status.text = exc.message
            calls.notify_error(exc)
            return
        except BaseException:
            FILES.discard(token)  # refused, cancelled or failed: no file is left behind
            raise
        finally:
            timer.cancel()
            timer.delete()
            bar.set_visibility(False)
            for button in buttons:
                button.enable()
        FILES.ready(token)
        rows = f"{outcome.rows:,} {'row' if outcome.rows == 1 else 'rows'}"
        status.text = f"{outcome.filename}: {rows}. The download has started."
        ui.download.from_url(f"/exports/{token}", filename=outcome.filename)
