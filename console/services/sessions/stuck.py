"""Stuck sessions, and marking a session abandoned by hand.

**Stuck**: in progress, and no event received for `SIMVADO_STUCK_AFTER_MINUTES` (default 10) — counted
on the server's clock (`game_events.received_at`), never the engine's, so an engine with a wrong clock
can neither hide nor fake it. A session with no event at all counts from its `started_at`, as the
abandon sweep does (`console/services/sweeps.py`). The setting must stay below
`SIMVADO_ABANDON_AFTER_MINUTES` (checked when the settings load): a session is flagged stuck first,
and the sweep closes it later if nobody did.

The last arrival of a session is one entry of `idx_game_events_session (session_id, received_at)`
read backwards, so the condition costs one index probe per in-progress session (they are found through
the partial index `idx_sessions_live`), whatever the history.

**Abandon** (`abandon`): staff close a session nobody will finish. Who may: platform admins any session,
enterprise admins their organization's. Studio creators see the sessions of their simulations but do
not close them: a session played in an organization is part of that organization's record (its
assignments, its reports), so its admins or the platform's decide. A session the actor cannot read is
"not found", like one that does not exist.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, and_, func, select
from sqlmodel import Session

from console import live
from console.auth import Actor, Permission
from console.config import get_settings
from console.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from console.live import ChangeKind, SessionChange
from console.services import audit, play_sessions
from models import AuditAction, AuditEntity, AuditLogEntry, GameEvent, Module, PlaySession
from models.enums import SessionStatus

MAX_REASON = 500


def stuck_after() -> timedelta:
    """How long an in-progress session may go without an event before it is flagged."""
    return timedelta(minutes=get_settings().stuck_after_minutes)


def stuck_cutoff(now: datetime) -> datetime:
    """The moment before which a session's last event makes it stuck, as of `now`."""
    return now - stuck_after()


def last_event_at() -> ColumnElement[datetime]:
    """The arrival time of the session's newest event (NULL without events), for a query on `sessions`
    (a correlated subquery: one backward step of `idx_game_events_session`)."""
    return (
        select(func.max(GameEvent.received_at))
        .where(GameEvent.session_id == PlaySession.id)
        .correlate(PlaySession)
        .scalar_subquery()
    )


def last_activity() -> ColumnElement[datetime]:
    """The session's newest arrival, or its start when nothing arrived yet."""
    return func.coalesce(last_event_at(), PlaySession.started_at)


def stuck_condition(now: datetime) -> ColumnElement[bool]:
    """Rows of `sessions` that are stuck as of `now` (in progress, nothing received since the cutoff)."""
    return and_(PlaySession.status == SessionStatus.in_progress, last_activity() < stuck_cutoff(now))


def is_stuck(status: SessionStatus, last_activity_at: datetime | None, now: datetime) -> bool:
    """The same rule for a row already read (`last_activity_at`: newest arrival, else the start)."""
    return status == SessionStatus.in_progress and last_activity_at is not None and last_activity_at < stuck_cutoff(now)


def may_abandon(actor: Actor) -> bool:
    """Whether the actor may mark any session abandoned (pages offer the action only then)."""
    return actor.can(Permission.manage_platform) or (
        actor.can(Permission.manage_organization) and actor.organization_id is not None
    )


def can_abandon(actor: Actor, play: PlaySession) -> bool:
    """Whether the actor may mark this (readable) session abandoned, whatever its status."""
    if actor.can(Permission.manage_platform):
        return True
    return (
        actor.can(Permission.manage_organization)
        and actor.organization_id is not None
        and play.organization_id == actor.organization_id
    )


def abandon(*, session: Session, actor: Actor, session_id: uuid.UUID, reason: str) -> PlaySession:
    """Mark an in-progress session abandoned, with the reason in the audit entry.

    The row is locked first (the engine API takes the same lock to add events), so an event batch
    either lands before — and the session is abandoned after it — or is refused after, never lost in
    between. Refused: a session out of reach (NotFound), one the actor may read but not close
    (PermissionDenied), one no longer in progress (Conflict), an empty or overlong reason
    (ValidationFailed)."""
    actor.require(Permission.view_sessions)
    play = session.execute(
        select(PlaySession).where(PlaySession.id == session_id, play_sessions.readable(actor)).with_for_update()
    ).scalar_one_or_none()
    if play is None:
        raise NotFound("Session not found.")
    if not can_abandon(actor, play):
        raise PermissionDenied("Only platform admins and the organization's admins can mark a session abandoned.")
    text = " ".join((reason or "").replace("\x00", "").split())
    if not text:
        raise ValidationFailed("Say why the session is abandoned.", details={"reason": "required"})
    if len(text) > MAX_REASON:
        raise ValidationFailed(
            f"The reason is too long ({len(text)} characters).", details={"reason": f"at most {MAX_REASON} characters"}
        )
    if play.status != SessionStatus.in_progress:
        status = play.status.value.replace("_", " ")
        raise Conflict(f"This session is {status}: only a session in progress can be abandoned.")
    with audit.changing(
        session=session,
        actor=actor,
        action=AuditAction.play_session_abandon,
        subject=play,
        fields={"status"},
        organization_id=play.organization_id,
        comment=text,
    ):
        play.status = SessionStatus.abandoned
    # Every open page that shows it hears of it once this commits (/live, /sessions/{id}, dashboards).
    simulation_id = session.scalar(select(Module.simulation_id).where(Module.id == play.module_id))
    live.session_changed(
        session, SessionChange(play.id, play.organization_id, simulation_id, play.module_id, ChangeKind.abandoned)
    )
    return play


def abandon_many(*, session: Session, actor: Actor, session_ids: list[uuid.UUID], reason: str) -> int:
    """`abandon` for each of several sessions, all or none (the list's bulk action); returns how many.
    Locks in id order, so two staff closing overlapping selections wait rather than deadlock."""
    if not session_ids:
        raise ValidationFailed("Select the sessions to mark abandoned.", details={"sessions": "none selected"})
    for session_id in sorted(set(session_ids)):
        abandon(session=session, actor=actor, session_id=session_id, reason=reason)
    return len(set(session_ids))


def abandon_reason(*, session: Session, play: PlaySession) -> tuple[str, str, datetime] | None:
    """(who, why, when) of the staff member who abandoned this session, from its audit entry; None when
    nobody did (still playing, completed, or closed by the idle sweep)."""
    row = session.execute(
        select(AuditLogEntry.actor_label, AuditLogEntry.comment, AuditLogEntry.created_at)
        .where(
            AuditLogEntry.entity_type == AuditEntity.play_session.value,
            AuditLogEntry.entity_id == str(play.id),
            AuditLogEntry.action == AuditAction.play_session_abandon.value,
        )
        .order_by(AuditLogEntry.created_at.desc())
        .limit(1)
    ).first()
    return (row[0], row[1] or "", row[2]) if row else None
