"""Export files, whatever the area: CSV and Excel writers that keep memory flat, and the temporary
files of this process waiting for their one download (`FILES`).

Cells a spreadsheet would run as a formula (text starting with =, +, -, @, a tab or a carriage return:
OWASP "CSV injection") are written with a leading apostrophe: names are typed by people. Times are
UTC; Excel holds them without a zone, as it must. Used by assignments' exports
(console/services/assignments/exports.py) and play sessions' (console/services/sessions/).
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

from console.auth import Permission

CHUNK = 2_000  # rows fetched and written at a time
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


class ExportFormat(StrEnum):
    csv = "csv"
    xlsx = "xlsx"


MEDIA_TYPES = {
    ExportFormat.csv: "text/csv; charset=utf-8",
    ExportFormat.xlsx: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


# --- the files -----------------------------------------------------------------------------------------


def cell(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def _utc(value: datetime) -> datetime:
    return value.astimezone(UTC).replace(tzinfo=None)


class CsvFile:
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
        return "" if value is None else cell(value)

    def write(self, rows: list[Sequence]) -> None:
        self._writer.writerows([self._text(v) for v in row] for row in rows)

    def close(self) -> None:
        self._file.close()


class XlsxFile:
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
                    self._sheet.write_string(self._row, column, str(cell(value)))
            self._row += 1

    def close(self) -> None:
        self._book.close()


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
        fmt: StrEnum | str,
        *,
        filename: str,
        media_type: str | None = None,
        permission: Permission = Permission.manage_organization,
    ) -> tuple[str, Path]:
        """A token and the path its export is written to (not downloadable until `ready`): downloaded as
        `filename`, as `media_type` (by default its format's, `fmt`), by `owner` alone and only while
        they still hold `permission`."""
        self.sweep()
        token = secrets.token_urlsafe(16)
        suffix = fmt.value if isinstance(fmt, StrEnum) else str(fmt)
        path = self.root / f"{token}.{suffix}"
        entry = _Entry(
            owner,
            path,
            filename,
            media_type or MEDIA_TYPES[ExportFormat(suffix)],
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
