"""Confirmation before destructive actions."""

from __future__ import annotations

from nicegui import ui


async def confirm(question: str, *, action: str = "Confirm", danger: bool = True) -> bool:
    with ui.dialog() as dialog, ui.card().classes("min-w-[360px]"):
        text = ui.label(question).classes("text-body1")
        # The question names the dialog for screen readers (Quasar gives it role=dialog, no name).
        dialog.props(f"aria-labelledby={text.html_id}")
        with ui.row().classes("w-full justify-end gap-2"):
            ui.button("Cancel", on_click=lambda: dialog.submit(False)).props("flat").mark("confirm-cancel")
            ui.button(action, on_click=lambda: dialog.submit(True)).props(
                f"color={'negative' if danger else 'primary'}"
            ).mark("confirm-ok")
    result = await dialog
    dialog.delete()
    return bool(result)
