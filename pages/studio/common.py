"""Small pieces the studio's tabs share."""

from __future__ import annotations

from nicegui import ui

STATUS_COLORS = {
    "draft": "grey-7",
    "review": "deep-orange-10",
    "staged": "purple",
    "published": "positive",
    "archived": "blue-grey-8",
}


def size_label(n: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return str(n)


def set_error(element: ui.element, message: str | None) -> None:
    # Through _props, never a props string: the message may quote user input.
    if message:
        element._props["error"] = True
        element._props["error-message"] = message
    else:
        element._props.pop("error", None)
        element._props.pop("error-message", None)
    element.update()
