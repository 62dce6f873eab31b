"""The list contract every service that lists follows: one query type in, one page of results out.

A list page (or the API, or a report) asks with a `ListQuery` — free-text search, named filters,
a sort column and direction, an offset and a limit — and gets a `Page`: the rows of that page and
the count of every matching row, both computed in SQL. Each service says which columns may be
sorted (`sortable`) and what its filters mean; `paged` applies the sort, a stable tie-break and the
page bounds the same way everywhere.

Filters arrive as text (from a URL, a form) and are read through the typed accessors, which refuse
a value that means nothing (`ValidationFailed`, naming the filter) instead of ignoring it.

Lists that only grow (the audit log, events) page by key instead (`keyset`): each page starts after
the last row of the one before (an opaque `cursor`), the last page is the first one read backwards,
and the count stops at `COUNT_CAP` ("1,000+"). Every page costs one index range however long the
history, where OFFSET walked every row before the page and the count read them all.
"""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import Enum
from typing import Any, Generic, TypeVar

from sqlalchemy import ColumnElement, Select, UnaryExpression, func, literal, or_, select, tuple_
from sqlalchemy.sql import operators
from sqlmodel import Session

from console.errors import ValidationFailed

T = TypeVar("T")
E = TypeVar("E", bound=Enum)

MAX_PAGE_SIZE = 200
MAX_OFFSET = 1_000_000_000  # far past any list; bigint OFFSETs beyond 2**63 would be an error
MAX_SEARCH = 200
COUNT_CAP = 1_000
LAST = "last"  # the cursor of a keyset list's last page


@dataclass(frozen=True)
class ListQuery:
    search: str = ""
    filters: Mapping[str, str] = field(default_factory=dict)
    sort: str = ""
    descending: bool = False
    offset: int = 0
    limit: int = 25
    cursor: str | None = None  # keyset lists: where the page starts (Page.next_cursor, …, or LAST)

    # ------------------------------------------------------------------------- typed filters

    def text(self, name: str, *, max_length: int = 255) -> str | None:
        value = (self.filters.get(name) or "").replace("\x00", "").strip()
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
    total_capped: bool = False  # total is a floor: there are more (keyset lists count to COUNT_CAP)
    next_cursor: str | None = None  # keyset lists: the page after this one, if any
    previous_cursor: str | None = None  # keyset lists: the page before this one, if any


def escape_like(text: str) -> str:
    """`text` as a literal inside a LIKE pattern (with ESCAPE '\\'): %, _ and \\ match themselves."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def contains(text: str) -> str:
    """A LIKE pattern matching any value that contains `text`."""
    return f"%{escape_like(text)}%"


def search_clause(search: str, *columns: Any) -> ColumnElement[bool] | None:
    """Case-insensitive "contains" over the columns, or None for an empty search."""
    # PostgreSQL text cannot hold NUL: a search with one would be an error, not "no match".
    term = (search or "").replace("\x00", "").strip()[:MAX_SEARCH]
    if not term:
        return None
    pattern = contains(term)
    return or_(*(column.ilike(pattern, escape="\\") for column in columns))


def lowered_search_clause(search: str, column: Any) -> ColumnElement[bool] | None:
    """`search_clause` over a column that already holds lower-cased text (like `users.search_text`):
    LIKE, with PostgreSQL lowering the term the same way it lowered the column. The column joins its
    parts with a line break, which a term therefore never holds: it never matches across two parts."""
    term = (search or "").replace("\x00", "").replace("\n", " ").strip()[:MAX_SEARCH]
    if not term:
        return None
    return column.like(func.lower(contains(term)), escape="\\")


def bounds(query: ListQuery) -> tuple[int, int]:
    """The query's offset and limit, clamped to what a page may be (an offset past any list's end is
    still a number PostgreSQL takes: a page far beyond the end is empty, not an error)."""
    return min(max(0, int(query.offset)), MAX_OFFSET), min(max(1, int(query.limit)), MAX_PAGE_SIZE)


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
    never_null: Collection[str] = (),
) -> Page:
    """Run `statement` (already filtered) as one sorted page; `count` overrides the default count.

    Sorts on `sortable[query.sort]` in the query's direction (or, with no known sort asked for, on
    `default_sort` in `default_descending`'s), NULLs last either way, then `tiebreak` (a
    column or a tuple of them) so that paging is stable. With `scalars`, rows are the statement's first
    column (entities); otherwise tuples. Sorts named in `never_null` (a column that is never NULL in
    this statement) are ordered without a NULLS clause: PostgreSQL does not know that NULLS LAST means
    nothing for a NOT NULL column, and only the plain order lets a plain index serve both directions.
    """
    offset, limit = bounds(query)
    if query.sort in sortable:
        sort, descending = query.sort, query.descending
    else:
        sort, descending = default_sort, default_descending
    column = sortable[sort]
    plain = sort in never_null
    order = column.desc() if descending else column.asc()
    if not plain:
        order = order.nulls_last()
    if count is None:
        count = select(func.count()).select_from(statement.order_by(None).subquery())
    total = session.scalar(count) or 0
    ties = tiebreak if isinstance(tiebreak, tuple) else (tiebreak,)
    if offset >= total:
        return Page(rows=[], total=total, offset=offset, limit=limit)
    from_end = offset > total // 2
    if from_end:
        # Past the middle, read the page from the other end: the database then steps over what
        # follows the page (few rows near the end) instead of everything before it, so the last page
        # costs what the first does. The exact reverse of the order (NULLs first, ties descending)
        # gives the same rows, reversed back below.
        backwards = column.asc() if descending else column.desc()
        if not plain:
            backwards = backwards.nulls_first()
        tail = total - offset - limit
        ordered = statement.order_by(backwards, *(_reverse(tie) for tie in ties))
        ordered = ordered.offset(max(0, tail)).limit(limit + min(0, tail))
    else:
        ordered = statement.order_by(order, *ties).offset(offset).limit(limit)
    rows = list(session.scalars(ordered)) if scalars else list(session.execute(ordered).all())
    if from_end:
        rows.reverse()
    return Page(rows=rows, total=total, offset=offset, limit=limit)


def _reverse(tie: Any) -> Any:
    """A tiebreak ordered the other way (a column, or one already marked descending)."""
    if isinstance(tie, UnaryExpression) and tie.modifier is operators.desc_op:
        return tie.element.asc()
    return tie.desc()


def keyset(
    session: Session,
    statement: Select,
    query: ListQuery,
    *,
    sortable: Mapping[str, Any],
    default_sort: str,
    default_descending: bool = False,
    key: Any,
) -> Page:
    """`statement` (already filtered; entities) as one page by key: sorted on a sortable column (never
    NULL) then `key` (unique), starting where `query.cursor` says, with a count capped at COUNT_CAP."""
    _, limit = bounds(query)
    if query.sort in sortable:
        sort, descending = query.sort, query.descending
    else:
        sort, descending = default_sort, default_descending
    column = sortable[sort]
    mode, values = _read_cursor(query.cursor, sort, descending)
    try:
        values = values if values is None else [_typed(values[0], column), _typed(values[1], key)]
    except (TypeError, ValueError):
        mode, values = None, None
    forward = mode in (None, "after")
    step = descending if forward else not descending  # reading backwards flips the order
    ordered = statement.order_by(*((column.desc(), key.desc()) if step else (column.asc(), key.asc())))
    if values is not None:
        position = tuple_(column, key)
        bound = tuple_(literal(values[0], column.type), literal(values[1], key.type))
        ordered = ordered.where(position < bound if step else position > bound)
    rows = list(session.scalars(ordered.limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    if not forward:
        rows.reverse()
    counted = session.scalar(select(func.count()).select_from(statement.order_by(None).limit(COUNT_CAP + 1).subquery()))
    page = Page(rows=rows, total=min(counted or 0, COUNT_CAP), offset=0, limit=limit)
    page.total_capped = (counted or 0) > COUNT_CAP
    first, last = (rows[0], rows[-1]) if rows else (None, None)
    if forward:
        page.previous_cursor = _cursor("before", sort, descending, first, column, key) if mode and first else None
        page.next_cursor = _cursor("after", sort, descending, last, column, key) if more else None
    else:
        page.previous_cursor = _cursor("before", sort, descending, first, column, key) if more else None
        page.next_cursor = _cursor("after", sort, descending, last, column, key) if mode == "before" and last else None
    return page


def _cursor(mode: str, sort: str, descending: bool, row: Any, column: Any, key: Any) -> str:
    values = [_plain(getattr(row, column.key)), _plain(getattr(row, key.key))]
    return base64.urlsafe_b64encode(json.dumps([mode, sort, descending, values]).encode()).decode().rstrip("=")


def _plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else str(value)


def _read_cursor(cursor: str | None, sort: str, descending: bool) -> tuple[str | None, list | None]:
    """(mode, [sort value, key]) of a cursor made for this sort; a cursor of another sort, or one that
    means nothing, starts at the first page (a bookmark after the sort changed is not an error)."""
    if not cursor:
        return None, None
    if cursor == LAST:
        return "last", None
    try:
        mode, c_sort, c_descending, values = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (ValueError, TypeError):
        return None, None
    if mode not in ("after", "before") or c_sort != sort or c_descending != descending or len(values) != 2:
        return None, None
    return mode, values


def _typed(value: str, column: Any) -> Any:
    """A cursor's value as the column's Python type (a cursor that does not fit reads as the start)."""
    kind = column.type.python_type
    if kind is datetime:
        return datetime.fromisoformat(value)
    if kind is uuid.UUID:
        return uuid.UUID(value)
    if not isinstance(value, str):
        raise TypeError("a text cursor value")
    return value
