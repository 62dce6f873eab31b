"""Optimistic concurrency: no save overwrites a change its author never saw.

Simulations, modules and media assets carry a `version` (models/base.py). An editor reads it with the
record and sends it back with the save; the service locks the row, and if the stored version is no
longer the one the editor read, refuses with `Stale`: who made the newer change and when (from the
audit entry that wrote that version), and the values stored now, so the page can show the difference.
A save that passes takes the next version, inside the audited change, so the audit entry that wrote
version N is the answer to "who changed it" for anyone still holding N-1.

Every change an editor could collide with takes a new version: details and scoring (simulation), the
module editor's fields and stakeholders, archiving a module, workflow moves, renaming a file. Moving
a module up or down does not (no editor writes its position).

    versions.check(session, sim, version=version, noun="simulation", fields=EDITED)
    with audit.changing(...):
        ...
        versions.bump(sim)
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Integer, select
from sqlmodel import Session, SQLModel

from console.errors import Conflict
from console.services import audit
from models import AuditLogEntry, User


class Stale(Conflict):
    """A save based on an older version. `details`: `version` (stored now), `changed_by`, `changed_at`
    (ISO, or None when no audit entry names it) and `current` (the stored values of the edited fields)."""

    code = "stale"

    @property
    def version(self) -> int:
        return int(self.details["version"])

    @property
    def current(self) -> dict[str, Any]:
        return self.details.get("current") or {}


def check(session: Session, subject: SQLModel, *, version: int | None, noun: str, fields: set[str]) -> None:
    """Lock `subject`'s row (FOR NO KEY UPDATE, held to commit) and refuse if its version is not
    `version`. Call before changing anything on `subject`: the refresh reloads it."""
    if isinstance(version, bool) or not isinstance(version, int):
        # Every editor sends what it read; without it a save could only be blind.
        raise Stale(
            f"This {noun} was saved without the version it was based on. Reload it and try again.",
            details=_details(session, subject, fields),
        )
    session.refresh(subject, with_for_update={"key_share": True})
    if subject.version == version:
        return
    details = _details(session, subject, fields)
    when = details["changed_at"]
    said_when = f" at {datetime.fromisoformat(when):%Y-%m-%d %H:%M} UTC" if when else ""
    raise Stale(
        f"{details['changed_by']} changed this {noun}{said_when}, after you opened it. "
        "Reload it, or review the difference.",
        details=details,
    )


def bump(subject: SQLModel) -> None:
    """The change in progress takes the next version (call inside the audited block)."""
    subject.version += 1


def _details(session: Session, subject: SQLModel, fields: set[str]) -> dict[str, Any]:
    entity, entity_id = audit.subject_of(subject)
    entry = session.scalar(
        select(AuditLogEntry)
        .where(
            AuditLogEntry.entity_type == entity.value,
            AuditLogEntry.entity_id == entity_id,
            AuditLogEntry.after["version"].astext.cast(Integer) == subject.version,
        )
        .order_by(AuditLogEntry.created_at.desc())
        .limit(1)
    )
    who = "Someone"
    if entry is not None:
        person = session.get(User, entry.actor_id) if entry.actor_id else None
        who = person.name if person is not None and person.name else entry.actor_label
    return {
        "version": subject.version,
        "changed_by": who,
        "changed_at": entry.created_at.isoformat() if entry else None,
        "current": audit.snapshot(subject, fields=fields),
    }
