"""People of an organization: members, departments, invitations and CSV imports (issue 11).

Every operation goes through `scope`: enterprise admins reach their own organization, platform admins
any one they name, nobody else any; outside that reach is "not found".
"""

from console.services.people import csv_import, departments, invitations, members, scope

__all__ = ["csv_import", "departments", "invitations", "members", "scope"]
