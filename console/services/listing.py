"""The list contract every service that lists follows: one query type in, one page of results out.

A list page (or the API, or a report) asks with a `ListQuery` — free-text search, named filters,
a sort column and direction, an offset and a limit — and gets a `Page`: the rows of that page and
the count of every matching row, both computed in SQL. Each service says which columns may be
sorted (`sortable`) and what its filters mean; `paged` applies the sort, a stable tie-break and the
page bounds the same way everywhere.

Filters arrive as text (from a URL, a form) and are read through the typed accessors, which refuse
a value that means nothing (`ValidationFailed`, naming the filter) instead of ignoring it.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from enum import Enum
from typing import Any, Generic, TypeVar

from sqlalchemy import ColumnElement, Select, func, or_, select
from sqlmodel import Session

from console.errors import ValidationFailed

T = TypeVar("T")
E = TypeVar("E", bound=Enum)

MAX_PAGE_SIZE = 200
MAX_SEARCH = 200


@dataclass(frozen=True)
class ListQuery:
    search: str = ""
    filters: Mapping[str, str] = field(default_factory=dict)
    sort: str = ""
    descending: bool = False
    offset: int = 0
    limit: int = 25

    # ------------------------------------------------------------------------- typed filters

    def text(self, name: str, *, max_length: int = 255) -> str | None:
        value = (self.filters.get(name) or "").strip()
        return value[:max_length] or None

    def choice(self, name: str, enum_cls: type[E]) -> E | None:
        value = self.text(name)
        if value is None:
            return None
        try:
            return enum_cls(value)
        except ValueError:
            allowed = ", ".join(str(m.value) for m in enum_cls)
            raise ValidationFailed(f"Unknown {name} “{value}”.", details={name: f"one of {allowed}"}) from None

    def date(self, name: str) -> date | None:
        value = self.text(name)
        if value is None:
            return None
        try:
            return date.fromisoformat(value)
        except ValueError:
            raise ValidationFailed(f"“{value}” is not a date.", details={name: "a date as YYYY-MM-DD"}) from None

    def uuid(self, name: str) -> uuid.UUID | None:
        value = self.text(name)
        if value is None:
            return None
        try:
            return uuid.UUID(value)
        except ValueError:
            raise ValidationFailed(f"“{value}” is not a record id.", details={name: "not an id"}) from None

    def flag(self, name: str, *, default: bool) -> bool:
        value = self.text(name)
        if value is None:
            return default
        if value in ("1", "true", "yes"):
            return True
        if value in ("0", "false", "no"):
            return False
        raise ValidationFailed(f"Unknown {name} “{value}”.", details={name: "1 or 0"})


@dataclass
class Page(Generic[T]):
    """One page of a list, paged and sorted in SQL; `total` counts every matching row."""

    rows: list[T]
    total: int
    offset: int
    limit: int


def escape_like(text: str) -> str:
    """`text` as a literal inside a LIKE pattern (with ESCAPE '\\'): %, _ and \\ match themselves."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def contains(text: str) -> str:
    """A LIKE pattern matching any value that contains `text`."""
    return f"%{escape_like(text)}%"


def search_clause(search: str, *columns: Any) -> ColumnElement[bool] | None:
    """Case-insensitive "contains" over the columns, or None for an empty search."""
    term = (search or "").strip()[:MAX_SEARCH]
    if not term:
        return None
    pattern = contains(term)
    return or_(*(column.ilike(pattern, escape="\\") for column in columns))


def bounds(query: ListQuery) -> tuple[int, int]:
    """The query's offset and limit, clamped to what a page may be."""
    return max(0, int(query.offset)), min(max(1, int(query.limit)), MAX_PAGE_SIZE)


def paged(
    session: Session,
    statement: Select,
    query: ListQuery,
    *,
    sortable: Mapping[str, Any],
    default_sort: str,
    default_descending: bool = False,
    tiebreak: Any,
    count: Select | None = None,
    scalars: bool = True,
) -> Page:
    """Run `statement` (already filtered) as one sorted page; `count` overrides the default count.

    Sorts on `sortable[query.sort]` in the query's direction (or, with no known sort asked for, on
    `default_sort` in `default_descending`'s), NULLs last either way, then `tiebreak` (a
    column or a tuple of them) so that paging is stable. With `scalars`, rows are the statement's first
    column (entities); otherwise tuples.
    """
    offset, limit = bounds(query)
    if query.sort in sortable:
        column, descending = sortable[query.sort], query.descending
    else:
        column, descending = sortable[default_sort], default_descending
    order = column.desc().nulls_last() if descending else column.asc().nulls_last()
    if count is None:
        count = select(func.count()).select_from(statement.order_by(None).subquery())
    total = session.scalar(count) or 0
    ties = tiebreak if isinstance(tiebreak, tuple) else (tiebreak,)
    ordered = statement.order_by(order, *ties).offset(offset).limit(limit)
    rows = list(session.scalars(ordered)) if scalars else list(session.execute(ordered).all())
    return Page(rows=rows, total=total, offset=offset, limit=limit)
