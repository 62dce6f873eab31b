"""Buttons that keyboards and screen readers can use as well as mice."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from nicegui import ui


def icon_button(icon: str, label: str, on_click: Callable[..., Any], *, color: str | None = None) -> ui.button:
    """A small round icon-only button, named for assistive technology and with the same words as its
    tooltip (a tooltip alone is not a name)."""
    button = ui.button(icon=icon, on_click=on_click).props("flat dense round size=sm")
    if color:
        button.props(f"color={color}")
    button._props["aria-label"] = label  # through _props: the label may name a user's record
    return button.tooltip(label)
