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
