"""Organizations (platform admins): the list with seats used against each limit, and each
organization's page (pages/organizations/detail.py).

Everything a user typed (names, slugs, domains) is shown as text: table cells through Vue
interpolation, labels and inputs; links are built in our constant slot templates from slugs and ids
the service has validated.
"""

from __future__ import annotations

from nicegui import ui

from console.auth import Actor, Permission
from console.services import organizations
from console.services.listing import ListQuery
from models.enums import OrgPlan
from pages.access import secured_page
from pages.components import calls
from pages.components.labels import enum_label, enum_options
from pages.components.listing import Filter, list_view
from pages.layout import frame
from pages.organizations.detail import organization_page
from pages.organizations.forms import open_create

__all__ = ["organization_page", "organizations_page"]

COLUMNS = [
    {"name": "name", "label": "Name", "field": "name", "sortable": True, "align": "left"},
    {"name": "slug", "label": "Slug", "field": "slug", "sortable": True, "align": "left"},
    {"name": "plan", "label": "Plan", "field": "plan", "sortable": True, "align": "left"},
    {"name": "members", "label": "Members / seats", "field": "members", "sortable": True, "align": "left"},
    {"name": "sso", "label": "SSO", "field": "sso", "align": "left"},
    {"name": "created_at", "label": "Created", "field": "created_at", "sortable": True, "align": "left"},
]
# The name links to the organization's page; slugs are [a-z0-9-] (checked by the service).
NAME_SLOT = (
    '<q-td :props="props"><a class="text-primary" '
    ":href=\"'/organizations/' + encodeURIComponent(props.row.slug)\">{{ props.value }}</a></q-td>"
)
# From 90 % of the limit: a darker orange (readable on white), a bolder figure and a named icon.
MEMBERS_SLOT = (
    '<q-td :props="props">'
    "<span :class=\"props.row.seats_warn ? 'text-deep-orange-10 text-weight-bold' : ''\">{{ props.value }}</span>"
    '<q-icon v-if="props.row.seats_warn" name="warning" color="deep-orange-10" size="xs" class="q-ml-xs" '
    'role="img" aria-label="90 % or more of the seats used" /></q-td>'
)


def row_of(r: organizations.OrganizationRow) -> dict:
    seats = r.seats
    return {
        "id": str(r.id),
        "name": r.name,
        "slug": r.slug,
        "plan": enum_label(r.plan.value),
        "members": seats.label(),
        "seats_warn": seats.near_limit,
        "sso": "On" if r.sso_enabled else "Off",
        "created_at": r.created_at.strftime("%Y-%m-%d"),
    }


@secured_page("/organizations", title="Organizations", permission=Permission.manage_platform)
async def organizations_page(actor: Actor):
    async def fetch(query: ListQuery):  # noqa: ANN202
        page = await calls.read(organizations.list_, query=query)
        return [row_of(r) for r in page.rows], page

    with frame(actor, "Organizations", breadcrumbs=[("Organizations", None)]):
        ui.label(
            "Enterprise customers: their plan, seats used against the limit, and single sign-on. "
            "Open one for its members, engine keys, assigned simulations and history."
        ).classes("text-grey-8")
        await list_view(
            columns=COLUMNS,
            fetch=fetch,
            marker="org",
            noun=("organization", "organizations"),
            path="/organizations",
            sort="name",
            sortable=list(organizations.SORTABLE),
            search_placeholder="Search name or slug…",
            filters=[
                Filter("plan", "Plan", enum_options(OrgPlan)),
                Filter("seats", "Seats", organizations.SEAT_STATES, width="w-48"),
            ],
            slots={"body-cell-name": NAME_SLOT, "body-cell-members": MEMBERS_SLOT},
            empty_message="No organizations match. Create one with New organization.",
            on_new=open_create,
            new_label="New organization",
        )
