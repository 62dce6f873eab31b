"""The assignments area: /assignments (assign, due dates, unassign), /assignments/progress (people ×
simulations) and /assignments/person/{id} (one person's work, sessions, scores and debriefs). The page
functions are named here so `register_all` finds them in this package."""

from pages.assignments.matrix import progress_page
from pages.assignments.page import assignments_page
from pages.assignments.person import person_page

__all__ = ["assignments_page", "person_page", "progress_page"]
