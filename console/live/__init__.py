"""Live updates: play session changes travel from whoever made them to every open page, through PostgreSQL.

- `session_changed(session, change)` (publish.py): inside a unit of work, announce that a play session
  started, got events, completed or was abandoned; one NOTIFY per session goes out with the commit.
- `Listener` (listener.py): the one LISTEN connection of a console process, started and stopped with
  the app (`start`, `stop` below), fanning changes out to the process's `HUB`.
- Pages subscribe through pages/components/live.py, which throttles, scopes and re-checks the viewer;
  `SessionMemo` (memo.py) lets the pages of a process share what they re-read of a session.

docs/live.md tells the whole story, with its measurements.
"""

from __future__ import annotations

from console.live.changes import CHANNEL, ChangeKind, SessionChange
from console.live.listener import HUB, Hub, Listener
from console.live.memo import SessionMemo
from console.live.publish import pending_changes, session_changed

_listener: Listener | None = None


def start(url: str) -> Listener:
    """Start this process's listener on the database at `url` (on the running event loop)."""
    global _listener
    if _listener is not None:
        _listener.stop_soon()
    _listener = Listener(url)
    _listener.start()
    return _listener


async def stop() -> None:
    """Stop this process's listener and close its connection (app shutdown); forget the pages' subscriptions
    (a test's app stops while its clients live on in NiceGUI's memory)."""
    global _listener
    listener, _listener = _listener, None
    HUB.clear()
    if listener is not None:
        await listener.stop()


def listener() -> Listener | None:
    """This process's listener, while the app runs."""
    return _listener


__all__ = [
    "CHANNEL",
    "HUB",
    "ChangeKind",
    "Hub",
    "Listener",
    "SessionChange",
    "SessionMemo",
    "listener",
    "pending_changes",
    "session_changed",
    "start",
    "stop",
]
