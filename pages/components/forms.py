"""Form fields that show their validation error inline, under the field."""

from __future__ import annotations

from nicegui import ui


class FieldErrors:
    """Maps field names to their input elements, to show or clear server-side errors in place."""

    def __init__(self) -> None:
        self.fields: dict[str, ui.element] = {}

    def add(self, name: str, element: ui.element) -> ui.element:
        self.fields[name] = element
        element.mark(f"field-{name}")
        return element

    def clear(self) -> None:
        for element in self.fields.values():
            element.props(remove="error error-message aria-invalid")

    def show(self, errors: dict[str, str]) -> None:
        self.clear()
        for name, message in errors.items():
            element = self.fields.get(name)
            if element is None:
                continue
            # Set through _props, not a props string: the message may quote user input.
            element._props["error"] = True
            element._props["error-message"] = message
            # Quasar announces the message (role=alert) but leaves the input itself unmarked; this
            # reaches the native <input>, so screen readers say "invalid" on the field too.
            element._props["aria-invalid"] = "true"
            element.update()
