"""The audit log: every change made in the console is written here, in the same transaction.

Writers use one of three helpers, which keep the "who changed what, from what to what" shape in one
place:

    audit.created(session=s, actor=a, action=AuditAction.module_create, subject=module)
    with audit.changing(session=s, actor=a, action=AuditAction.module_update, subject=module):
        module.title = "New"          # the entry holds only the fields that changed
    audit.deleted(session=s, actor=a, action=AuditAction.media_delete, subject=asset)

`record` writes any other entry (a line in a simulation's own history about one of its modules).
Readers go through `readable(actor)`: platform admins read everything, enterprise admins their
organization's entries, studio creators their own acts and everything about simulations they author.
"""

from __future__ import annotations

import enum
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import ColumnElement, String, and_, cast, false, or_, select, true
from sqlmodel import Session, SQLModel

from console.auth import Actor, Permission
from console.services.listing import ListQuery, Page, keyset, search_clause
from models import (
    ApiKey,
    AuditAction,
    AuditEntity,
    AuditLogEntry,
    MediaAsset,
    Module,
    Organization,
    OrgMembership,
    PlaySession,
    Simulation,
    SimulationAssignment,
    User,
)

# Never copied into the log, whatever the entity.
_SECRET_FIELDS = {"password_hash", "key_hash", "password"}
_ENTITY_OF: dict[type, AuditEntity] = {
    Simulation: AuditEntity.simulation,
    Module: AuditEntity.module,
    MediaAsset: AuditEntity.media,
    ApiKey: AuditEntity.api_key,
    User: AuditEntity.user,
    Organization: AuditEntity.organization,
    OrgMembership: AuditEntity.membership,
    SimulationAssignment: AuditEntity.assignment,
    PlaySession: AuditEntity.play_session,
}


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


def subject_of(subject: SQLModel | tuple[AuditEntity, uuid.UUID | str | None]) -> tuple[AuditEntity, str | None]:
    """(entity type, id as stored in the log) for a record or an (entity type, id) pair."""
    if isinstance(subject, tuple):
        entity, entity_id = subject
    else:
        entity, entity_id = _ENTITY_OF[type(subject)], subject.id
    return entity, (str(entity_id) if entity_id is not None else None)


def record(
    *,
    session: Session,
    actor: Actor,
    action: AuditAction,
    subject: SQLModel | tuple[AuditEntity, uuid.UUID | str | None],
    organization_id: uuid.UUID | None = None,
    before: dict | None = None,
    after: dict | None = None,
    comment: str | None = None,
) -> AuditLogEntry:
    """Add an entry about `subject` (a record, or (entity type, id)); it commits or rolls back with
    the change it describes. With both before and after, only what changed is kept."""
    if before is not None and after is not None:
        changed = {k for k in set(before) | set(after) if before.get(k) != after.get(k)}
        changed.discard("updated_at")
        before = {k: before.get(k) for k in changed}
        after = {k: after.get(k) for k in changed}
    entity, entity_id = subject_of(subject)
    entry = AuditLogEntry(
        actor_id=actor.user_id,
        actor_label=actor.label[:255],
        action=AuditAction(action).value,
        entity_type=entity.value,
        entity_id=entity_id,
        organization_id=organization_id,
        before=before,
        after=after,
        comment=comment,
    )
    session.add(entry)
    return entry


def created(
    *,
    session: Session,
    actor: Actor,
    action: AuditAction,
    subject: SQLModel,
    fields: set[str] | None = None,
    organization_id: uuid.UUID | None = None,
    comment: str | None = None,
) -> AuditLogEntry:
    """An entry for a record just added (flushed, so it has its id and defaults)."""
    session.flush()
    return record(
        session=session,
        actor=actor,
        action=action,
        subject=subject,
        organization_id=organization_id,
        after=snapshot(subject, fields=fields),
        comment=comment,
    )


@contextmanager
def changing(
    *,
    session: Session,
    actor: Actor,
    action: AuditAction,
    subject: SQLModel,
    fields: set[str] | None = None,
    organization_id: uuid.UUID | None = None,
    comment: str | None = None,
) -> Iterator[None]:
    """Record the changes the block makes to `subject`: its fields before, and after a flush."""
    before = snapshot(subject, fields=fields)
    yield
    session.add(subject)
    session.flush()
    record(
        session=session,
        actor=actor,
        action=action,
        subject=subject,
        organization_id=organization_id,
        before=before,
        after=snapshot(subject, fields=fields),
        comment=comment,
    )


def deleted(
    *,
    session: Session,
    actor: Actor,
    action: AuditAction,
    subject: SQLModel,
    organization_id: uuid.UUID | None = None,
    comment: str | None = None,
) -> AuditLogEntry:
    """An entry for a record about to be deleted (call before the delete: it reads the record)."""
    return record(
        session=session,
        actor=actor,
        action=action,
        subject=subject,
        organization_id=organization_id,
        before=snapshot(subject),
        comment=comment,
    )


# --- reading -------------------------------------------------------------------------------------


def readable(actor: Actor) -> ColumnElement[bool]:
    """The entries of `audit_log` this actor may read."""
    if actor.can(Permission.manage_platform):
        return true()
    if actor.can(Permission.manage_organization) and actor.organization_id is not None:
        return AuditLogEntry.organization_id == actor.organization_id
    if actor.user_id is None:
        return false()
    own = AuditLogEntry.actor_id == actor.user_id
    if actor.can(Permission.author_simulations):
        # An author reads their simulations' whole history: a reviewer's "send back" comment above all.
        authored = select(cast(Simulation.id, String)).where(Simulation.author_id == actor.user_id)
        about_theirs = and_(
            AuditLogEntry.entity_type == AuditEntity.simulation.value, AuditLogEntry.entity_id.in_(authored)
        )
        return or_(own, about_theirs)
    return own


SORTABLE = {
    "created_at": AuditLogEntry.created_at,
    "actor": AuditLogEntry.actor_label,
    "action": AuditLogEntry.action,
    "entity_type": AuditLogEntry.entity_type,
}
FILTERS = ("entity_type", "entity_id", "actor", "action", "from", "to")


def list_(*, session: Session, actor: Actor, query: ListQuery) -> Page[AuditLogEntry]:
    """Entries the actor may read, newest first unless sorted otherwise, a page by key (the log only grows).

    Search looks in who, what, which record and the comment; filters: `entity_type` (an AuditEntity),
    `entity_id`, `actor` (part of the actor's email or name), `action` (an AuditAction), and `from` /
    `to` dates (inclusive, UTC days).
    """
    conditions = [readable(actor)]
    search = search_clause(
        query.search, AuditLogEntry.actor_label, AuditLogEntry.action, AuditLogEntry.entity_id, AuditLogEntry.comment
    )
    if search is not None:
        conditions.append(search)
    if entity := query.choice("entity_type", AuditEntity):
        conditions.append(AuditLogEntry.entity_type == entity.value)
    if entity_id := query.text("entity_id", max_length=64):
        conditions.append(AuditLogEntry.entity_id == entity_id)
    who = search_clause(query.text("actor") or "", AuditLogEntry.actor_label)
    if who is not None:
        conditions.append(who)
    if action := query.choice("action", AuditAction):
        conditions.append(AuditLogEntry.action == action.value)
    if since := query.date("from"):
        conditions.append(AuditLogEntry.created_at >= _start_of(since))
    if until := query.date("to"):
        conditions.append(AuditLogEntry.created_at < _start_of(until + timedelta(days=1)))
    return keyset(
        session,
        select(AuditLogEntry).where(*conditions),
        query,
        sortable=SORTABLE,
        default_sort="created_at",
        default_descending=True,
        key=AuditLogEntry.id,
    )


def _start_of(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)
