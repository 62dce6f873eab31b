"""Whose people an actor may manage: the one place the organization of every people operation is chosen.

Enterprise admins manage their own organization (`actor.organization_id`) and nothing else; platform
admins manage any organization, named by the caller (the page's organization filter); everyone else
manages nobody. An organization outside that reach is `NotFound`, the same answer as a missing one.
"""

from __future__ import annotations

import uuid

from sqlalchemy import ColumnElement, false, select, true
from sqlmodel import Session

from console.auth import Actor, Permission
from console.errors import NotFound
from console.services import seats
from console.services.listing import search_clause
from console.services.seats import SeatUse
from models import Organization, OrgMembership

ORG_NOT_FOUND = "Organization not found."
PICKED = 20  # organizations a picker shows at a time: type to find any other


def readable(actor: Actor, organization_id: uuid.UUID | None = None) -> ColumnElement[bool]:
    """The rows of `org_memberships` this actor may read (narrowed to `organization_id` when given)."""
    if actor.can(Permission.manage_platform):
        return OrgMembership.organization_id == organization_id if organization_id is not None else true()
    if actor.can(Permission.manage_organization) and actor.organization_id is not None:
        if organization_id is not None and organization_id != actor.organization_id:
            return false()
        return OrgMembership.organization_id == actor.organization_id
    return false()


def organization(session: Session, actor: Actor, organization_id: uuid.UUID | None) -> Organization:
    """The organization whose people this call is about, if the actor may manage them; else NotFound.

    An enterprise admin may leave `organization_id` out (their own is meant); a platform admin must
    name one."""
    if actor.can(Permission.manage_platform):
        wanted = organization_id
    elif actor.can(Permission.manage_organization) and actor.organization_id is not None:
        if organization_id is not None and organization_id != actor.organization_id:
            raise NotFound(ORG_NOT_FOUND)
        wanted = actor.organization_id
    else:
        wanted = None
    found = session.get(Organization, wanted) if wanted is not None else None
    if found is None:
        raise NotFound(ORG_NOT_FOUND)
    return found


def organization_options(*, session: Session, actor: Actor, search: str = "") -> dict[str, str]:
    """Organizations the actor may manage, as {id: name}: the first PICKED whose name contains `search`."""
    if actor.can(Permission.manage_platform):
        reach = true()
    elif actor.can(Permission.manage_organization) and actor.organization_id is not None:
        reach = Organization.id == actor.organization_id
    else:
        return {}
    conditions = [reach]
    if (by_name := search_clause(search, Organization.name, Organization.slug)) is not None:
        conditions.append(by_name)
    rows = session.execute(
        select(Organization.id, Organization.name).where(*conditions).order_by(Organization.name).limit(PICKED)
    )
    return {str(org_id): name for org_id, name in rows}


def seat_use(*, session: Session, actor: Actor, organization_id: uuid.UUID | None) -> tuple[Organization, SeatUse]:
    """The organization and its seats as they are now (for display: claims lock and count again)."""
    org = organization(session, actor, organization_id)
    return org, seats.use(session, org.id)
