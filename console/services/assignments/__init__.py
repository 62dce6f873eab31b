"""Assignments: simulations an enterprise admin gives people, with due dates, progress and results.

- `status` — what a status is and every change of it (ingest, sweep and assigning all go through it);
- `assigning` — assign (people, departments, a CSV of emails), change due dates, unassign;
- `mine` — a participant's own assignments.
"""

from console.services.assignments.mine import MINE_SORTABLE, MyAssignment, list_mine, readable
from console.services.assignments.status import mark_overdue, session_completed, session_started, status_now

__all__ = [
    "MINE_SORTABLE",
    "MyAssignment",
    "list_mine",
    "mark_overdue",
    "readable",
    "session_completed",
    "session_started",
    "status_now",
]
