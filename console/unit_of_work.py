"""The one transaction boundary: open a unit of work, run services in it, commit or roll back.

Services never commit. Whoever is at the edge of the system — a page action (pages/components/calls.py),
an engine API request (console/api/committer.py, which groups many requests in one unit), a CLI
command, a background job, a webhook — opens a unit of work here, hands its session to the services,
and lets this module end it. So an operation is atomic however many services it calls.

What must happen only if the work is kept is registered on the session while the work runs:

- `after_commit(session, hook)`: runs once the commit has returned (remove a deleted media file, tell
  a cache). Never runs when the work is rolled back.
- `after_rollback(session, hook)`: runs when the work is abandoned, whatever the reason (remove a file
  written for an upload that was then refused).
- `notify(session, channel, payload)`: a PostgreSQL NOTIFY, which the server itself delivers only
  when the transaction commits (and drops on rollback), to every listening process — pages on
  other hosts included.
- Background jobs are deferred in the same transaction (`console.jobs.defer`): the job exists exactly
  when the work that asked for it commits.

A hook that fails is logged and does not undo the commit (it has happened) nor stop the other hooks.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from sqlalchemy import Connection, Engine, event, func, select
from sqlmodel import Session

from console.db import get_engine

log = logging.getLogger(__name__)

_HOOKS = "unit_of_work.hooks"
Hook = Callable[[], None]


def _hooks(session: Session) -> dict[str, list[Hook]]:
    """The session's pending hooks. They ride on SQLAlchemy's own commit and rollback events, so they
    follow what really happened to the transaction, whoever ended it (this module, the engine API's
    group committer, a test)."""
    hooks = session.info.get(_HOOKS)
    if hooks is None:
        hooks = session.info[_HOOKS] = {"commit": [], "rollback": []}
        event.listen(session, "after_commit", _committed)
        event.listen(session, "after_rollback", _rolled_back)
    return hooks


def after_commit(session: Session, hook: Hook) -> None:
    """Run `hook` once the session's current work commits (never if it rolls back)."""
    _hooks(session)["commit"].append(hook)


def after_rollback(session: Session, hook: Hook) -> None:
    """Run `hook` if the session's current work is rolled back (never if it commits)."""
    _hooks(session)["rollback"].append(hook)


def notify(session: Session, channel: str, payload: str = "") -> None:
    """Send a PostgreSQL notification with the work: delivered at commit, dropped on rollback.

    Payloads carry ids only (PostgreSQL limits them to 8000 bytes, and a listener re-reads what its
    viewer may see); the channel is a fixed name of ours, never user input.
    """
    session.execute(select(func.pg_notify(channel, payload)))


def commit(session: Session) -> None:
    """Commit the session's work (its after-commit hooks then run). A failed commit is rolled back."""
    try:
        session.commit()
    except BaseException:
        rollback(session)
        raise


def rollback(session: Session) -> None:
    """Abandon the session's work (its after-rollback hooks then run)."""
    session.rollback()


def _committed(session: Session) -> None:
    _run(session, "commit", "after commit")


def _rolled_back(session: Session) -> None:
    _run(session, "rollback", "after rollback")


def _run(session: Session, which: str, when: str) -> None:
    hooks = session.info.get(_HOOKS)
    if not hooks:
        return
    due = hooks[which]
    # The work is over either way: the other kind of hook will never be due.
    hooks["commit"], hooks["rollback"] = [], []
    for hook in due:
        try:
            hook()
        except Exception:
            log.exception("a hook to run %s failed", when)


@contextmanager
def transaction(*, bind: Engine | Connection | None = None) -> Iterator[Session]:
    """One unit of work: commits when the block ends, rolls back if it raises."""
    with Session(bind if bind is not None else get_engine(), expire_on_commit=False) as session:
        try:
            yield session
        except BaseException:
            rollback(session)
            raise
        commit(session)


@contextmanager
def read_only() -> Iterator[Session]:
    """A session for reads; rolled back at the end, so nothing it touches is ever written."""
    with Session(get_engine(), expire_on_commit=False) as session:
        try:
            yield session
        finally:
            # Detach first: a rollback expires what the session holds, and callers read those
            # objects after the block (on another thread, in a page).
            session.expunge_all()
            rollback(session)
