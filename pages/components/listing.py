"""The one list component every list page uses (the page side of console/services/listing.py).

What a user gets on every list, without the page writing it again:
- server-side paging, sorting and a total count (`ServerTable`), with a sticky header;
- a search box (`/` focuses it), filters (selects, text, dates, switches), and the count;
- the whole view in the URL (`?search=…&status=…&sort=…&desc=1&page=2&size=50`): bookmarkable and
  shareable; each filter, sort or page change is a step the browser's Back and Forward walk through;
  a value in the URL that means nothing (a status that does not exist) is dropped with a notice;
- row actions as real buttons with names (keyboard and screen readers reach them), multi-select with
  bulk actions where the list has any, and an empty state that says what to do.

The page gives columns, filters, actions and an async `fetch(ListQuery) -> (rows, Page)` (the rows as
dicts, shown as text — Vue interpolation, never HTML — and the service's page for its count). Lists
that only grow (`keyset=True`: the audit log) page by key: First, Previous, Next and Last instead of
page numbers, each one index range on the server, and a count that stops at "1,000+".
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import urlencode

from nicegui import context, ui

from console.errors import ValidationFailed
from console.services.listing import COUNT_CAP, LAST, MAX_OFFSET, ListQuery, Page
from pages.components.pickers import Search, SearchSelect
from pages.components.table import PAGE_SIZES, ServerTable, TableRequest

Rows = tuple[list[dict[str, Any]], Page]


@dataclass(frozen=True)
class Filter:
    """One filter of a list: its URL name, its label, and its options (a select, with "Any" for no
    filter), or a free `text` box, a `date`, a `switch` (on = "1"), or a `search`: a picker that asks
    `search(text) -> {value: label}` as the user types, for choices too many to list (organizations);
    `value_label` is the label of the value the page was opened with."""

    name: str
    label: str
    options: Mapping[str, str] | None = None
    kind: Literal["select", "text", "date", "switch", "search"] = "select"
    default: str = ""
    width: str = "w-40"
    search: Search | None = None
    value_label: str | None = None
    any_label: str | None = "Any"  # a select's no-filter choice; None: none (the default is a choice)


@dataclass(frozen=True)
class RowAction:
    """A button in each row. `when` is a JavaScript condition on `props.row` (e.g. only active keys)."""

    name: str
    label: str
    icon: str
    handler: Callable[[dict[str, Any]], Awaitable[None]]
    when: str | None = None
    color: str | None = None
    # With a tip: a compact icon button (named by its label, the tip on hover and focus), kept in its
    # place while `when` is false so a list's icons line up from row to row.
    tip: str | None = None


@dataclass(frozen=True)
class BulkAction:
    """A toolbar button acting on the selected rows; shown while rows are selected."""

    name: str
    label: str
    icon: str
    handler: Callable[[list[dict[str, Any]]], Awaitable[None]]
    color: str | None = None


@dataclass
class _State:
    search: str = ""
    filters: dict[str, str] = field(default_factory=dict)
    cursor: str = ""  # keyset lists: where the page starts


# A constant script (nothing of the user's in it), added once per page:
# - Back and Forward between views of one list stay on the page: tell the server which view;
# - `/` focuses the list's search box in the browser itself, so the keys typed right after it land
#   in the box (a round trip to the server first lost them).
_LIST_SCRIPT = """<script>
if (!window.simvadoList) {
  window.simvadoList = true;
  window.addEventListener('popstate', () => emitEvent('simvado_list_popstate', window.location.search));
  document.addEventListener('keydown', (e) => {
    if (e.key !== '/' || e.ctrlKey || e.metaKey || e.altKey) return;
    const active = document.activeElement;
    if (active && (active.isContentEditable || ['INPUT', 'TEXTAREA', 'SELECT'].includes(active.tagName))) return;
    const box = document.querySelector('.list-search input');
    if (box) { e.preventDefault(); box.focus(); }
  });
}
</script>"""


async def list_view(**kwargs: Any) -> ListView:
    """Draw a list (see `ListView`) and load its first page."""
    view = ListView(**kwargs)
    await view.reload()
    return view


class ListView:
    """Drawn by `list_view` (which also loads the first page)."""

    def __init__(
        self,
        *,
        columns: list[dict[str, Any]],
        fetch: Callable[[ListQuery], Awaitable[Rows]],
        marker: str,
        noun: tuple[str, str],
        empty_message: str,
        sort: str,
        descending: bool = False,
        sortable: Sequence[str] = (),
        filters: Sequence[Filter] = (),
        search_placeholder: str = "Search…",
        row_actions: Sequence[RowAction] = (),
        bulk_actions: Sequence[BulkAction] = (),
        slots: Mapping[str, str] | None = None,
        path: str | None = None,
        on_new: Callable[[], Awaitable[None] | None] | None = None,
        new_label: str = "New",
        row_key: str = "id",
        keyset: bool = False,
    ) -> None:
        """`path` keeps the view in the URL (a page's own list); without it the view lives in the page."""
        self._fetch = fetch
        self._marker = marker
        self._noun = noun
        self._filters = list(filters)
        self._path = path
        self._sortable = set(sortable) or {c["name"] for c in columns if c.get("sortable")}
        self._default_sort = (sort, descending)
        self._row_actions = list(row_actions)
        self._bulk_actions = list(bulk_actions)
        self._on_new = on_new
        self._keyset = keyset
        self._page: Page | None = None
        self._sorted_by: tuple | None = None
        self.state = _State()
        params = self._url_params() if path else {}
        ignored = self._apply_params(params)

        with ui.row().classes("w-full items-center gap-2").mark(f"{marker}-toolbar"):
            self.search_box = (
                ui.input(placeholder=f"{search_placeholder}  ( / )", value=self.state.search)
                .props(f'dense outlined clearable debounce=300 aria-label="{_attr(search_placeholder)}" type=search')
                .classes("w-64 list-search")
                .mark(f"{marker}-search")
            )
            self.search_box.on_value_change(self._on_search)
            self._filter_inputs: dict[str, ui.element] = {}
            self._pickers_loaded = False
            for spec in self._filters:
                self._filter_inputs[spec.name] = self._draw_filter(spec)
            ui.space()
            self._bulk_row = ui.row().classes("items-center gap-1")
            self.count_label = ui.label("").classes("text-grey-8 whitespace-nowrap").mark(f"{marker}-count")
            self.count_label.props('aria-live="polite"')
            if on_new is not None:
                ui.button(f"{new_label}  (N)", icon="add", on_click=on_new).props(
                    "unelevated no-caps color=primary"
                ).mark(f"{marker}-new")

        initial_sort = params.get("sort", sort)
        self.table = ServerTable(
            columns=[*columns, *([_ACTIONS_COLUMN] if self._row_actions else [])],
            fetch=self._fetch_page,
            sort=initial_sort if initial_sort in self._sortable else sort,
            descending=params.get("desc", "1" if descending else "0") != "0",
            page=_int(params.get("page"), 1),
            page_size=_page_size(params),
            row_key=row_key,
            on_change=self._push_url,
            empty_message=empty_message,
        )
        self.table.table.mark(f"{marker}-table")
        if self._bulk_actions:
            self.table.table.props("selection=multiple")
            self.table.table.on("selection", lambda _: self._draw_bulk())
            self.table.table.add_slot("header-selection", _SELECT_ALL)
            self.table.table.add_slot("body-selection", _SELECT_ROW)
        for name, template in (slots or {}).items():
            self.table.table.add_slot(name, template)
        if self._row_actions:
            self.table.table.add_slot("body-cell-actions", _actions_slot(self._row_actions))
            for action in self._row_actions:
                self.table.table.on(action.name, lambda e, a=action: a.handler(e.args))
        if keyset:
            self.table.table.props("hide-pagination")
            self._draw_keyset_footer()
        if path:
            ui.on("simvado_list_popstate", self._on_popstate)
        ui.add_body_html(_LIST_SCRIPT)
        ui.keyboard(on_key=self._on_key, ignore=["input", "select", "button", "textarea"])
        for message in ignored:
            ui.notify(message, type="warning")

    # ------------------------------------------------------------------------------------ drawing

    def _draw_filter(self, spec: Filter) -> ui.element:
        value = self.state.filters.get(spec.name) or spec.default
        if spec.kind == "switch":
            element = ui.switch(spec.label, value=value == "1", on_change=lambda e, s=spec: self._set(s, e.value))
        elif spec.kind == "text":
            element = (
                ui.input(spec.label, value=value, on_change=lambda e, s=spec: self._set(s, e.value))
                .props("dense outlined clearable debounce=400")
                .classes(spec.width)
            )
        elif spec.kind == "search":
            assert spec.search is not None, f"filter {spec.name}: a search filter needs its search"
            element = SearchSelect(
                spec.label,
                spec.search,
                value=value or None,
                value_label=spec.value_label,
                none_label="Any",
                on_change=lambda e, s=spec: self._set(s, e.value),
            )
            element.props(remove="hint")  # in a toolbar: as tall as the filters beside it
            element.props("dense outlined options-dense").classes(spec.width)
        elif spec.kind == "date":
            element = (
                ui.input(spec.label, value=value, on_change=lambda e, s=spec: self._set(s, e.value))
                .props("dense outlined clearable type=date stack-label")
                .classes(spec.width)
            )
        else:
            element = (
                ui.select(
                    {**({"": spec.any_label} if spec.any_label else {}), **(spec.options or {})},
                    label=spec.label,
                    value=value if value in (spec.options or {}) else (spec.default if not spec.any_label else ""),
                    on_change=lambda e, s=spec: self._set(s, e.value),
                )
                .props("dense outlined options-dense")
                .classes(spec.width)
            )
        return element.mark(f"filter-{spec.name}")

    def _draw_keyset_footer(self) -> None:
        with ui.row().classes("w-full items-center justify-end gap-1").mark(f"{self._marker}-pager"):
            self._pager = {
                name: ui.button(label, icon=icon, on_click=lambda c=cursor: self._go(c))
                .props("flat dense no-caps")
                .mark(f"{self._marker}-{name}")
                for name, label, icon, cursor in (
                    ("first", "First", "first_page", ""),
                    ("previous", "Previous", "chevron_left", "previous"),
                    ("next", "Next", "chevron_right", "next"),
                    ("last", "Last", "last_page", LAST),
                )
            }
            sizes = {size: f"{size} a page" for size in PAGE_SIZES}
            ui.select(sizes, value=self.table.pagination["rowsPerPage"], on_change=self._resize).props(
                "dense options-dense borderless"
            ).mark(f"{self._marker}-size")

    async def _go(self, where: str) -> None:
        page = self._page
        if where == "previous":
            where = page.previous_cursor if page else ""
        elif where == "next":
            where = page.next_cursor if page else ""
        self.state.cursor = where or ""
        await self.reload()
        self._push_url()

    async def _resize(self, e) -> None:  # noqa: ANN001
        self.table.table.pagination = {**self.table.pagination, "rowsPerPage": e.value}
        self.state.cursor = ""
        await self.reload()
        self._push_url()

    def _update_pager(self) -> None:
        page = self._page
        state = {
            "first": bool(page and page.previous_cursor),
            "previous": bool(page and page.previous_cursor),
            "next": bool(page and page.next_cursor),
            "last": bool(page and page.next_cursor),
        }
        for name, enabled in state.items():
            self._pager[name].set_enabled(enabled)

    def _draw_bulk(self) -> None:
        self._bulk_row.clear()
        selected = self.selected
        if not selected or not self._bulk_actions:
            return
        with self._bulk_row:
            ui.label(f"{len(selected)} selected").classes("text-grey-8").mark(f"{self._marker}-selected")
            for action in self._bulk_actions:
                ui.button(action.label, icon=action.icon, on_click=lambda a=action: self._run_bulk(a)).props(
                    f"outline dense no-caps {'color=' + action.color if action.color else ''}"
                ).mark(f"bulk-{action.name}")
            ui.button("Clear selection", on_click=self.clear_selection).props("flat dense no-caps").mark(
                f"{self._marker}-clear-selection"
            )

    # ----------------------------------------------------------------------------------- behaviour

    @property
    def selected(self) -> list[dict[str, Any]]:
        return list(self.table.table.selected or [])

    def clear_selection(self) -> None:
        self.table.table.selected = []
        self._draw_bulk()

    async def _run_bulk(self, action: BulkAction) -> None:
        await action.handler(self.selected)

    async def reload(self, *, first_page: bool = False) -> None:
        if not self._pickers_loaded:  # a search filter's first choices, before any typing
            self._pickers_loaded = True
            for element in self._filter_inputs.values():
                if isinstance(element, SearchSelect):
                    await element.load()
        await self.table.reload(first_page=first_page)
        self._draw_bulk()

    async def _fetch_page(self, request: TableRequest) -> tuple[list[dict[str, Any]], int]:
        sort = request.sort if request.sort in self._sortable else self._default_sort[0]
        if self._keyset and self._sorted_by not in (None, (sort, request.descending)):
            self.state.cursor = ""  # another order: its pages start over
        self._sorted_by = (sort, request.descending)
        query = ListQuery(
            search=self.state.search,
            filters={k: v for k, v in self.state.filters.items() if v},
            sort=sort,
            descending=request.descending,
            offset=0 if self._keyset else request.offset,
            limit=request.limit,
            cursor=(self.state.cursor or None) if self._keyset else None,
        )
        try:
            rows, page = await self._fetch(query)
        except ValidationFailed as exc:
            ui.notify(exc.message, type="warning")
            rows, page = [], Page(rows=[], total=0, offset=0, limit=request.limit)
        self._page = page
        total = page.total
        singular, plural = self._noun
        shown = f"{COUNT_CAP:,}+" if page.total_capped else f"{total:,}"
        self.count_label.text = f"{shown} {singular if total == 1 and not page.total_capped else plural}"
        if self._keyset:
            self._update_pager()
        # Rows no longer on the page are no longer selected: a bulk action acts only on what is shown.
        keys = {row.get("id") for row in rows}
        if self.table.table.selected:
            self.table.table.selected = [r for r in self.table.table.selected if r.get("id") in keys]
        return rows, total

    async def _on_search(self, e) -> None:  # noqa: ANN001
        search = (e.value or "")[:200]
        if search == self.state.search:
            return  # already the view (set back by Back/Forward): not a change of the user's
        self.state.search = search
        self.state.cursor = ""
        await self.reload(first_page=True)
        self._replace_url()  # typing is not a step to go Back through

    async def _set(self, spec: Filter, value: Any) -> None:
        if spec.kind == "switch":
            value = "1" if value else "0"
        value = (value or "") if value != spec.default else ""
        if value == self.state.filters.get(spec.name, ""):
            return  # already the view (set back by Back/Forward): not a change of the user's
        self.state.filters[spec.name] = value
        self.state.cursor = ""
        await self.reload(first_page=True)
        self._push_url()

    async def _on_key(self, e) -> None:  # noqa: ANN001
        if not e.action.keydown or e.modifiers.ctrl or e.modifiers.meta or e.modifiers.alt:
            return
        if e.key in ("n", "N") and self._on_new is not None:
            result = self._on_new()
            if isinstance(result, Awaitable):
                await result

    # ----------------------------------------------------------------------------------- the URL

    def _params(self) -> dict[str, str]:
        pagination = self.table.pagination
        params: dict[str, str] = {}
        if self.state.search:
            params["search"] = self.state.search
        params.update({k: v for k, v in self.state.filters.items() if v})
        if self._keyset and self.state.cursor:
            params["cursor"] = self.state.cursor
        sort = pagination.get("sortBy") or self._default_sort[0]
        descending = bool(pagination.get("descending"))
        if (sort, descending) != self._default_sort:
            params["sort"], params["desc"] = sort, "1" if descending else "0"
        if not self._keyset and int(pagination.get("page", 1)) > 1:
            params["page"] = str(pagination["page"])
        if int(pagination.get("rowsPerPage", 25)) != 25:
            params["size"] = str(pagination["rowsPerPage"])
        return params

    def _url(self) -> str:
        params = self._params()
        return f"{self._path}?{urlencode(params)}" if params else str(self._path)

    def _push_url(self) -> None:
        if self._path:
            ui.navigate.history.push(self._url())

    def _replace_url(self) -> None:
        if self._path:
            ui.navigate.history.replace(self._url())

    def _url_params(self) -> dict[str, str]:
        request = context.client.request
        return dict(request.query_params) if request is not None else {}

    def _apply_params(self, params: Mapping[str, str]) -> list[str]:
        """Take the view from URL parameters; returns notices for values that were dropped."""
        ignored = []
        self.state.search = (params.get("search") or "")[:200]
        self.state.cursor = (params.get("cursor") or "")[:600] if self._keyset else ""
        self.state.filters = {}
        for spec in self._filters:
            value = (params.get(spec.name) or "")[:255]
            if spec.kind == "select" and value and value not in (spec.options or {}):
                ignored.append(f"Ignored an unknown {spec.name} “{value[:40]}” in the address.")
                value = ""
            if spec.kind == "switch" and value not in ("", "0", "1"):
                value = ""
            self.state.filters[spec.name] = value if value != spec.default else ""
        return ignored

    async def _on_popstate(self, e) -> None:  # noqa: ANN001
        from urllib.parse import parse_qsl

        params = dict(parse_qsl(str(e.args or "").lstrip("?")))
        self._apply_params(params)
        self.search_box.set_value(self.state.search)
        for spec in self._filters:
            element = self._filter_inputs[spec.name]
            value = self.state.filters.get(spec.name) or spec.default
            element.set_value(value == "1" if spec.kind == "switch" else value)
        sort, descending = self._default_sort
        sort = params.get("sort", sort)
        self.table.table.pagination = {
            **self.table.pagination,
            "sortBy": sort if sort in self._sortable else self._default_sort[0],
            "descending": params.get("desc", "1" if descending else "0") != "0",
            "page": _int(params.get("page"), 1),
            "rowsPerPage": _page_size(params),
        }
        await self.reload()


# Selection checkboxes with names (Quasar's own have none): what each one selects.
_SELECT_ALL = '<q-checkbox v-model="props.selected" dense aria-label="Select every row on this page" />'
_SELECT_ROW = (
    '<q-checkbox v-model="props.selected" dense '
    ":aria-label=\"'Select ' + (props.row.name || props.row.title || 'this row')\" />"
)
_ACTIONS_COLUMN = {"name": "actions", "label": "Actions", "field": "id", "align": "right"}


def _actions_slot(actions: Sequence[RowAction]) -> str:
    """Each action a named button emitting its event with the row (labels are our constants)."""
    buttons = []
    for action in actions:
        words = action.label + action.name + action.icon
        if not all(c.isalnum() or c in " -_" for c in words) or not all(
            c.isalnum() or c in " -_:,." for c in action.tip or ""
        ):
            raise ValueError(f"row action {action.name!r}: plain words only (they are written into a template)")
        color = f' color="{action.color}"' if action.color else ""
        name = f" :aria-label=\"'{action.label} ' + (props.row.name || props.row.title || '')\""
        emit = f" @click=\"() => $parent.$emit('{action.name}', props.row)\""
        if action.tip:
            shown = f" :class=\"({_attr(action.when)}) ? '' : 'invisible'\"" if action.when else ""
            buttons.append(
                f'<q-btn{shown} flat round dense size="sm" icon="{action.icon}"{color}{name}{emit}>'
                f"<q-tooltip>{action.tip}</q-tooltip></q-btn>"
            )
            continue
        condition = f' v-if="{_attr(action.when)}"' if action.when else ""
        buttons.append(
            f'<q-btn{condition} flat dense no-caps size="sm" icon="{action.icon}" label="{action.label}"{color}'
            f"{name}{emit} />"
        )
    return '<q-td :props="props" class="whitespace-nowrap">' + "".join(buttons) + "</q-td>"


def _attr(text: str) -> str:
    return text.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;")


def _int(value: str | None, default: int) -> int:
    """A whole number from the URL, within what a page number may be (1 to MAX_OFFSET: a number past
    64 bits reached the browser's JSON and failed the page), else `default`."""
    try:
        number = int(value) if value is not None else default
    except ValueError:
        return default
    return min(max(1, number), MAX_OFFSET)


def _page_size(params: dict[str, str]) -> int:
    size = _int(params.get("size"), 25)
    return size if size in PAGE_SIZES else 25
