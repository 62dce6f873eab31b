"""The members of an organization: list, add, change role, move to a department, remove.

A member is three facts kept together: a `users` row, its `organization_id`, and an `org_memberships`
row whose role `users.role` mirrors (admin ↔ enterprise_admin, participant ↔ enterprise_participant).
Every path that adds a member claims its seat first (`seats.claim`, which locks the organization's row,
so two admins adding the last seat at once cannot both get it). Removing a member deletes the
membership, detaches the user (organization NULL, role individual) and frees the seat; what they
played and were assigned stays. Every change is audited with the organization's id: the organizations
area reads the membership entries to draw seat use over time.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from pydantic import BaseModel, ConfigDict, EmailStr, Field, field_validator
from sqlalchemy import and_, case, delete, func, select, update
from sqlalchemy import text as sa_text
from sqlmodel import Session

from console.auth import Actor, Permission
from console.errors import Conflict, NotFound, ValidationFailed
from console.services import accounts, audit, seats, versions
from console.services.common import required_name, validate
from console.services.listing import MAX_PAGE_SIZE, ListQuery, Page, lowered_search_clause, paged
from console.services.people import scope
from models import (
    AssignmentStatus,
    AuditAction,
    Invitation,
    LocalCredential,
    MembershipRole,
    OrgMembership,
    PlaySession,
    SimulationAssignment,
    User,
    UserRole,
)
from models.base import utcnow

USER_ROLE = {
    MembershipRole.admin: UserRole.enterprise_admin,
    MembershipRole.participant: UserRole.enterprise_participant,
}
NO_DEPARTMENT = "-"  # the department filter's value for members without one
MEMBER_NOT_FOUND = "Member not found."
_AUDITED = {"user_id", "role", "department", "joined_at"}


class MemberFields(BaseModel):
    """What the member form may set. Nothing else: organization, user ids and account roles are the
    service's to decide (a tampered form naming them is refused, not obeyed)."""

    model_config = ConfigDict(extra="forbid")

    email: EmailStr
    name: str = Field(max_length=255)
    role: MembershipRole = MembershipRole.participant
    department: str | None = Field(default=None, max_length=100)

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        return required_name(value)

    @field_validator("department")
    @classmethod
    def _department(cls, value: str | None) -> str | None:
        return clean_department(value)


class NewMember(MemberFields):
    password: str | None = Field(
        default=None, min_length=accounts.MIN_PASSWORD_LENGTH, max_length=256
    )  # without one, the member signs in after an invitation


def clean_department(value: str | None) -> str | None:
    value = " ".join((value or "").split())
    return value or None


def check_department(value: str | None) -> str | None:
    value = clean_department(value)
    if value is not None and len(value) > 100:
        raise ValidationFailed("Check the highlighted fields.", details={"department": "at most 100 characters"})
    return value


# --- placing someone in an organization ---------------------------------------------------------


def refusal(
    user: User | None, organization_id: uuid.UUID, *, member_elsewhere: bool = False, by_platform_admin: bool = False
) -> str | None:
    """Why an existing user cannot join this organization (None: they can). Codes shared with imports.

    Only a platform admin may bring an existing account into an organization, and only an active
    individual's: an enterprise admin adding someone's own account would take over their history
    (and, through a password or an invitation link, the account itself)."""
    if user is None:
        return None
    if member_elsewhere or user.organization_id not in (None, organization_id):
        return "other_organization"
    if user.role is not UserRole.individual or user.deactivated_at is not None:
        return "unavailable"  # studio creators, platform admins, deactivated accounts
    if not by_platform_admin:
        return "existing_account"
    return None


# One answer for every refusal of an existing account: which kind of account it is (another
# organization's, a platform admin's, …) is not an enterprise admin's to learn, one email or a whole
# CSV at a time.
_CANNOT = (
    "cannot be added here",
    "{email} already has an account that cannot be added here. A platform admin can help.",
)
REFUSALS = {
    "already_member": ("already a member", "{email} is already a member."),
    "other_organization": _CANNOT,
    "unavailable": _CANNOT,
    "existing_account": _CANNOT,
}


_ACCOUNTS_LOCK = 0x5EA7  # advisory lock key: shared by single adds, exclusive for a CSV import


def lock_email(session: Session, email: str) -> None:
    """Serialize everything that creates or attaches the account of `email` until commit: two admins
    (of two organizations, or one importing while another adds) cannot both make or take it.
    `users.email` has no unique index (Clerk's mirror may hold case variants), so this is the guard."""
    session.execute(sa_text("SELECT pg_advisory_xact_lock_shared(:key)"), {"key": _ACCOUNTS_LOCK})
    session.execute(
        sa_text("SELECT pg_advisory_xact_lock(hashtext(:email))"), {"email": accounts.normalize_email(email)}
    )


def lock_all_emails(session: Session) -> None:
    """What an import takes instead of a lock per line (thousands would fill the lock table): no
    account is made or attached anywhere until it commits."""
    session.execute(sa_text("SELECT pg_advisory_xact_lock(:key)"), {"key": _ACCOUNTS_LOCK})


def place(
    *, session: Session, actor: Actor, organization_id: uuid.UUID, data: MemberFields
) -> tuple[OrgMembership, User, bool]:
    """Create or attach the user and their membership (the caller has claimed the seat). The flag says
    whether the account was created here (False: an existing one joined)."""
    email = accounts.normalize_email(data.email)
    lock_email(session, email)
    user = session.scalar(select(User).where(func.lower(User.email) == email).with_for_update())
    if user is not None:
        member = session.scalar(select(OrgMembership.organization_id).where(OrgMembership.user_id == user.id).limit(1))
        code = (
            "already_member"
            if member == organization_id
            else refusal(
                user,
                organization_id,
                member_elsewhere=bool(member),
                by_platform_admin=actor.can(Permission.manage_platform),
            )
        )
        if code:
            raise Conflict(REFUSALS[code][1].format(email=email), details={"email": REFUSALS[code][0]})
        user.organization_id, user.role = organization_id, USER_ROLE[data.role]
        created = False
    else:
        user = User(email=email, name=data.name, role=USER_ROLE[data.role], organization_id=organization_id)
        created = True
    session.add(user)
    session.flush()
    membership = OrgMembership(
        user_id=user.id, organization_id=organization_id, role=data.role, department=data.department
    )
    session.add(membership)
    audit.created(
        session=session,
        actor=actor,
        action=AuditAction.membership_add,
        subject=membership,
        fields=_AUDITED,
        organization_id=organization_id,
        comment=email,
    )
    return membership, user, created


def add(*, session: Session, actor: Actor, organization_id: uuid.UUID | None, data: dict | NewMember) -> OrgMembership:
    """Add one member (a new user, or an existing individual who is in no organization)."""
    new = validate(NewMember, data)
    org = scope.organization(session, actor, organization_id)
    seats.claim(session, org.id, 1 if seats.takes_seat(new.role) else 0)
    membership, user, created = place(session=session, actor=actor, organization_id=org.id, data=new)
    if new.password:
        # Only for an account made just now: setting the password of an account that existed before
        # would hand it to whoever typed the password.
        if not created or session.get(LocalCredential, user.id) is not None:
            raise Conflict(
                "This person already has an account: they sign in as before.", details={"password": "leave it empty"}
            )
        session.add(
            LocalCredential(user_id=user.id, email=user.email, password_hash=accounts.password_hash.hash(new.password))
        )
    return membership


# --- reading -----------------------------------------------------------------------------------


@dataclass
class MemberRow:
    id: uuid.UUID  # the membership's
    user_id: uuid.UUID
    organization_id: uuid.UUID
    email: str
    name: str
    role: MembershipRole
    department: str | None
    joined_at: datetime
    has_password: bool
    assignments_done: int
    assignments_total: int
    last_played_at: datetime | None


def _stats(organization_id: uuid.UUID):  # noqa: ANN202 — (assignments, plays) subqueries
    """Per-member assignment counts and last play in this organization, grouped once each (never a
    query per row), for sorting by them. A member's sessions in another organization are that
    organization's business, not this one's."""
    assigned = select(
        SimulationAssignment.assigned_to_user_id.label("user_id"),
        func.count().label("total"),
        func.count().filter(SimulationAssignment.status == AssignmentStatus.completed).label("done"),
    )
    played = select(PlaySession.user_id.label("user_id"), func.max(PlaySession.started_at).label("last"))
    assigned = assigned.where(SimulationAssignment.organization_id == organization_id)
    played = played.where(PlaySession.organization_id == organization_id, ~PlaySession.is_test)
    assigned = assigned.group_by(SimulationAssignment.assigned_to_user_id).subquery("assigned")
    played = played.group_by(PlaySession.user_id).subquery("played")
    return assigned, played


def _page_stats(
    session: Session, organization_id: uuid.UUID, user_ids: list[uuid.UUID]
) -> dict[uuid.UUID, tuple[int, int, datetime | None]]:
    """(assignments done, assignments total, last played) of the given members: two grouped reads."""
    if not user_ids:
        return {}
    found: dict[uuid.UUID, list] = {user_id: [0, 0, None] for user_id in user_ids}
    for user_id, done, total in session.execute(
        select(
            SimulationAssignment.assigned_to_user_id,
            func.count().filter(SimulationAssignment.status == AssignmentStatus.completed),
            func.count(),
        )
        .where(
            SimulationAssignment.organization_id == organization_id,
            SimulationAssignment.assigned_to_user_id.in_(user_ids),
        )
        .group_by(SimulationAssignment.assigned_to_user_id)
    ):
        found[user_id][0:2] = [done, total]
    for user_id, last in session.execute(
        select(PlaySession.user_id, func.max(PlaySession.started_at))
        .where(PlaySession.organization_id == organization_id, PlaySession.user_id.in_(user_ids), ~PlaySession.is_test)
        .group_by(PlaySession.user_id)
    ):
        found[user_id][2] = last
    return {user_id: tuple(values) for user_id, values in found.items()}


def _sortable(assigned, played) -> dict:  # noqa: ANN001
    return {
        "name": User.name,
        "email": User.email,
        "role": OrgMembership.role,
        "department": OrgMembership.department,
        "joined_at": OrgMembership.joined_at,
        "assignments": func.coalesce(assigned.c.done, 0),
        "last_played_at": played.c.last,
    }


SORTABLE = ("name", "email", "role", "department", "joined_at", "assignments", "last_played_at")
FILTERS = ("organization_id", "role", "department")


def list_(*, session: Session, actor: Actor, query: ListQuery) -> Page[MemberRow]:
    """A page of members, by name unless sorted otherwise. Search: name, email. Filters:
    `organization_id` (platform admins: whose members; enterprise admins: only their own), `role`, and
    `department` (NO_DEPARTMENT for members without one)."""
    organization_id = query.uuid("organization_id")
    org = scope.organization(session, actor, organization_id)
    conditions = [scope.readable(actor, org.id)]
    if (search := lowered_search_clause(query.search, User.search_text)) is not None:
        conditions.append(search)
    if role := query.choice("role", MembershipRole):
        conditions.append(OrgMembership.role == role)
    if department := query.text("department", max_length=100):
        conditions.append(
            OrgMembership.department.is_(None)
            if department == NO_DEPARTMENT
            else OrgMembership.department == department
        )
    # The counts and last play are grouped over the whole organization only when the page is sorted
    # by them; otherwise the page is chosen first and they are read for its rows alone.
    by_stats = query.sort in ("assignments", "last_played_at")
    assigned, played = _stats(org.id)
    statement = (
        select(OrgMembership, User.email, User.name, LocalCredential.user_id.is_not(None))
        .join(User, User.id == OrgMembership.user_id)
        .outerjoin(LocalCredential, LocalCredential.user_id == User.id)
        .where(*conditions)
    )
    if by_stats:
        statement = statement.outerjoin(assigned, assigned.c.user_id == User.id).outerjoin(
            played, played.c.user_id == User.id
        )
    count = (
        select(func.count()).select_from(OrgMembership).join(User, User.id == OrgMembership.user_id).where(*conditions)
    )
    found = paged(
        session,
        statement,
        query,
        sortable=_sortable(assigned, played),
        default_sort="name",
        tiebreak=OrgMembership.id,
        count=count,
        scalars=False,
    )
    stats = _page_stats(session, org.id, [m.user_id for m, *_ in found.rows])
    return Page(
        rows=[
            MemberRow(
                id=m.id,
                user_id=m.user_id,
                organization_id=m.organization_id,
                email=email,
                name=name,
                role=m.role,
                department=m.department,
                joined_at=m.joined_at,
                has_password=bool(has_password),
                assignments_done=stats.get(m.user_id, (0, 0, None))[0],
                assignments_total=stats.get(m.user_id, (0, 0, None))[1],
                last_played_at=stats.get(m.user_id, (0, 0, None))[2],
            )  # fmt: skip
            for m, email, name, has_password in found.rows
        ],
        total=found.total,
        offset=found.offset,
        limit=found.limit,
    )


def get(*, session: Session, actor: Actor, membership_id: uuid.UUID, lock: bool = False) -> OrgMembership:
    """One membership in the actor's reach (locked for update with `lock`), else NotFound."""
    statement = select(OrgMembership).where(OrgMembership.id == membership_id, scope.readable(actor))
    found = session.scalar(statement.with_for_update() if lock else statement)
    if found is None:
        raise NotFound(MEMBER_NOT_FOUND)
    return found


def _many(session: Session, actor: Actor, membership_ids: list[uuid.UUID]) -> list[OrgMembership]:
    """Every one of these memberships, locked, or NotFound (and nothing changes) if any is out of reach."""
    ids = list(dict.fromkeys(membership_ids))
    if not ids:
        raise ValidationFailed("Choose at least one member.")
    if len(ids) > MAX_PAGE_SIZE:
        raise ValidationFailed("Too many members at once.", details={"membership_ids": f"at most {MAX_PAGE_SIZE}"})
    found = list(
        session.scalars(
            select(OrgMembership)
            .where(OrgMembership.id.in_(ids), scope.readable(actor))
            .order_by(OrgMembership.id)
            .with_for_update()
        )
    )
    if len(found) != len(ids):
        raise NotFound(MEMBER_NOT_FOUND)
    return found


# --- changing ----------------------------------------------------------------------------------


def _not_self(actor: Actor, membership: OrgMembership, what: str) -> None:
    # An admin who demotes or removes themselves locks themselves out: another admin does it.
    if actor.user_id is not None and membership.user_id == actor.user_id:
        raise ValidationFailed(f"You cannot {what} yourself: ask another admin.")


def change_role(*, session: Session, actor: Actor, membership_id: uuid.UUID, role: str) -> OrgMembership:
    """Make a member an admin or a participant; their account's role follows."""
    wanted = validate(MemberFields, {"email": "x@example.com", "name": "x", "role": role}).role
    membership = get(session=session, actor=actor, membership_id=membership_id, lock=True)
    if membership.role is wanted:
        return membership
    _not_self(actor, membership, "change the role of")
    set_role(session=session, actor=actor, membership=membership, wanted=wanted)
    return membership


def set_role(*, session: Session, actor: Actor, membership: OrgMembership, wanted: MembershipRole) -> User:
    """The one way a member's role changes, from People or from Users: the organization keeps an
    admin, an admin becoming a participant takes a seat, and the account's role follows the
    membership's in the same unit of work. Returns the account."""
    if membership.role is MembershipRole.admin and wanted is not MembershipRole.admin:
        _keep_an_admin(session, membership.organization_id, losing=[membership.id])
    if seats.takes_seat(wanted):  # an admin becoming a participant takes a seat
        seats.claim(session, membership.organization_id, 1)
    user = session.get(User, membership.user_id, with_for_update=True)
    if user.role not in USER_ROLE.values():  # only enterprise accounts follow their membership
        raise Conflict("This account's role is not an organization's to change.", details={"role": "not changed"})
    with audit.changing(
        session=session,
        actor=actor,
        action=AuditAction.membership_update,
        subject=membership,
        fields=_AUDITED,
        organization_id=membership.organization_id,
    ):
        membership.role = wanted
    # The account's role follows, as its own audited change with a new edit version, so a platform
    # admin's role dialog opened before cannot save the old role back (console/services/versions.py).
    with audit.changing(
        session=session,
        actor=actor,
        action=AuditAction.user_update,
        subject=user,
        fields={"role", "version"},
        organization_id=membership.organization_id,
    ):
        user.role = USER_ROLE[wanted]
        versions.bump(user)
    return user


def _keep_an_admin(session: Session, organization_id: uuid.UUID, *, losing: list[uuid.UUID]) -> None:
    """Refuse a change that would leave the organization without an admin. Locks its admins' rows in
    id order, so two admins demoting or removing each other at once cannot both succeed."""
    admins = session.scalars(
        select(OrgMembership.id)
        .where(OrgMembership.organization_id == organization_id, OrgMembership.role == MembershipRole.admin)
        .order_by(OrgMembership.id)
        .with_for_update()
    ).all()
    if not set(admins) - set(losing):
        raise Conflict(
            "An organization keeps at least one admin: make someone else an admin first.",
            details={"role": "the last admin"},
        )


def move_to_department(
    *, session: Session, actor: Actor, membership_ids: list[uuid.UUID], department: str | None
) -> list[OrgMembership]:
    """Put these members in a department (None or empty: in none). All of them, or none if one is out of reach."""
    department = check_department(department)
    found = _many(session, actor, membership_ids)
    for membership in found:
        if membership.department == department:
            continue
        with audit.changing(
            session=session,
            actor=actor,
            action=AuditAction.membership_update,
            subject=membership,
            fields=_AUDITED,
            organization_id=membership.organization_id,
        ):
            membership.department = department
    return found


def remove(*, session: Session, actor: Actor, membership_ids: list[uuid.UUID]) -> int:
    """Remove members: their seats are freed, their accounts stay (individual, in no organization), and
    what they played and were assigned stays. Their open invitations are revoked. Returns how many."""
    found = _many(session, actor, membership_ids)
    for membership in found:
        _not_self(actor, membership, "remove")
    for organization_id in {m.organization_id for m in found}:
        leaving = [m.id for m in found if m.organization_id == organization_id and m.role is MembershipRole.admin]
        if leaving:
            _keep_an_admin(session, organization_id, losing=leaving)
    now = utcnow()
    for membership in found:
        audit.deleted(
            session=session,
            actor=actor,
            action=AuditAction.membership_remove,
            subject=membership,
            organization_id=membership.organization_id,
        )
    by_org = {(m.user_id, m.organization_id) for m in found}
    user_ids = [user_id for user_id, _ in by_org]
    session.execute(
        update(Invitation)
        .where(Invitation.user_id.in_(user_ids), Invitation.used_at.is_(None), Invitation.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    session.execute(delete(OrgMembership).where(OrgMembership.id.in_([m.id for m in found])))
    # Only a user still pointing at the organization they leave is detached (never one moved on since).
    for user_id, organization_id in by_org:
        session.execute(
            update(User)
            .where(and_(User.id == user_id, User.organization_id == organization_id, User.role.in_(USER_ROLE.values())))
            # A new edit version: a role dialog opened before cannot put the old role back.
            .values(organization_id=None, role=UserRole.individual, version=User.version + 1)
        )
    return len(found)


def role_counts(*, session: Session, actor: Actor, organization_id: uuid.UUID | None) -> dict[str, int]:
    """{"admin": n, "participant": n, "invited": n} for the organization's summary line."""
    org = scope.organization(session, actor, organization_id)
    row = session.execute(
        select(
            func.count().filter(OrgMembership.role == MembershipRole.admin),
            func.count().filter(OrgMembership.role == MembershipRole.participant),
            func.count(case((LocalCredential.user_id.is_(None), 1))),
        )
        .select_from(OrgMembership)
        .outerjoin(LocalCredential, LocalCredential.user_id == OrgMembership.user_id)
        .where(OrgMembership.organization_id == org.id)
    ).one()
    return {"admin": row[0], "participant": row[1], "invited": row[2]}
