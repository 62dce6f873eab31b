"""Exports: progress and results as CSV and Excel for the list's filters, in the viewer's scope, audited,
written chunk by chunk; their temporary files removed once used."""

from __future__ import annotations

import uuid
from datetime import date, datetime

import pytest
from sqlalchemy import select

from console.errors import NotFound, PermissionDenied
from console.services.assignments import exports, progress
from console.services.assignments.exports import ExportKind
from console.services.export_files import ExportFiles, ExportFormat, rows_of
from console.services.listing import ListQuery
from models import AuditLogEntry
from tests.services.test_reports import build_world

FORMATS = [ExportFormat.csv, ExportFormat.xlsx]


@pytest.fixture
def world(session):  # noqa: ANN001
    return build_world(session)


def _export(session, actor, kind, fmt, tmp_path, query=None, **kw):  # noqa: ANN001, ANN202
    path = tmp_path / f"out.{ExportFormat(fmt).value}"
    outcome = exports.write(
        session=session, actor=actor, kind=kind, fmt=fmt, query=query or ListQuery(), path=path, **kw
    )
    rows = list(rows_of(path, fmt))
    return outcome, rows[0], rows[1:]


def _text(value) -> str:  # noqa: ANN001
    """A cell as the CSV has it, whichever file it came from."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bool):
        return "yes" if value else "no"
    try:  # numbers alike whether Excel gave an int or a float, or the CSV text: "50", 50, 50.0 → "50.0"
        return str(float(value))
    except ValueError:
        return str(value)


@pytest.mark.parametrize("fmt", FORMATS)
def test_progress_matches_the_lists_rows_for_the_same_filters(session, world, tmp_path, fmt):
    query = ListQuery(filters={"department": "Sales"}, sort="name")
    outcome, header, rows = _export(session, world["admin"], ExportKind.progress, fmt, tmp_path, query)
    listed = progress.list_(session=session, actor=world["admin"], query=query).rows
    assert header == list(exports.PROGRESS_HEADER)
    assert outcome.rows == len(rows) == len(listed) == 3
    assert [(r[0], r[1], r[2], r[4], r[5]) for r in rows] == [
        (a.name, a.email, a.department, a.simulation_title, a.status.value) for a in listed
    ]
    ann_budget = next(r for r in rows if r[4] == "Budget Call")
    assert ann_budget[5] == "overdue" and _text(ann_budget[7]) == "10.0"  # days late, as of today
    bob = next(r for r in rows if r[0] == "Bob")
    assert [_text(c) for c in bob[8:]] == [
        "2026-10-20 10:00:00", "2026-11-10 10:00:00", "2026-11-17 10:00:00", "50.0", "no",
    ]  # fmt: skip
    if fmt is ExportFormat.xlsx:
        assert isinstance(bob[10], datetime) and bob[12] is False  # real dates and booleans in Excel


@pytest.mark.parametrize("fmt", FORMATS)
def test_results_list_the_counted_sessions_with_each_dimension(session, world, tmp_path, fmt):
    query = ListQuery(filters={"simulation_id": str(world["crisis"].id)})
    outcome, header, rows = _export(session, world["admin"], ExportKind.results, fmt, tmp_path, query)
    assert header == [*exports.RESULTS_HEADER, "Financial", "Reputational"]
    # Exactly what the score distribution counts: Ann's two and Bob's completed one (Di's was played with
    # no organization: not Acme's).
    assert outcome.rows == 3
    assert [(r[0], r[4], _text(r[7]), _text(r[8]), _text(r[9])) for r in rows] == [
        ("Ann", "Briefing", "1800.0", "80.0", "85.0"),
        ("Ann", "Briefing", "1800.0", "21.0", "15.0"),
        ("Bob", "Briefing", "1800.0", "50.0", "40.0"),
    ]


def test_an_export_is_audited_with_its_filters_and_row_count(session, world, tmp_path):
    query = ListQuery(search="ann", filters={"status": "overdue", "department": ""})
    _export(session, world["admin"], ExportKind.progress, ExportFormat.csv, tmp_path, query)
    session.commit()
    entry = session.scalar(select(AuditLogEntry).where(AuditLogEntry.action == "assignment.export"))
    assert entry.actor_id == world["admin"].user_id and entry.organization_id == world["org"].id
    assert entry.after == {
        "export": "progress", "format": "csv", "filters": {"status": "overdue"}, "search": "ann", "rows": 1,
    }  # fmt: skip


@pytest.mark.parametrize("kind", list(ExportKind))
def test_an_enterprise_admin_never_exports_another_organizations_rows(session, world, tmp_path, kind):
    outsider = world["outsider"]
    _, _, rows = _export(session, outsider, kind, ExportFormat.csv, tmp_path)
    assert {r[0] for r in rows} == {"'=Gil"}  # their own only (a name that is a formula is neutralized)
    tampered = ListQuery(filters={"organization_id": str(world["org"].id)})
    with pytest.raises(NotFound):
        _export(session, outsider, kind, ExportFormat.csv, tmp_path, tampered)
    with pytest.raises(PermissionDenied):
        _export(session, world["participant"], kind, ExportFormat.csv, tmp_path)
    session.rollback()
    entries = session.scalars(select(AuditLogEntry).where(AuditLogEntry.action == "assignment.export")).all()
    assert entries == []  # the refused ones recorded nothing (and the first was not committed)


def test_rows_are_written_chunk_by_chunk_with_progress(session, world, tmp_path, monkeypatch):
    monkeypatch.setattr(exports, "CHUNK", 2)
    seen: list[tuple[int, int]] = []
    outcome, _, rows = _export(
        session, world["platform"], ExportKind.progress, ExportFormat.xlsx, tmp_path,
        on_progress=lambda done, total: seen.append((done, total)),
    )  # fmt: skip
    assert outcome.rows == len(rows) == 7
    assert seen == [(0, 7), (2, 7), (4, 7), (6, 7), (7, 7)]


def test_export_files_are_for_their_owner_once_and_never_outlive_their_use(tmp_path):
    files = ExportFiles(ttl=60)
    owner, other = uuid.uuid4(), uuid.uuid4()
    token, path = files.reserve(owner, ExportFormat.csv, filename="progress.csv")
    path.write_text("x")
    assert files.take(token, owner) is None  # not ready yet
    files.ready(token)
    assert files.take(token, other) is None  # someone else's
    taken = files.take(token, owner)
    assert taken is not None and taken[:2] == (path, "progress.csv") and taken[2].startswith("text/csv")
    assert files.take(token, owner) is None  # once
    path.unlink()

    failed, failed_path = files.reserve(owner, ExportFormat.xlsx, filename="results.xlsx")
    failed_path.write_text("partial")
    files.discard(failed)
    assert not failed_path.exists()

    expired, expired_path = files.reserve(owner, ExportFormat.xlsx, filename="results.xlsx")
    expired_path.write_text("x")
    files.ready(expired)
    files.ttl = 0
    files.sweep()
    assert not expired_path.exists() and files.take(expired, owner) is None

    files.ttl = 60
    _, left = files.reserve(owner, ExportFormat.csv, filename="progress.csv")
    left.write_text("x")
    root = files.root
    files.close()
    assert not root.exists() and files.pending() == 0
