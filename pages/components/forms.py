"""Form fields that show their validation error inline, under the field."""

from __future__ import annotations

from nicegui import ui

from console.auth import csrf


class FieldErrors:
    """Maps field names to their input elements, to show or clear server-side errors in place."""

    def __init__(self) -> None:
        self.fields: dict[str, ui.element] = {}
        self.last: dict[str, str] = {}  # the errors last shown, placed under a field or not

    def add(self, name: str, element: ui.element) -> ui.element:
        self.fields[name] = element
        element.mark(f"field-{name}")
        return element

    def clear(self) -> None:
        self.last = {}
        for element in self.fields.values():
            element.props(remove="error error-message aria-invalid")

    def show(self, errors: dict[str, str]) -> None:
        self.clear()
        self.last = dict(errors)
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


class ChipsField(ui.input_chips):
    """A chips input that never loses what was typed: text not yet turned into a chip with Enter is
    `pending`, and `settle()` (called by every save, and before a redraw) makes it a chip.

    Quasar keeps typed text in the field until Enter and drops it on blur, so "blunt" typed and then
    Save clicked would silently save without it. The field reports its text as it is typed
    (`input-value`); leaving the field makes that text a chip (Quasar's "blur" reaches the server just
    before it empties the field, and a click on Save comes after both); a save without leaving the field
    (Ctrl+S) takes it too.
    """

    def __init__(self, label: str, *, value: list[str] | None = None) -> None:
        super().__init__(label, value=list(value or []), new_value_mode="add-unique")
        self.pending = ""
        self.on("input-value", self._typed)
        self.on("blur", self.settle)
        self.props("hint='Type, then Enter (or just save: typed text is kept)'")

    def _typed(self, e) -> None:  # noqa: ANN001
        self.pending = e.args if isinstance(e.args, str) else ""

    def settle(self) -> list[str]:
        """The chips, with any text still typed in the field added as one more."""
        text = self.pending.strip()
        values = list(self.value or [])
        if text and text.lower() not in {v.lower() for v in values}:
            values.append(text)
            self.set_value(values)
        if text:
            self.pending = ""
            self.run_method("updateInputValue", "", True)
        return values


def hidden_field(name: str, value: str) -> ui.element:
    """A hidden input of a plain HTML form. The value goes in through `_props`, never through a props
    string, so nothing in it is parsed as another attribute."""
    field = ui.element("input").props(f"type=hidden name={name}")
    field._props["value"] = value
    return field


def csrf_field() -> ui.element:
    """The login and logout forms' token (console/auth/csrf.py), from the request drawing this page."""
    return hidden_field(csrf.FIELD_NAME, csrf.token_for(ui.context.client.request))
