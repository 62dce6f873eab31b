"""Deleting test data: a test session, or every test session of a key, with their events.

Only test sessions (`is_test`, started with a test key) are ever deleted: real play is history. Who may
delete them: platform admins, and studio creators for the simulations they author (the people who hold
test keys, `api_keys.readable`); each deletion is audited, events go with their session (ON DELETE
CASCADE), and every live board hears of it.
"""

from __future__ import annotations

import uuid

from sqlalchemy import delete, func, select
from sqlmodel import Session

from console import live
from console.auth import Actor, Permission
from console.errors import NotFound, PermissionDenied, ValidationFailed
from console.live import ChangeKind, SessionChange
from console.services import api_keys, audit, play_sessions
from models import AuditAction, AuditEntity, Module, PlaySession

_AUDITED = {"id", "user_id", "module_id", "organization_id", "api_key_id", "status", "started_at", "completed_at"}


def can_delete(actor: Actor) -> bool:
    """Whether the actor may delete test sessions at all (those they can read: see the module)."""
    return actor.can(Permission.manage_api_keys) or actor.can(Permission.manage_test_keys)


def _require(actor: Actor) -> None:
    if not can_delete(actor):
        raise PermissionDenied("You do not have access to this.")


def delete_session(*, session: Session, actor: Actor, session_id: uuid.UUID) -> None:
    """Delete one test session and its events. A real session is refused; one out of reach is not found."""
    _require(actor)
    row = session.execute(
        select(PlaySession, Module.simulation_id)
        .join(Module, Module.id == PlaySession.module_id)
        .where(PlaySession.id == session_id, play_sessions.readable(actor))
        .with_for_update(of=PlaySession)
    ).one_or_none()
    if row is None:
        raise NotFound("Session not found.")
    play, simulation_id = row
    if not play.is_test:
        raise ValidationFailed("Only test sessions can be deleted: real play is kept.")
    audit.record(
        session=session,
        actor=actor,
        action=AuditAction.play_session_delete,
        subject=(AuditEntity.play_session, play.id),
        organization_id=play.organization_id,
        before=audit.snapshot(play, fields=_AUDITED),
    )
    session.execute(delete(PlaySession).where(PlaySession.id == play.id))
    session.expunge(play)
    live.session_changed(
        session, SessionChange(play.id, play.organization_id, simulation_id, play.module_id, ChangeKind.deleted)
    )


def delete_key_sessions(*, session: Session, actor: Actor, key_id: uuid.UUID) -> int:
    """Delete every test session the key started, with their events; returns how many. One audit entry,
    on the key, with the count."""
    key = api_keys.get(session=session, actor=actor, key_id=key_id)
    _require(actor)
    gone = session.execute(
        delete(PlaySession)
        .where(PlaySession.api_key_id == key.id, PlaySession.is_test)
        .returning(PlaySession.id, PlaySession.organization_id, PlaySession.module_id)
    ).all()
    audit.record(
        session=session,
        actor=actor,
        action=AuditAction.api_key_delete_test_sessions,
        subject=key,
        organization_id=key.organization_id,
        comment=f"{len(gone)} test session{'' if len(gone) == 1 else 's'} deleted, with their events",
    )
    modules = dict(
        session.execute(select(Module.id, Module.simulation_id).where(Module.id.in_({m for *_, m in gone}))).all()
    )
    for play_id, organization_id, module_id in gone:
        live.session_changed(
            session, SessionChange(play_id, organization_id, modules.get(module_id), module_id, ChangeKind.deleted)
        )
    return len(gone)


def test_session_count(*, session: Session, actor: Actor, key_id: uuid.UUID) -> int:
    """How many test sessions the key started (for the confirmation before deleting them)."""
    key = api_keys.get(session=session, actor=actor, key_id=key_id)
    return (
        session.scalar(
            select(func.count()).select_from(PlaySession).where(PlaySession.api_key_id == key.id, PlaySession.is_test)
        )
        or 0
    )
