"""Organizations themselves: who may read them, the list, create, edit (with its version) and delete."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, field_validator
from slugify import slugify
from sqlalchemy import ColumnElement, false, func, or_, select, true
from sqlmodel import Session

from console.auth import Actor, Permission
from console.errors import NotFound, ValidationFailed
from console.services import audit, versions
from console.services.common import required_name, validate
from console.services.listing import ListQuery, Page, escape_like, paged, search_clause
from console.services.seats import WARN_AT, SeatUse
from models import (
    ApiKey,
    AuditAction,
    Organization,
    OrgMembership,
    PlaySession,
    SimulationAssignment,
    User,
)
from models.enums import MembershipRole, OrgPlan

SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
SLUG_RULE = "lowercase letters, digits and single hyphens (not at the start or end)"
MAX_SEATS = 1_000_000
# What the log keeps of an organization's own fields. Always named: the row also holds the encrypted
# SSO client secret, which must never be copied into an entry. `version` is kept so that a refused
# save can say who wrote the version it collided with (versions._details).
AUDITED = {"name", "slug", "plan", "seat_limit", "version"}
LABELS = {"name": "Name", "slug": "Slug", "plan": "Plan", "seat_limit": "Seat limit"}


@dataclass(frozen=True)
class OrganizationView:
    """An organization as pages and other callers see it: never its client secret, encrypted or not."""

    id: uuid.UUID
    name: str
    slug: str
    plan: OrgPlan
    seat_limit: int | None
    sso_enabled: bool
    sso_provider: str | None
    sso_issuer_url: str | None
    sso_client_id: str | None
    sso_email_domains: tuple[str, ...]
    sso_secret_stored: bool  # whether a client secret is stored (its value is never handed out)
    created_at: datetime
    updated_at: datetime
    version: int
    sso_required: bool = False  # members must sign in through SSO (identity/sso.set_sso_required)

    @classmethod
    def of(cls, org: Organization) -> OrganizationView:
        return cls(
            id=org.id,
            name=org.name,
            slug=org.slug,
            plan=OrgPlan(org.plan),
            seat_limit=org.seat_limit,
            sso_enabled=bool(org.sso_enabled),
            sso_provider=org.sso_provider,
            sso_issuer_url=org.sso_issuer_url,
            sso_client_id=org.sso_client_id,
            sso_email_domains=tuple(org.sso_email_domains or ()),
            sso_secret_stored=bool(org.sso_client_secret_encrypted),
            created_at=org.created_at,
            updated_at=org.updated_at,
            version=org.version,
            sso_required=bool(org.sso_required),
        )


_name = required_name


def _slug(value: str | None) -> str | None:
    if value is None:
        return None
    value = value.strip().lower()
    if not value:
        return None
    if not SLUG.fullmatch(value):
        raise ValueError(f"use {SLUG_RULE}")
    return value


class OrganizationCreate(BaseModel):
    """A new organization. An empty slug is made from the name."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(max_length=255)
    slug: str | None = Field(default=None, max_length=100)
    plan: OrgPlan = OrgPlan.standard
    seat_limit: int | None = Field(default=None, ge=0, le=MAX_SEATS)

    @field_validator("name")
    @classmethod
    def _check_name(cls, value: str | None) -> str | None:
        return _name(value)

    @field_validator("slug")
    @classmethod
    def _check_slug(cls, value: str | None) -> str | None:
        return _slug(value)


class OrganizationUpdate(BaseModel):
    """The fields an edit may change (each optional; a field left out stays as it is)."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, max_length=255)
    slug: str | None = Field(default=None, max_length=100)
    plan: OrgPlan | None = None
    seat_limit: int | None = Field(default=None, ge=0, le=MAX_SEATS)

    @field_validator("name")
    @classmethod
    def _check_name(cls, value: str | None) -> str | None:
        return _name(value)

    @field_validator("slug")
    @classmethod
    def _check_slug(cls, value: str | None) -> str | None:
        return _slug(value)


# --- reading -------------------------------------------------------------------------------------


def readable(actor: Actor) -> ColumnElement[bool]:
    """The organizations this actor may read: platform admins all, an enterprise admin their own."""
    if actor.can(Permission.manage_platform):
        return true()
    if actor.can(Permission.manage_organization) and actor.organization_id is not None:
        return Organization.id == actor.organization_id
    return false()


def row(session: Session, actor: Actor, organization_id: uuid.UUID, *, for_write: bool = False) -> Organization:
    """The stored organization if the actor may read it (NotFound otherwise, as for a missing one);
    with `for_write`, also the platform permission (asked after: an outsider learns nothing)."""
    org = session.scalar(select(Organization).where(Organization.id == organization_id, readable(actor)))
    if org is None:
        raise NotFound("Organization not found.")
    if for_write:
        actor.require(Permission.manage_platform)
    return org


def get(*, session: Session, actor: Actor, organization_id: uuid.UUID) -> OrganizationView:
    return OrganizationView.of(row(session, actor, organization_id))


def get_by_slug(*, session: Session, actor: Actor, slug: str) -> OrganizationView:
    """The organization at `/organizations/{slug}`."""
    if not SLUG.fullmatch(slug or "") or len(slug) > 100:  # no query for what cannot be a slug (NUL, …)
        raise NotFound("Organization not found.")
    org = session.scalar(select(Organization).where(Organization.slug == slug[:100], readable(actor)))
    if org is None:
        raise NotFound("Organization not found.")
    return OrganizationView.of(org)


@dataclass(frozen=True)
class OrganizationRow:
    """One line of the organizations list."""

    id: uuid.UUID
    name: str
    slug: str
    plan: OrgPlan
    members: int
    seat_limit: int | None
    sso_enabled: bool
    created_at: datetime

    @property
    def seats(self) -> SeatUse:
        return SeatUse(used=self.members, limit=self.seat_limit)


def members_count() -> ColumnElement[int]:
    """Members (seats used) of the organization in the surrounding query: one index range each
    (idx_org_memberships_org), in the same statement, never a query per row."""
    return (
        select(func.count())
        .select_from(OrgMembership)
        .where(OrgMembership.organization_id == Organization.id, OrgMembership.role == MembershipRole.participant)
        .correlate(Organization)
        .scalar_subquery()
    )


SEAT_STATES = {"near_limit": "90 % or more used", "full": "Full", "no_limit": "No limit"}
SORTABLE = {
    "name": Organization.name,
    "slug": Organization.slug,
    "plan": Organization.plan,
    "created_at": Organization.created_at,
    "members": members_count(),
}
FILTERS = ("plan", "seats")


def list_(*, session: Session, actor: Actor, query: ListQuery) -> Page[OrganizationRow]:
    """A page of organizations with their members against the seat limit, by name unless sorted
    otherwise. Search: name, slug. Filters: `plan` (an OrgPlan), `seats` (one of SEAT_STATES)."""
    used = members_count()
    conditions = [readable(actor)]
    if (search := search_clause(query.search, Organization.name, Organization.slug)) is not None:
        conditions.append(search)
    if plan := query.choice("plan", OrgPlan):
        conditions.append(Organization.plan == plan)
    if state := query.text("seats"):
        limit = Organization.seat_limit
        if state == "near_limit":  # in integers: used ≥ 90 % of the limit
            conditions += [limit.is_not(None), used * 10 >= limit * round(WARN_AT * 10)]
        elif state == "full":
            conditions += [limit.is_not(None), used >= limit]
        elif state == "no_limit":
            conditions.append(limit.is_(None))
        else:
            raise ValidationFailed(f"Unknown seats “{state}”.", details={"seats": f"one of {', '.join(SEAT_STATES)}"})
    found = paged(
        session,
        select(Organization, used.label("members")).where(*conditions),
        query,
        sortable=SORTABLE,
        default_sort="name",
        tiebreak=Organization.id,
        count=select(func.count()).select_from(Organization).where(*conditions),
        scalars=False,
    )
    rows = [
        OrganizationRow(
            id=org.id,
            name=org.name,
            slug=org.slug,
            plan=OrgPlan(org.plan),
            members=members,
            seat_limit=org.seat_limit,
            sso_enabled=bool(org.sso_enabled),
            created_at=org.created_at,
        )
        for org, members in found.rows
    ]
    return Page(rows=rows, total=found.total, offset=found.offset, limit=found.limit)


# --- writing -------------------------------------------------------------------------------------


def _slug_taken(session: Session, slug: str, exclude_id: uuid.UUID | None) -> bool:
    others = select(Organization.id).where(Organization.slug == slug)
    if exclude_id is not None:
        others = others.where(Organization.id != exclude_id)
    return session.scalar(others.limit(1)) is not None


def _taken_message(slug: str) -> ValidationFailed:
    return ValidationFailed(
        "Check the highlighted fields.", details={"slug": f"“{slug}” is already the slug of another organization"}
    )


def unique_slug(session: Session, name: str) -> str:
    """A slug made from the name, suffixed -2, -3, … until no organization has it."""
    base = slugify(name, max_length=90, word_boundary=True) or "organization"
    taken = set(
        session.scalars(
            select(Organization.slug).where(
                or_(Organization.slug == base, Organization.slug.like(f"{escape_like(base)}-%", escape="\\"))
            )
        )
    )
    n, slug = 2, base
    while slug in taken:
        slug, n = f"{base}-{n}", n + 1
    return slug


def create(*, session: Session, actor: Actor, data: dict | OrganizationCreate) -> OrganizationView:
    """Add an organization (platform admins). SSO is configured afterwards, on its own (update_sso)."""
    actor.require(Permission.manage_platform)
    new = validate(OrganizationCreate, data)
    if new.slug is None:
        slug = unique_slug(session, new.name)
    elif _slug_taken(session, new.slug, None):
        raise _taken_message(new.slug)
    else:
        slug = new.slug
    org = Organization(name=new.name, slug=slug, plan=new.plan, seat_limit=new.seat_limit)
    session.add(org)
    audit.created(
        session=session,
        actor=actor,
        action=AuditAction.organization_create,
        subject=org,
        fields=AUDITED,
        organization_id=org.id,
    )
    return OrganizationView.of(org)


def update(
    *, session: Session, actor: Actor, organization_id: uuid.UUID, data: dict | OrganizationUpdate, version: int
) -> OrganizationView:
    """Change name, slug, plan or seat limit; `version` is the one the editor read (`Stale` if newer).

    A new slug moves the organization's page: links to the old address stop working (the page says so).
    A limit below the members already in does not remove anyone; it only refuses new members.
    """
    org = row(session, actor, organization_id, for_write=True)
    changes = validate(OrganizationUpdate, data).model_dump(exclude_unset=True)
    missing = {k: "required" for k in ("name", "slug", "plan") if k in changes and changes[k] is None}
    if missing:
        raise ValidationFailed("Check the highlighted fields.", details=missing)
    if "slug" in changes and _slug_taken(session, changes["slug"], org.id):
        raise _taken_message(changes["slug"])
    versions.check(session, org, version=version, noun="organization", fields=set(changes) or set(LABELS))
    with audit.changing(
        session=session,
        actor=actor,
        action=AuditAction.organization_update,
        subject=org,
        fields=AUDITED,
        organization_id=org.id,
    ):
        for key, value in changes.items():
            setattr(org, key, value)
        versions.bump(org)
    return OrganizationView.of(org)


def deletion_blockers(session: Session, organization_id: uuid.UUID) -> list[str]:
    """Why the organization may not be deleted now, each with what to do instead (empty: it may)."""

    def count(model, *where) -> int:  # noqa: ANN001
        return session.scalar(select(func.count()).select_from(model).where(*where)) or 0

    def n(number: int, noun: str) -> str:
        return f"{number} {noun}{'' if number == 1 else 's'}"

    reasons = []
    members = max(
        count(OrgMembership, OrgMembership.organization_id == organization_id),
        count(User, User.organization_id == organization_id),
    )
    if members:
        reasons.append(f"It has {n(members, 'member')}: remove them in People first.")
    played = count(PlaySession, PlaySession.organization_id == organization_id)
    if played:
        reasons.append(
            f"It has play history ({n(played, 'session')}): an organization with play history is kept for its "
            "records. Set its seat limit to 0 to stop new members instead."
        )
    assigned = count(SimulationAssignment, SimulationAssignment.organization_id == organization_id)
    if assigned:
        reasons.append(f"It has {n(assigned, 'assignment')}: remove them first.")
    # Revoked keys cannot be used and have no delete of their own: they go with the organization.
    keys = count(ApiKey, ApiKey.organization_id == organization_id, ApiKey.is_active.is_(True))
    if keys:
        reasons.append(f"{n(keys, 'active API key')} {'is' if keys == 1 else 'are'} bound to it: revoke them first.")
    return reasons


def delete(*, session: Session, actor: Actor, organization_id: uuid.UUID) -> None:
    """Delete an organization that nothing depends on (no members, play history, assignments or
    active keys); otherwise refuse, saying what to do instead."""
    org = row(session, actor, organization_id, for_write=True)
    # FOR UPDATE: a member joining (its foreign key takes KEY SHARE) waits until this ends.
    session.refresh(org, with_for_update=True)
    reasons = deletion_blockers(session, org.id)
    if reasons:
        raise ValidationFailed(f"{org.name} cannot be deleted. " + " ".join(reasons), details={"delete": reasons[0]})
    audit.record(
        session=session,
        actor=actor,
        action=AuditAction.organization_delete,
        subject=org,
        before=audit.snapshot(org, fields=AUDITED | {"sso_enabled", "sso_email_domains"}),
        comment=f"organization deleted: {org.name} ({org.slug})",
    )
    session.delete(org)
    session.flush()
