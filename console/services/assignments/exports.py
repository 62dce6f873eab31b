"""Exports of assignments: progress (one row per assignment) and results (one row per counted session),
as CSV or Excel, for the same filters and scope as the list and the reports.

Memory stays flat however many rows: rows come from a server-side cursor `CHUNK` at a time
(`yield_per`) and go straight to the file (CSV text, or XlsxWriter's constant-memory workbook, which keeps
its rows in a temporary file of its own until it is saved); nothing ever holds all the rows. The file
is a path the caller gives (the page's temporary download, `ExportFiles`); `write` reports its
progress chunk by chunk and records the export in the audit log (who, what, which filters, how many
rows) in the caller's transaction, so an export that fails is not recorded as made.

The files are written by console/services/export_files.py (cells that look like formulas escaped,
times in UTC: the headers say so), which also hands each file out once (`FILES`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import aliased
from sqlmodel import Session

from console.auth import Actor, Permission
from console.errors import ValidationFailed
from console.services import audit, scoring
from console.services.assignments import progress, reports
from console.services.assignments import status as rules
from console.services.export_files import CHUNK, CsvFile, ExportFormat, XlsxFile
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


class ExportKind(StrEnum):
    progress = "progress"
    results = "results"


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
    out = CsvFile(path) if fmt is ExportFormat.csv else XlsxFile(path, kind.value.capitalize())
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
