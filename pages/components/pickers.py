"""A select that searches on the server as the user types: any one of thousands of records, never a
list cut off at the first few hundred."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from nicegui import ui
from nicegui.events import GenericEventArguments

Search = Callable[[str], Awaitable[dict[str, str]]]
PICKED = 20  # choices shown at a time: type to find any other


class _Searching(ui.select):
    """What both pickers share: the labels of every choice shown (`_seen`), the answer to the latest
    search only (`_answer`), and a click read by the label clicked (`_clicked`). Subclasses call
    `_searching` before NiceGUI's __init__ (which may already set a value)."""

    def _searching(self, search: Search, seen: dict[str, str]) -> None:
        self._search = search
        self._seen = dict(seen)
        self._asked = 0  # searches sent: an answer to an earlier one than the latest is dropped

    async def _answer(self, text: str) -> dict[str, str] | None:
        """The choices matching `text`, or None when a later search was sent meanwhile (searches
        answer out of order: only the latest one's answer is shown)."""
        self._asked += 1
        asked = self._asked
        found = await self._search(text[:100])
        return found if asked == self._asked else None

    def set_options(self, options, *, value=...):  # noqa: ANN001, ANN201
        if isinstance(options, dict):
            self._seen.update(options)
        return super().set_options(options, value=value)

    def _clicked(self, arg: object) -> object:
        """The value of a choice the browser reports as clicked, `{"value": index, "label": label}`.

        The browser names a choice by its place in the list it showed, and a search answered after it
        drew that list (the user clicked as the new one was on its way) puts other choices in those
        places: read by place, the click chose another organization or simulation than the one
        clicked. So the label decides: the place when its label is still the one clicked, else the
        one choice ever shown with that label (made a choice again if the latest answer lacks it);
        None if that is ambiguous (two choices of one name).
        """
        if not isinstance(arg, dict):
            return arg
        index, label = arg.get("value"), arg.get("label")
        if isinstance(index, int) and 0 <= index < len(self._labels) and self._labels[index] == label:
            return self._values[index]
        named = [value for value, shown in self._seen.items() if shown == label]
        if len(named) != 1:
            return None
        if named[0] not in self.options:
            self.set_options({**self.options, named[0]: label})
        return named[0]


class SearchSelect(_Searching):
    """`search(text) -> {value: label}` gives the choices matching what is typed (a handful: the
    services return the first 20); the chosen value stays a choice whatever is typed next. With
    `none_label`, "" is a choice too (no selection).

    Opening the select, Quasar fills its input with the chosen choice's label and reports that as
    typed: searched for, it shrank the choices to the chosen one ("Any" alone in a list's filter), so
    the chosen label reads as no search. (Out-of-order answers and clicks: see _Searching.)
    """

    def __init__(
        self,
        label: str,
        search: Search,
        *,
        value: str | None = None,
        value_label: str | None = None,
        none_label: str | None = None,
        on_change: Callable | None = None,
    ) -> None:
        self._searching(search, {value: value_label} if value and value_label else {})
        self._none = {"": none_label} if none_label is not None else {}
        chosen = {value: value_label or value} if value else {}
        super().__init__(
            {**self._none, **chosen},
            label=label,
            value=value or ("" if none_label is not None else None),
            with_input=True,
            on_change=on_change,
        )
        self.props('input-debounce=0 hint="Type to search"')
        # Throttled, with the last keystroke always sent: one query a quarter second at most.
        self.on("input-value", self._typed, throttle=0.25)

    async def load(self, text: str = "") -> None:
        """Fetch the choices for `text` (all of them, or the first few, for an empty text)."""
        found = await self._answer(text)
        if found is None:
            return  # a later search is under way: its answer is the one to show
        current = {self.value: self.options.get(self.value, self.value)} if self.value else {}
        self.set_options({**self._none, **current, **found}, value=self.value)

    def set_value(self, value: object):  # noqa: ANN201
        # Back and Forward can put back a choice that is no longer among the options: keep its label.
        if value and value not in self.options:
            self.set_options({**self.options, value: self._seen.get(value, str(value))})
        return super().set_value(value)

    def _event_args_to_value(self, e: GenericEventArguments) -> object:
        if isinstance(e.args, dict):
            value = self._clicked(e.args)
            return self.value if value is None else value
        return super()._event_args_to_value(e)

    async def _typed(self, e) -> None:  # noqa: ANN001
        text = e.args if isinstance(e.args, str) else ""
        if text == self.options.get(self.value):
            text = ""  # the chosen label, put in the input by the select itself: no search
        await self.load(text)


class MultiSearchSelect(_Searching):
    """Several choices out of thousands, found by typing: `search(text) -> {value: label}` as in
    `SearchSelect`; what is chosen stays chosen (with its label) whatever is typed next."""

    def __init__(self, label: str, search: Search, *, chosen: dict[str, str] | None = None) -> None:
        self._chosen: dict[str, str] = dict(chosen or {})
        self._searching(search, self._chosen)
        super().__init__(
            dict(self._chosen),
            label=label,
            value=list(self._chosen),
            multiple=True,
            with_input=True,
            on_change=self._changed,
        )
        self.props('use-chips input-debounce=0 hint="Type to search; choose as many as you need"')
        self.on("input-value", self._typed, throttle=0.25)

    def _event_args_to_value(self, e: GenericEventArguments) -> object:
        if isinstance(e.args, list):
            clicked = [self._clicked(arg) for arg in e.args]
            return [value for value in clicked if value is not None and value in self.options]
        return super()._event_args_to_value(e)

    def _changed(self, e) -> None:  # noqa: ANN001
        values = e.value or []
        self._chosen = {v: self.options.get(v, self._chosen.get(v, v)) for v in values}

    @property
    def chosen(self) -> dict[str, str]:
        return dict(self._chosen)

    async def load(self, text: str = "") -> None:
        found = await self._answer(text)
        if found is None:
            return
        self.set_options({**self._chosen, **found}, value=list(self._chosen))

    async def _typed(self, e) -> None:  # noqa: ANN001
        await self.load(e.args if isinstance(e.args, str) else "")
