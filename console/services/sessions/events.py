"""One session's raw events: a searchable, paged table, and the same events exported as JSON or CSV.

Each event is exactly what the engine sent (`event_data`) with its id, type, the engine's timestamp
and the server's received-at. Search looks in the payload's JSON text and the event id; the `type`
filter takes an EventType. Exports stream from a server-side cursor into the file (never all rows in
memory), in the table's order, and are audited (`play_session.export`).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path

from sqlalchemy import String, Text, cast, func, or_, select
from sqlmodel import Session

from console.auth import Actor
from console.errors import NotFound
from console.services import audit
from console.services.export_files import CHUNK, CsvFile
from console.services.listing import ListQuery, Page, contains, paged
from console.services.sessions import detail
from models import AuditAction, GameEvent
from models.enums import EventType

ProgressCallback = Callable[[int, int], None]


class EventsFormat(StrEnum):
    json = "json"
    csv = "csv"


MEDIA_TYPES = {EventsFormat.json: "application/json", EventsFormat.csv: "text/csv; charset=utf-8"}
CSV_HEADER = ("Event id", "Type", "Timestamp (UTC, engine)", "Received (UTC, server)", "Data (JSON)")


@dataclass
class RawEvent:
    id: uuid.UUID
    type: EventType
    timestamp: datetime
    received_at: datetime
    data: dict


SORTABLE = {
    "timestamp": GameEvent.timestamp,
    "received_at": GameEvent.received_at,
    "type": GameEvent.event_type,
}


def _conditions(play_id: uuid.UUID, query: ListQuery) -> list:
    where = [GameEvent.session_id == play_id]
    if kind := query.choice("type", EventType):
        where.append(GameEvent.event_type == kind)
    term = (query.search or "").replace("\x00", "").strip()[:200]
    if term:
        in_payload = cast(GameEvent.event_data, Text).ilike(contains(term), escape="\\")
        where.append(or_(in_payload, cast(GameEvent.id, String) == term.lower()))
    return where


def list_(*, session: Session, actor: Actor, session_id: uuid.UUID, query: ListQuery) -> Page[RawEvent]:
    """A page of the session's events, in the engine's time order unless sorted otherwise."""
    play = detail.get(session=session, actor=actor, session_id=session_id)
    where = _conditions(play.id, query)
    found = paged(
        session,
        select(GameEvent).where(*where),
        query,
        sortable=SORTABLE,
        default_sort="timestamp",
        tiebreak=(GameEvent.received_at, GameEvent.id),
        count=select(func.count()).select_from(GameEvent).where(*where),
    )
    return Page(
        rows=[RawEvent(e.id, e.event_type, e.timestamp, e.received_at, e.event_data or {}) for e in found.rows],
        total=found.total,
        offset=found.offset,
        limit=found.limit,
    )


def get(*, session: Session, actor: Actor, session_id: uuid.UUID, event_id: uuid.UUID) -> RawEvent:
    """One event of the session (all of its data)."""
    play = detail.get(session=session, actor=actor, session_id=session_id)
    event = session.scalar(select(GameEvent).where(GameEvent.id == event_id, GameEvent.session_id == play.id))
    if event is None:
        raise NotFound("Event not found in this session.")
    return RawEvent(event.id, event.event_type, event.timestamp, event.received_at, event.event_data or {})


@dataclass(frozen=True)
class EventsExport:
    rows: int
    filename: str


def filename_for(session_id: uuid.UUID, fmt: EventsFormat | str) -> str:
    return f"session-{session_id}-events.{EventsFormat(fmt).value}"


def _utc(value: datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def write(
    *,
    session: Session,
    actor: Actor,
    session_id: uuid.UUID,
    fmt: EventsFormat | str,
    query: ListQuery,
    path: Path,
    on_progress: ProgressCallback | None = None,
) -> EventsExport:
    """Write the session's events matching the query (its search and type) to `path`: JSON (an array of
    {id, type, timestamp, received_at, data}) or CSV (the data as JSON text in one column)."""
    fmt = EventsFormat(fmt)
    play = detail.get(session=session, actor=actor, session_id=session_id)
    where = _conditions(play.id, query)
    total = session.scalar(select(func.count()).select_from(GameEvent).where(*where)) or 0
    column = SORTABLE.get(query.sort, GameEvent.timestamp)
    order = column.desc() if query.sort in SORTABLE and query.descending else column.asc()
    statement = (
        select(GameEvent.id, GameEvent.event_type, GameEvent.timestamp, GameEvent.received_at, GameEvent.event_data)
        .where(*where)
        .order_by(order, GameEvent.received_at, GameEvent.id)
        .execution_options(yield_per=CHUNK)
    )
    written = 0
    if on_progress is not None:
        on_progress(0, total)
    if fmt is EventsFormat.json:
        with path.open("w", encoding="utf-8") as out:
            out.write("[")
            for chunk in session.execute(statement).partitions():
                for event_id, kind, at, received, data in chunk:
                    record = {"id": str(event_id), "type": EventType(kind).value, "timestamp": _utc(at),
                              "received_at": _utc(received), "data": data}  # fmt: skip
                    out.write(("\n  " if not written else ",\n  ") + json.dumps(record, ensure_ascii=False))
                    written += 1
                if on_progress is not None:
                    on_progress(written, max(total, written))
            out.write("\n]\n" if written else "]\n")
    else:
        out_csv = CsvFile(path)
        try:
            out_csv.write([list(CSV_HEADER)])
            for chunk in session.execute(statement).partitions():
                out_csv.write(
                    [
                        [str(i), EventType(k).value, _utc(t), _utc(r), json.dumps(d, ensure_ascii=False)]
                        for i, k, t, r, d in chunk
                    ]
                )
                written += len(chunk)
                if on_progress is not None:
                    on_progress(written, max(total, written))
        finally:
            out_csv.close()
    audit.record(
        session=session,
        actor=actor,
        action=AuditAction.play_session_export,
        subject=play,
        organization_id=play.organization_id,
        after={
            "export": "events",
            "format": fmt.value,
            "search": query.search or None,
            "filters": {k: v for k, v in sorted(query.filters.items()) if v},
            "rows": written,
        },
        comment=f"Exported the session's events as {fmt.value.upper()}: {written:,} row{'' if written == 1 else 's'}",
    )
    session.flush()
    return EventsExport(written, filename_for(play.id, fmt))
