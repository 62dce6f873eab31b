"""The "Mark abandoned" dialog of /sessions (one or many) and of a session's page: what will be closed,
a reason (required, kept in the audit log), then Mark abandoned or Cancel."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable

from nicegui import ui

from console.services.sessions import stuck
from pages.components import calls
from pages.components.forms import FieldErrors
from pages.layout import MUTED, Heading
from pages.people.common import dialog as dialog_


async def abandon_dialog(
    root: ui.element,
    sessions: list[tuple[str, str]],
    on_done: Callable[[str], Awaitable[None]],
) -> None:
    """Ask for a reason, then mark the sessions ([(id, "player · module")]) abandoned, all or none."""
    errors = FieldErrors()
    with dialog_(root) as dialog, ui.card().classes("w-[520px] max-w-full").mark("abandon-dialog"):
        count = len(sessions)
        title = Heading(
            "Mark this session abandoned?" if count == 1 else f"Mark {count} sessions abandoned?", level=2
        ).classes("text-h6")
        dialog.props(f"aria-labelledby={title.html_id}")
        with ui.column().classes("gap-0"):
            for _, name in sessions[:8]:
                ui.label(name).classes("text-body2")  # a player's name and a module title: text only
            if count > 8:
                ui.label(f"and {count - 8} more").classes(MUTED)
        ui.label(
            "The engine can send no more events to an abandoned session, and it is not completed or scored. "
            "This is recorded in the audit log with your reason."
        ).classes(f"{MUTED} text-sm")
        reason = errors.add(
            "reason",
            ui.textarea("Reason *", placeholder="e.g. the player closed the game; confirmed by email")
            .props(f"outlined dense autogrow maxlength={stuck.MAX_REASON} counter")
            .classes("w-full"),
        )

        async def submit() -> None:
            if not (reason.value or "").strip():
                errors.show({"reason": "Say why the session is abandoned."})
                return
            done = await calls.submit(
                stuck.abandon_many,
                errors=errors,
                session_ids=[uuid.UUID(session_id) for session_id, _ in sessions],
                reason=reason.value,
            )
            if done is calls.REFUSED:
                return
            dialog.close()
            with root:
                await on_done(f"{done} session{'s' if done != 1 else ''} marked abandoned.")

        with ui.row().classes("w-full justify-end gap-2"):
            ui.button("Cancel", on_click=dialog.close).props("flat no-caps").mark("abandon-cancel")
            ui.button("Mark abandoned", icon="block", on_click=submit).props("color=negative no-caps").mark(
                "abandon-submit"
            )
    dialog.open()
