"""When a save is refused because someone else saved first (`console.services.versions.Stale`).

Every editor holds the version of what it shows (`Held`) and sends it with each save. A refusal
opens `ask`: who changed it and when, and field by field what the editor would save against what is
stored now. The person chooses:
- "Reload": drop their edits and see the stored record;
- "Save mine over it": an explicit overwrite, sent with the version just seen (refused again if it
  moved once more in between);
- "Keep editing": close the dialog and change nothing yet.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Literal

from nicegui import ui

from console.services.versions import Stale

Choice = Literal["reload", "overwrite", "keep"]
LONGEST = 400  # characters of one value in the difference table


@dataclass
class Held:
    """The version an editor's copy is based on; saves send it and update it."""

    version: int


def shown(value: Any) -> str:
    """A value as a person reads it in the difference table."""
    if value is None or value == "" or value == []:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        text = ", ".join(value)
    elif isinstance(value, list | dict):
        text = json.dumps(value, ensure_ascii=False, sort_keys=True)
    else:
        text = str(getattr(value, "value", value))
    return text if len(text) <= LONGEST else text[: LONGEST - 1] + "…"


def differences(exc: Stale, yours: dict[str, Any], labels: dict[str, str]) -> list[dict[str, str]]:
    """Rows of (field, yours, saved now) for the fields that differ."""
    rows = []
    for key, label in labels.items():
        if key not in yours:
            continue
        mine, theirs = shown(yours[key]), shown(exc.current.get(key))
        if mine != theirs:
            rows.append({"field": label, "yours": mine, "theirs": theirs})
    return rows


async def ask(
    exc: Stale,
    *,
    yours: dict[str, Any],
    labels: dict[str, str],
    can_overwrite: bool = True,
    yours_label: str = "Yours (not saved)",
) -> Choice:
    """The conflict dialog; returns what the person chose. Without `can_overwrite`, only reload or
    keep (for acts judged on what is there now, such as a workflow move)."""
    rows = differences(exc, yours, labels)
    with ui.dialog().props("persistent") as dialog, ui.card().classes("min-w-[560px] max-w-[900px]"):
        title = ui.label("Changed while you were editing").classes("text-h6")
        dialog.props(f"aria-labelledby={title.html_id}")
        ui.label(exc.message).classes("text-body1").mark("stale-message")
        with (
            ui.expansion("Review the difference", icon="compare_arrows", value=bool(rows))
            .classes("w-full")
            .mark("stale-review")
        ):
            if rows:
                ui.table(
                    columns=[
                        {"name": "field", "label": "Field", "field": "field", "align": "left"},
                        {"name": "yours", "label": yours_label, "field": "yours", "align": "left"},
                        {"name": "theirs", "label": "Saved now", "field": "theirs", "align": "left"},
                    ],
                    rows=rows,
                    row_key="field",
                ).props("flat dense wrap-cells").classes("w-full").mark("stale-differences")
            else:
                ui.label("Your edits match what is saved now; the other change was to something else.").classes(
                    "text-grey-8"
                )
        with ui.row().classes("w-full justify-end gap-2"):
            ui.button("Keep editing", on_click=lambda: dialog.submit("keep")).props("flat").mark("stale-keep")
            ui.button("Reload", icon="refresh", on_click=lambda: dialog.submit("reload")).props("outline").mark(
                "stale-reload"
            )
            if can_overwrite:
                ui.button("Save mine over it", icon="save", on_click=lambda: dialog.submit("overwrite")).props(
                    "unelevated color=negative"
                ).mark("stale-overwrite")
    choice = await dialog
    dialog.delete()
    return choice or "keep"


def resolver(
    held: Held,
    *,
    yours: dict[str, Any],
    labels: dict[str, str],
    retry: Callable[[], Awaitable[None]],
    reload: Callable[[], Awaitable[None]] | None = None,
) -> Callable[[Stale], Awaitable[None]]:
    """The `on_stale` of an editor's save: ask, then reload (the whole page unless `reload` is given)
    or save again over the newer version (`retry`, with `held` moved to the version just seen)."""

    async def handle(exc: Stale) -> None:
        choice = await ask(exc, yours=yours, labels=labels)
        if choice == "reload":
            if reload is None:
                ui.navigate.reload()
            else:
                await reload()
        elif choice == "overwrite":
            held.version = exc.version
            await retry()

    return handle
