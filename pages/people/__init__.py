"""People of an organization (issue 11): members, departments, CSV import, and the invited member's
set-a-password page. The page functions are named here so `register_all` finds them in this package."""

from pages.people.departments import departments_page
from pages.people.importing import import_page
from pages.people.invite import invite_page
from pages.people.members import people_page

__all__ = ["departments_page", "import_page", "invite_page", "people_page"]
