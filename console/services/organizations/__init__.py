"""Organizations (platform admins): the list with seats used, create, edit with an edit version, single
sign-on settings, delete when nothing depends on it, and the organization page's overview.

Every function takes `session` and `actor`; reads start from `readable(actor)` (platform admins all
organizations, an enterprise admin their own; anything else is `NotFound`, as a missing one); writes
also need `Permission.manage_platform`. Nothing here commits, and nothing returns the SSO client
secret, encrypted or not (`OrganizationView`).

- records.py: readable, list_, get, get_by_slug, create, update, delete and why a delete is refused;
- sso.py: update_sso (the client secret encrypted by console/services/sso_secrets.py);
- overview.py: overview (seats, members, keys, simulations, seat use over time) and history.
"""

from console.services.organizations.overview import (
    MEMBERS_SHOWN,
    SERIES_DAYS,
    KeyLine,
    MemberLine,
    Overview,
    SimulationLine,
    history,
    overview,
    seat_series,
)
from console.services.organizations.records import (
    FILTERS,
    LABELS,
    SEAT_STATES,
    SLUG_RULE,
    SORTABLE,
    OrganizationCreate,
    OrganizationRow,
    OrganizationUpdate,
    OrganizationView,
    create,
    delete,
    deletion_blockers,
    get,
    get_by_slug,
    list_,
    readable,
    unique_slug,
    update,
)
from console.services.organizations.sso import LABELS as SSO_LABELS
from console.services.organizations.sso import PROVIDERS, SsoUpdate, update_sso

__all__ = [
    "FILTERS",
    "LABELS",
    "MEMBERS_SHOWN",
    "PROVIDERS",
    "SEAT_STATES",
    "SERIES_DAYS",
    "SLUG_RULE",
    "SORTABLE",
    "SSO_LABELS",
    "KeyLine",
    "MemberLine",
    "OrganizationCreate",
    "OrganizationRow",
    "OrganizationUpdate",
    "OrganizationView",
    "Overview",
    "SimulationLine",
    "SsoUpdate",
    "create",
    "delete",
    "deletion_blockers",
    "get",
    "get_by_slug",
    "history",
    "list_",
    "overview",
    "readable",
    "seat_series",
    "unique_slug",
    "update",
    "update_sso",
]
