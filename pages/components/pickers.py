"""A select that searches on the server as the user types: any one of thousands of records, never a
list cut off at the first few hundred."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from nicegui import ui

Search = Callable[[str], Awaitable[dict[str, str]]]
PICKED = 20  # choices shown at a time: type to find any other


class SearchSelect(ui.select):
    """`search(text) -> {value: label}` gives the choices matching what is typed (a handful: the
    services return the first 20); the chosen value stays a choice whatever is typed next. With
    `none_label`, "" is a choice too (no selection)."""

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
        self._search = search
        self._seen: dict[str, str] = {value: value_label} if value and value_label else {}
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
        found = await self._search(text[:100])
        current = {self.value: self.options.get(self.value, self.value)} if self.value else {}
        self.set_options({**self._none, **current, **found}, value=self.value)

    def set_options(self, options, *, value=...):  # noqa: ANN001, ANN201
        if isinstance(options, dict):
            self._seen.update(options)
        return super().set_options(options, value=value)

    def set_value(self, value: object):  # noqa: ANN201
        # Back and Forward can put back a choice that is no longer among the options: keep its label.
        if value and value not in self.options:
            self.set_options({**self.options, value: self._seen.get(value, str(value))})
        return super().set_value(value)

    async def _typed(self, e) -> None:  # noqa: ANN001
        await self.load(e.args if isinstance(e.args, str) else "")


class MultiSearchSelect(ui.select):
    """Several choices out of thousands, found by typing: `search(text) -> {value: label}` as in
    `SearchSelect`; what is chosen stays chosen (with its label) whatever is typed next."""

    def __init__(self, label: str, search: Search, *, chosen: dict[str, str] | None = None) -> None:
        self._search = search
        self._chosen: dict[str, str] = dict(chosen or {})
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

    def _changed(self, e) -> None:  # noqa: ANN001
        values = e.value or []
        self._chosen = {v: self.options.get(v, self._chosen.get(v, v)) for v in values}

    @property
    def chosen(self) -> dict[str, str]:
        return dict(self._chosen)

    async def load(self, text: str = "") -> None:
        found = await self._search(text[:100])
        self.set_options({**self._chosen, **found}, value=list(self._chosen))

    async def _typed(self, e) -> None:  # noqa: ANN001
        await self.load(e.args if isinstance(e.args, str) else "")
