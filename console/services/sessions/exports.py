"""The sessions list as a file: the rows of the filtered view (scope, filters, search, order), as CSV or
Excel, written chunk by chunk from a server-side cursor (memory flat), audited (`play_session.export`).

The writers, the cell rules (no spreadsheet formulas: a player's name is typed by people) and the
temporary download files are the assignments exports' (console/services/assignments/exports.py).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import func, select
from sqlmodel import Session

from console.auth import Actor, Permission
from console.services import audit
from console.services.export_files import CHUNK, MEDIA_TYPES, CsvFile, ExportFormat, XlsxFile
from console.services.listing import ListQuery
from console.services.sessions import listing
from console.services.sessions.events import ProgressCallback
from models import AuditAction, AuditEntity, PlaySession

HEADER = (
    "Session id", "External id", "Player", "Email", "Organization", "Simulation", "Module", "Platform",
    "Status", "Stuck", "Started (UTC)", "Completed (UTC)", "Last event (UTC)", "Duration (seconds)", "Total score",
)  # fmt: skip
PERMISSION = Permission.view_sessions  # what the download asks of its owner (console/export_routes.py)


@dataclass(frozen=True)
class ListExport:
    rows: int
    filename: str


def filename_for(fmt: ExportFormat | str, now: datetime) -> str:
    return f"sessions-{now:%Y-%m-%d}.{ExportFormat(fmt).value}"


def media_type(fmt: ExportFormat | str) -> str:
    return MEDIA_TYPES[ExportFormat(fmt)]


def _cells(row: listing.SessionRow) -> list:
    return [
        str(row.id), row.external_session_id, row.player_name, row.player_email, row.organization_name,
        row.simulation_title, row.module_title, row.platform.value if row.platform else None, row.status.value,
        row.stuck, row.started_at, row.completed_at, row.last_event_at, row.duration_seconds, row.total_score,
    ]  # fmt: skip


def write(
    *,
    session: Session,
    actor: Actor,
    fmt: ExportFormat | str,
    query: ListQuery,
    path: Path,
    on_progress: ProgressCallback | None = None,
    now: datetime | None = None,
) -> ListExport:
    """Write every session of the view (not only its page) to `path`, in the view's order."""
    listing.require(actor)
    fmt, now = ExportFormat(fmt), now or datetime.now(UTC)
    where = listing.conditions(session, actor, query, now=now)
    total = session.scalar(select(func.count()).select_from(PlaySession).where(*where)) or 0
    sort = query.sort if query.sort in listing.SORTABLE else "started_at"
    descending = query.descending if query.sort in listing.SORTABLE else True
    column = listing.SORTABLE[sort]
    order = column.desc().nulls_last() if descending else column.asc().nulls_last()
    ids = session.execute(
        listing.page_statement(where, query).order_by(order, PlaySession.id).execution_options(yield_per=CHUNK)
    )
    out = CsvFile(path) if fmt is ExportFormat.csv else XlsxFile(path, "Sessions")
    written = 0
    try:
        out.write([list(HEADER)])
        if on_progress is not None:
            on_progress(0, total)
        for chunk in ids.partitions():
            rows = listing.rows_for(session, [row[0] for row in chunk], now=now)
            out.write([_cells(row) for row in rows])
            written += len(rows)
            if on_progress is not None:
                on_progress(written, max(total, written))
    finally:
        out.close()
    _record(session, actor, fmt, query, written)
    return ListExport(written, filename_for(fmt, now))


def _record(session: Session, actor: Actor, fmt: ExportFormat, query: ListQuery, rows: int) -> None:
    organization_id: uuid.UUID | None = query.uuid("organization_id")
    if not actor.can(Permission.manage_platform) and actor.can(Permission.manage_organization):
        organization_id = actor.organization_id
    audit.record(
        session=session,
        actor=actor,
        action=AuditAction.play_session_export,
        subject=(AuditEntity.play_session, None),
        organization_id=organization_id,
        after={
            "export": "sessions",
            "format": fmt.value,
            "filters": {k: v for k, v in sorted(query.filters.items()) if v},
            "search": query.search or None,
            "rows": rows,
        },
        comment=f"Exported the sessions list as {fmt.value.upper()}: {rows:,} row{'' if rows == 1 else 's'}",
    )
    session.flush()
