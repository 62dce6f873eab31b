"""Exports of assignments: progress (one row per assignment) and results (one row per counted session),
as CSV or Excel, for the same filters and scope as the list and the reports.

Memory stays flat however many rows: rows come from a server-side cursor `CHUNK` at a time
(`yield_per`) and go straight to the file (CSV text, or XlsxWriter's constant-memory workbook, which keeps
its rows in a temporary file of its own until it is saved); nothing ever holds all the rows. The file
is a path the caller gives (the page's temporary download, `ExportFiles`); `write` reports its
progress chunk by chunk and records the export in the audit log (who, what, which filters, how many
rows) in the caller's transaction, so an export that fails is not recorded as made.

Cells a spreadsheet would run as a formula (text starting with =, +, -, @, a tab or a carriage return:
OWASP "CSV injection") are written with a leading apostrophe: names and department names are typed by
people. Times are UTC (the headers say so); Excel holds them without a zone, as it must.
"""

from __future__ import annotations

import csv
import os
import secrets
import shutil
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import aliased
from sqlmodel import Session

from console.auth import Actor, Permission
from console.errors import ValidationFailed
from console.services import audit, scoring
from console.services.assignments import progress, reports
from console.services.assignments import status as rules
from console.services.listing import ListQuery
from models import (
    AuditAction,
    AuditEntity,
    Module,
    Organization,
    OrgMembership,
    PlaySession,
    Simulation,
    SimulationAssignment,
    User,
)
from models.enums import AssignmentStatus

CHUNK = 2_000  # rows fetched and written at a time
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


class ExportKind(StrEnum):
    progress = "progress"
    results = "results"


class ExportFormat(StrEnum):
    csv = "csv"
    xlsx = "xlsx"


MEDIA_TYPES = {
    ExportFormat.csv: "text/csv; charset=utf-8",
    ExportFormat.xlsx: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}

PROGRESS_HEADER = (
    "Person", "Email", "Department", "Organization", "Simulation", "Status", "Due date", "Days late",
    "Assigned (UTC)", "Started (UTC)", "Completed (UTC)", "Score", "Passed",
)  # fmt: skip
RESULTS_HEADER = (
    "Person", "Email", "Department", "Simulation", "Module", "Started (UTC)", "Completed (UTC)",
    "Duration (seconds)", "Total",
)  # fmt: skip


@dataclass(frozen=True)
class ExportOutcome:
    kind: ExportKind
    format: ExportFormat
    rows: int
    filename: str


ProgressCallback = Callable[[int, int], None]  # (rows written, rows in all)


def filename_for(kind: ExportKind, fmt: ExportFormat, on: date | None = None) -> str:
    return f"assignments-{kind.value}-{(on or rules.today()).isoformat()}.{fmt.value}"


# --- the rows ------------------------------------------------------------------------------------------


def _progress_statement(actor: Actor, query: ListQuery, on: date):  # noqa: ANN202
    now = rules.status_now(on)
    sortable = progress.sortable(now)
    column, descending = (
        (sortable[query.sort], query.descending) if query.sort in sortable else (sortable["due_date"], False)
    )
    order = column.desc().nulls_last() if descending else column.asc().nulls_last()
    return (
        progress.joined(
            select(
                User.name,
                User.email,
                OrgMembership.department,
                Organization.name,
                Simulation.title,
                now,
                SimulationAssignment.due_date,
                SimulationAssignment.assigned_at,
                SimulationAssignment.started_at,
                SimulationAssignment.completed_at,
                SimulationAssignment.score,
                SimulationAssignment.passed,
            ).select_from(SimulationAssignment)
        )
        .join(Organization, Organization.id == SimulationAssignment.organization_id)
        .where(*progress.conditions(actor, query, on=on))
        .order_by(order, SimulationAssignment.id)
    )


def _progress_count(actor: Actor, query: ListQuery, on: date):  # noqa: ANN202
    return progress.joined(select(func.count()).select_from(SimulationAssignment)).where(
        *progress.conditions(actor, query, on=on)
    )


def _progress_row(row: Sequence, on: date) -> list:
    name, email, department, org, title, status, due, assigned, started, completed, score, passed = row
    return [
        name, email, department, org, title, AssignmentStatus(status).value, due,
        rules.days_late(due, completed, on), assigned, started, completed, score, passed,
    ]  # fmt: skip


# The results rows read the person and the simulation through aliases: the counted-sessions clause
# has its own User, Simulation and OrgMembership, which must not be correlated with these.
_Player = aliased(User, name="player")
_Sim = aliased(Simulation, name="sim")
_Membership = aliased(OrgMembership, name="membership")


def _results_statement(actor: Actor, query: ListQuery, on: date, keys: list[str]):  # noqa: ANN202
    scores = [func.jsonb_extract_path_text(PlaySession.final_scores, key) for key in ["total", *keys]]
    return (
        select(
            _Player.name,
            _Player.email,
            _Membership.department,
            _Sim.title,
            Module.title,
            PlaySession.started_at,
            PlaySession.completed_at,
            PlaySession.total_duration_seconds,
            *scores,
        )
        .select_from(PlaySession)
        .join(Module, Module.id == PlaySession.module_id)
        .join(_Sim, _Sim.id == Module.simulation_id)
        .join(_Player, _Player.id == PlaySession.user_id)
        .outerjoin(
            _Membership,
            (_Membership.user_id == PlaySession.user_id) & (_Membership.organization_id == _Player.organization_id),
        )
        .where(reports.counted_sessions(actor, query, on=on))
        .order_by(_Player.name, _Sim.title, PlaySession.completed_at, PlaySession.id)
    )


def _results_count(actor: Actor, query: ListQuery, on: date):  # noqa: ANN202
    return (
        select(func.count())
        .select_from(PlaySession)
        .join(Module, Module.id == PlaySession.module_id)
        .where(reports.counted_sessions(actor, query, on=on))
    )


def _number(text: str | None) -> float | None:
    try:
        return float(text) if text is not None else None
    except ValueError:
        return None


def _results_row(row: Sequence) -> list:
    name, email, department, sim, module, started, completed, seconds, *scores = row
    return [name, email, department, sim, module, started, completed, seconds, *(_number(s) for s in scores)]


def _dimensions(session: Session, actor: Actor, query: ListQuery, on: date) -> list[tuple[str, str]]:
    """(key, label) of every scoring dimension of the simulations among the filtered assignments,
    in title order, each key once: one column per dimension (empty where a simulation has none)."""
    configs = session.execute(
        select(Simulation.scoring_config)
        .where(
            Simulation.id.in_(
                progress.joined(select(SimulationAssignment.simulation_id)).where(
                    *progress.conditions(actor, query, on=on)
                )
            )
        )
        .order_by(Simulation.title, Simulation.id)
    ).scalars()
    seen: dict[str, str] = {}
    for raw in configs:
        try:
            config = scoring.parse_config(raw)
        except ValidationFailed:
            continue
        for dim in config.dimensions:
            seen.setdefault(dim.key, dim.label)
    return list(seen.items())


# --- the files -----------------------------------------------------------------------------------------


def _cell(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def _utc(value: datetime) -> datetime:
    return value.astimezone(UTC).replace(tzinfo=None)


class _CsvFile:
    def __init__(self, path: Path) -> None:
        # A byte-order mark: Excel opens UTF-8 CSV correctly only with one.
        self._file = path.open("w", encoding="utf-8-sig", newline="")
        self._writer = csv.writer(self._file)

    @staticmethod
    def _text(value: Any) -> Any:
        if isinstance(value, datetime):
            return _utc(value).strftime("%Y-%m-%d %H:%M:%S")
        if isinstance(value, bool):
            return "yes" if value else "no"
        return "" if value is None else _cell(value)

    def write(self, rows: list[Sequence]) -> None:
        self._writer.writerows([self._text(v) for v in row] for row in rows)

    def close(self) -> None:
        self._file.close()


class _XlsxFile:
    """XlsxWriter in constant-memory mode: each row is written out as soon as the next one starts, so
    memory stays flat, and it writes 100,000 rows several times faster than openpyxl's write-only
    mode (bench/export.py)."""

    def __init__(self, path: Path, title: str) -> None:
        import xlsxwriter

        self._book = xlsxwriter.Workbook(
            str(path), {"constant_memory": True, "remove_timezone": True, "strings_to_formulas": False}
        )
        self._sheet = self._book.add_worksheet(title[:31])
        self._when = self._book.add_format({"num_format": "yyyy-mm-dd hh:mm:ss"})
        self._day = self._book.add_format({"num_format": "yyyy-mm-dd"})
        self._row = 0

    def write(self, rows: list[Sequence]) -> None:
        for row in rows:
            for column, value in enumerate(row):
                if isinstance(value, datetime):
                    self._sheet.write_datetime(self._row, column, _utc(value), self._when)
                elif isinstance(value, date):
                    self._sheet.write_datetime(self._row, column, value, self._day)
                elif value is None:
                    continue
                elif isinstance(value, bool | int | float):
                    self._sheet.write(self._row, column, value)
                else:
                    # Text stays text: never a formula, a number or a link, whatever it looks like.
                    self._sheet.write_string(self._row, column, str(_cell(value)))
            self._row += 1

    def close(self) -> None:
        self._book.close()


# The file writers, for other areas' exports (console/services/sessions/exports.py).
CsvFile, XlsxFile, cell = _CsvFile, _XlsxFile, _cell


def write(
    *,
    session: Session,
    actor: Actor,
    kind: ExportKind | str,
    fmt: ExportFormat | str,
    query: ListQuery,
    path: Path,
    on_progress: ProgressCallback | None = None,
    on: date | None = None,
) -> ExportOutcome:
    """Write the export of `kind` for the query's filters, in the actor's scope, to `path` in `fmt`;
    record it in the audit log. `on_progress(done, total)` is called after each chunk."""
    kind, fmt = ExportKind(kind), ExportFormat(fmt)
    reports.check_scope(actor, query)
    on = on or rules.today()
    if kind is ExportKind.progress:
        header, keys = list(PROGRESS_HEADER), []
        statement, count = _progress_statement(actor, query, on), _progress_count(actor, query, on)
    else:
        dims = _dimensions(session, actor, query, on)
        header, keys = list(RESULTS_HEADER) + [label for _, label in dims], [key for key, _ in dims]
        statement, count = _results_statement(actor, query, on, keys), _results_count(actor, query, on)
    total = session.scalar(count) or 0
    out = _CsvFile(path) if fmt is ExportFormat.csv else _XlsxFile(path, kind.value.capitalize())
    written = 0
    try:
        out.write([header])
        if on_progress is not None:
            on_progress(0, total)
        result = session.execute(statement.execution_options(yield_per=CHUNK))
        for chunk in result.partitions():
            if kind is ExportKind.progress:
                out.write([_progress_row(row, on) for row in chunk])
            else:
                out.write([_results_row(row) for row in chunk])
            written += len(chunk)
            if on_progress is not None:
                on_progress(written, max(total, written))
    finally:
        out.close()
    _record(session, actor, kind, fmt, query, written)
    return ExportOutcome(kind, fmt, written, filename_for(kind, fmt, on))


def _record(session: Session, actor: Actor, kind: ExportKind, fmt: ExportFormat, query: ListQuery, rows: int) -> None:
    organization_id = query.uuid("organization_id")
    if not actor.can(Permission.manage_platform):
        organization_id = actor.organization_id
    filters = {k: v for k, v in sorted(query.filters.items()) if v}
    audit.record(
        session=session,
        actor=actor,
        action=AuditAction.assignment_export,
        subject=(AuditEntity.organization, organization_id),
        organization_id=organization_id,
        after={
            "export": kind.value,
            "format": fmt.value,
            "filters": filters,
            "search": query.search or None,
            "rows": rows,
        },
        comment=f"Exported {kind.value} as {fmt.value.upper()}: {rows:,} {'row' if rows == 1 else 'rows'}",
    )
    session.flush()


# --- temporary files for downloads ----------------------------------------------------------------------


@dataclass
class _Entry:
    owner: uuid.UUID
    path: Path
    filename: str
    media_type: str
    ready: bool
    created: float
    permission: Permission = Permission.manage_organization  # what the owner must still hold to fetch it


class ExportFiles:
    """The export files of this process waiting for their download, each for one person, once.

    A file is removed when it is downloaded, when its export fails, when nobody fetched it within
    `ttl` seconds (swept whenever another export starts or a download is asked for), and with the whole
    folder when the process stops — so no file outlives its use. Tokens are random (128 bits) and
    bound to the person who exported: another login cannot fetch it even with the address.
    """

    def __init__(self, ttl: float = 15 * 60) -> None:
        self.ttl = ttl
        self._lock = threading.Lock()
        self._entries: dict[str, _Entry] = {}
        self._root: Path | None = None

    @property
    def root(self) -> Path:
        with self._lock:
            if self._root is None or not self._root.is_dir():
                self._root = Path(tempfile.mkdtemp(prefix=f"simvado-exports-{os.getpid()}-"))
            return self._root

    def reserve(
        self,
        owner: uuid.UUID,
        kind: ExportKind | None,
        fmt: ExportFormat | str,
        *,
        filename: str | None = None,
        media_type: str | None = None,
        permission: Permission = Permission.manage_organization,
    ) -> tuple[str, Path]:
        """A token and the path its export is written to (not downloadable until `ready`). Other areas'
        exports (play sessions) give their own `filename`, `media_type` and the `permission` the owner
        must still hold when fetching it; assignments' default to theirs."""
        self.sweep()
        token = secrets.token_urlsafe(16)
        suffix = fmt.value if isinstance(fmt, ExportFormat) else str(fmt)
        path = self.root / f"{token}.{suffix}"
        entry = _Entry(
            owner,
            path,
            filename or filename_for(ExportKind(kind), ExportFormat(fmt)),
            media_type or MEDIA_TYPES[ExportFormat(fmt)],
            ready=False,
            created=time.monotonic(),
            permission=permission,
        )
        with self._lock:
            self._entries[token] = entry
        return token, path

    def ready(self, token: str) -> None:
        with self._lock:
            entry = self._entries.get(token)
            if entry is not None:
                entry.ready, entry.created = True, time.monotonic()

    def discard(self, token: str) -> None:
        with self._lock:
            entry = self._entries.pop(token, None)
        if entry is not None:
            entry.path.unlink(missing_ok=True)

    def take(
        self, token: str, owner: uuid.UUID | None, may: Callable[[Permission], bool] | None = None
    ) -> tuple[Path, str, str] | None:
        """(path, filename, media type) of a ready file of `owner`, handed out once: the caller removes
        the file once sent. None for anything else (unknown, someone else's, not ready, expired, or —
        with `may`, the asker's permission check — an owner who no longer holds the export's permission)."""
        self.sweep()
        with self._lock:
            entry = self._entries.get(token)
            if entry is None or entry.owner != owner or not entry.ready:
                return None
            if may is not None and not may(entry.permission):
                return None
            del self._entries[token]
        return entry.path, entry.filename, entry.media_type

    def sweep(self) -> None:
        """Remove the files nobody fetched in time (and those of exports that never finished)."""
        now = time.monotonic()
        with self._lock:
            stale = [t for t, e in self._entries.items() if now - e.created > self.ttl]
            gone = [self._entries.pop(t) for t in stale]
        for entry in gone:
            entry.path.unlink(missing_ok=True)

    def pending(self) -> int:
        with self._lock:
            return len(self._entries)

    def close(self) -> None:
        """Remove every file (the process is stopping)."""
        with self._lock:
            self._entries.clear()
            root, self._root = self._root, None
        if root is not None:
            shutil.rmtree(root, ignore_errors=True)


FILES = ExportFiles()


def rows_of(path: Path, fmt: ExportFormat | str) -> Iterator[list]:
    """Read an export back (tests, the bench): each row as a list of cell values."""
    if ExportFormat(fmt) is ExportFormat.csv:
        with path.open(encoding="utf-8-sig", newline="") as file:
            yield from csv.reader(file)
    else:
        from openpyxl import load_workbook

        book = load_workbook(path, read_only=True)
        try:
            for row in book.active.iter_rows(values_only=True):
                yield list(row)
        finally:
            book.close()
