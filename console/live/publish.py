"""Telling every console process that a play session changed: one NOTIFY per session per commit.

Whoever changes a play session (the engine API's ingest, the abandon sweep, an abandon from the
console) calls `session_changed(session, change)` inside its unit of work. Nothing is sent then: the
changes wait on the database session, one per play session (the most telling kind wins, see
`SessionChange.outranks`), and go out in one statement just before the commit, on the same
connection and in the same transaction — so PostgreSQL delivers them exactly when the work commits
and drops them when it rolls back, like `unit_of_work.notify` (which sends one notification per
call). The engine API's group committer runs many requests in one transaction, so a group that starts
ten sessions sends one statement for all ten.

Event batches, the engine API's hot path, do not come through here: the statement that stores a
group's batches sends their notifications itself, with the same fields (see
console/services/ingest/events.py), because even one more round trip per group cost single events
about a tenth of their throughput.
"""

from __future__ import annotations

from sqlalchemy import event
from sqlalchemy.orm import Session

from console.live.changes import CHANNEL, SessionChange

_PENDING = "live.pending_changes"
# One statement, one notification per row: the payloads travel as one text[] parameter.
_SEND = "SELECT pg_notify(%s, payload) FROM unnest(%s::text[]) AS payload"


def session_changed(session: Session, change: SessionChange) -> None:
    """Announce `change` to every console process once the session's current work commits."""
    pending: dict | None = session.info.get(_PENDING)
    if pending is None:
        pending = session.info[_PENDING] = {}
    held = pending.get(change.session_id)
    if held is None or change.outranks(held):
        pending[change.session_id] = change


def pending_changes(session: Session) -> list[SessionChange]:
    """What the session's current work will announce when it commits (for tests and diagnostics)."""
    return list((session.info.get(_PENDING) or {}).values())


# Listening on the Session class covers every session of the process (sqlmodel's included) without a
# listener per session object: the engine API makes a session per group, thousands a second.
@event.listens_for(Session, "before_commit")
def _send_pending(session: Session) -> None:
    pending = session.info.pop(_PENDING, None)
    if not pending:
        return
    payloads = [change.payload() for change in pending.values()]
    # Straight on the driver, as the engine API's hot statements are: no ORM compile per commit.
    session.connection().connection.driver_connection.execute(_SEND, (CHANNEL, payloads))


@event.listens_for(Session, "after_rollback")
def _drop_pending(session: Session) -> None:
    # Rolled back: nothing happened, so nothing is announced (and nothing carries over to the
    # session's next transaction).
    session.info.pop(_PENDING, None)
