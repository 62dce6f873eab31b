"""A data table that pages, sorts and counts on the server (Quasar's server-side pagination)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from nicegui import ui

PAGE_SIZES = [10, 25, 50, 100]


@dataclass
class TableRequest:
    offset: int
    limit: int
    sort: str
    descending: bool


Fetch = Callable[[TableRequest], Awaitable[tuple[list[dict[str, Any]], int]]]


SORTABLE_HEADER = """
<q-th :props="props" :tabindex="props.col.sortable ? 0 : undefined"
      :data-sort-col="props.col.sortable ? props.col.name : undefined"
      :aria-sort="!props.col.sortable ? undefined
                  : !props.col.__thClass.includes('sorted') ? 'none'
                  : props.col.__thClass.includes('sort-desc') ? 'descending' : 'ascending'"
      :title="props.col.sortable ? 'Sort by ' + props.col.label : undefined">{{ props.col.label }}</q-th>
"""
# A constant script, added once per page: Enter or Space on a sortable header sorts as a click does, and
# the focus stays on that header while the table redraws with the new order (it fell back to the page).
_HEADER_KEYS = """<script>
if (!window.simvadoSortKeys) {
  window.simvadoSortKeys = true;
  document.addEventListener('keydown', (e) => {
    const th = e.target.closest && e.target.closest('th[data-sort-col]');
    if (!th || (e.key !== 'Enter' && e.key !== ' ') || e.ctrlKey || e.metaKey || e.altKey) return;
    e.preventDefault();
    const table = th.closest('.q-table__container'), col = th.dataset.sortCol;
    th.click();
    let tries = 0;
    const keep = setInterval(() => {
      const again = table && table.querySelector(`th[data-sort-col="${CSS.escape(col)}"]`);
      if (again && (document.activeElement === document.body || !document.activeElement)) again.focus();
      if (++tries > 40) clearInterval(keep);
    }, 50);
  }, true);
}
</script>"""


class ServerTable:
    """ui.table whose rows come page by page from `fetch`; the table shows the total row count."""

    def __init__(
        self,
        *,
        columns: list[dict[str, Any]],
        fetch: Fetch,
        sort: str,
        descending: bool = False,
        page: int = 1,
        page_size: int = 25,
        row_key: str = "id",
        on_change: Callable[[], None] | None = None,
        empty_message: str = "Nothing here yet.",
    ) -> None:
        self._fetch = fetch
        self._on_change = on_change
        self.total = 0
        self.table = (
            ui.table(
                columns=columns,
                rows=[],
                row_key=row_key,
                pagination={
                    "page": max(1, page),
                    "rowsPerPage": page_size if page_size in PAGE_SIZES else 25,
                    "sortBy": sort,
                    "descending": descending,
                    "rowsNumber": 0,
                },
            )
            .classes("w-full sticky-header")
            .props(
                f'dense flat bordered binary-state-sort :rows-per-page-options="{PAGE_SIZES}" '
                f'no-data-label="{empty_message}"'
            )
        )
        # An empty list is not a warning: say what to do, with a neutral icon.
        self.table.add_slot(
            "no-data",
            '<div class="full-width row items-center q-gutter-sm text-grey-8">'
            '<q-icon name="info" size="sm" /><span>{{ props.message }}</span></div>',
        )
        # Sorting by keyboard too: each sortable header is a Tab stop that Enter or Space sorts by, and
        # says how it is sorted (aria-sort); Quasar's own headers sort on a mouse click only.
        self.table.add_slot("header-cell", SORTABLE_HEADER)
        ui.add_body_html(_HEADER_KEYS)
        self.table.on("request", self._on_request)
        self.table.on_pagination_change(self._keep_count)

    @property
    def pagination(self) -> dict[str, Any]:
        return self.table.pagination

    def _keep_count(self, event) -> None:  # noqa: ANN001
        # Quasar echoes its pagination back (update:pagination) when a table is first drawn, still
        # holding the rowsNumber it was created with; only the server knows the count, so keep ours
        # (otherwise the pager read "1-0 of 0" under a full page of rows).
        if isinstance(event.value, dict) and event.value.get("rowsNumber") != self.total:
            self.table.pagination = {**event.value, "rowsNumber": self.total}

    async def _on_request(self, event) -> None:  # noqa: ANN001
        wanted = event.args.get("pagination", {}) if isinstance(event.args, dict) else {}
        pagination = dict(self.table.pagination)
        for key in ("page", "rowsPerPage", "sortBy", "descending"):
            if key in wanted:
                pagination[key] = wanted[key]
        if pagination.get("rowsPerPage") not in PAGE_SIZES:
            pagination["rowsPerPage"] = 25
        self.table.pagination = pagination
        await self.reload()
        if self._on_change:
            self._on_change()

    async def reload(self, *, first_page: bool = False) -> None:
        pagination = dict(self.table.pagination)
        if first_page:
            pagination["page"] = 1
        size = int(pagination["rowsPerPage"])
        page = max(1, int(pagination["page"]))
        request = TableRequest(
            offset=(page - 1) * size,
            limit=size,
            sort=pagination.get("sortBy") or "",
            descending=bool(pagination.get("descending")),
        )
        rows, total = await self._fetch(request)
        self.total = total
        pagination["rowsNumber"] = total
        self.table.pagination = pagination
        self.table.rows = rows
        self.table.update()
