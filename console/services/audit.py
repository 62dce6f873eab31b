"""The audit log: every change made in the console is written here, in the same transaction."""

from __future__ import annotations

import enum
import uuid
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, select
from sqlmodel import Session, SQLModel

from console.auth import Actor, Permission
from models import AuditLogEntry

# Never copied into the log, whatever the entity.
_SECRET_FIELDS = {"password_hash", "key_hash", "password"}


def snapshot(entity: SQLModel | None, *, fields: set[str] | None = None) -> dict[str, Any] | None:
    """A JSON-safe copy of an entity's columns for the before/after of an entry."""
    if entity is None:
        return None
    data = entity.model_dump()
    out: dict[str, Any] = {}
    for key, value in data.items():
        if key in _SECRET_FIELDS or (fields is not None and key not in fields):
            continue
        out[key] = _jsonable(value)
    return out


def _jsonable(value: Any) -> Any:
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    return value


def record(
    *,
    session: Session,
    actor: Actor,
    action: str,
    entity_type: str,
    entity_id: uuid.UUID | str | None,
    organization_id: uuid.UUID | None = None,
    before: dict | None = None,
    after: dict | None = None,
    comment: str | None = None,
) -> AuditLogEntry:
    """Add an entry; it commits (or rolls back) with the change it describes."""
    if before is not None and after is not None:
        # Keep only what changed, so the history reads as "who changed what".
        changed = {k for k in set(before) | set(after) if before.get(k) != after.get(k)}
        changed.discard("updated_at")
        before = {k: before.get(k) for k in changed}
        after = {k: after.get(k) for k in changed}
    entry = AuditLogEntry(
        actor_id=actor.user_id,
        actor_label=actor.label[:255],
        action=action,
        entity_type=entity_type,
        entity_id=str(entity_id) if entity_id is not None else None,
        organization_id=organization_id,
        before=before,
        after=after,
        comment=comment,
    )
    session.add(entry)
    return entry


@dataclass
class AuditPage:
    rows: list[AuditLogEntry]
    total: int


def list_(
    *,
    session: Session,
    actor: Actor,
    entity_type: str | None = None,
    entity_id: str | None = None,
    offset: int = 0,
    limit: int = 50,
) -> AuditPage:
    """Entries the actor may read, newest first (platform admins: all; enterprise admins: their org)."""
    query = select(AuditLogEntry)
    if actor.can(Permission.view_audit_log):
        pass
    elif actor.can(Permission.manage_organization) and actor.organization_id:
        query = query.where(AuditLogEntry.organization_id == actor.organization_id)
    else:
        query = query.where(AuditLogEntry.actor_id == actor.user_id)
    if entity_type:
        query = query.where(AuditLogEntry.entity_type == entity_type)
    if entity_id:
        query = query.where(AuditLogEntry.entity_id == entity_id)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(query.order_by(AuditLogEntry.created_at.desc()).offset(offset).limit(limit)).all()
    return AuditPage(rows=list(rows), total=total)
