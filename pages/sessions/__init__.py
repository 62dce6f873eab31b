"""The sessions area: /sessions (every play session in reach, stuck ones flagged, abandon one or many,
exports) and /sessions/{id} (one session: header, chart, final scores, debrief linked to its events,
timeline, raw events). The page functions are named here so `register_all` finds them in this package."""

from pages.sessions.page import sessions_page
from pages.sessions.session import session_page

__all__ = ["session_page", "sessions_page"]
