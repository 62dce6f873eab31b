"""Assigning simulations to an organization's people, changing due dates, unassigning, and the list.

Who: enterprise admins for their own organization, platform admins for any (`people.scope`). People
are named by user id (the People list's selection), by department, or by email (a CSV); whoever is
not a member of the organization is reported as not found, never assigned — a tampered id or a CSV
naming someone elsewhere changes nothing. A person already holding an open assignment of the
simulation is reported, not given a second (a unique index makes that true under concurrency too).
"""

from __future__ import annotations

import csv
import io
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints
from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlmodel import Session

from console.auth import Actor, Permission
from console.errors import NotFound, ValidationFailed
from console.services import audit
from console.services.assignments import status as rules
from console.services.common import validate
from console.services.listing import lowered_search_clause, search_clause
from console.services.people import scope
from models import (
    AuditAction,
    AuditEntity,
    MembershipRole,
    Organization,
    OrgMembership,
    Simulation,
    SimulationAssignment,
    SimulationStatus,
    User,
)
from models.base import utcnow
from models.enums import AssignmentStatus

SIMULATION_NOT_FOUND = "Simulation not found, or not published: only published simulations can be assigned."
ASSIGNMENT_NOT_FOUND = "Assignment not found."
MAX_TARGETS = 20_000  # people named in one call (ids + emails); departments expand within the organization
# Its addresses come back to the page (and its dialog) over the page's websocket, whose messages stop at
# 1 MB: half that keeps a file of long addresses well inside it.
MAX_CSV_BYTES = 512 * 1024
NO_DEPARTMENT = "-"


class AssignFields(BaseModel):
    """What an assign call may say. The organization is the scope's, never the form's."""

    model_config = ConfigDict(extra="forbid")

    simulation_id: uuid.UUID
    user_ids: list[uuid.UUID] = Field(default_factory=list, max_length=MAX_TARGETS)
    departments: list[str] = Field(default_factory=list, max_length=1000)
    emails: list[Annotated[str, StringConstraints(max_length=320)]] = Field(
        default_factory=list, max_length=MAX_TARGETS
    )
    due_date: date | None = None


@dataclass
class AssignOutcome:
    """What an assign call did (or, in a dry run, would do), person by person."""

    simulation_title: str
    due_date: date | None
    created: list[str] = field(default_factory=list)  # "Name <email>"
    already: list[str] = field(default_factory=list)  # held an open assignment of it: not duplicated
    not_found: list[str] = field(default_factory=list)  # ids / emails that are no member here
    deactivated: list[str] = field(default_factory=list)
    admins: list[str] = field(default_factory=list)  # admins run the organization; they are not assigned
    completed_by_earlier_play: int = 0  # created already completed: they had played it all
    dry_run: bool = False


def _label(name: str, email: str) -> str:
    return f"{name} <{email}>"


def assignable_simulation(session: Session, simulation_id: uuid.UUID) -> Simulation:
    found = session.get(Simulation, simulation_id)
    if found is None or found.status != SimulationStatus.published:
        raise NotFound(SIMULATION_NOT_FOUND)
    return found


def simulation_options(*, session: Session, actor: Actor, search: str = "") -> dict[str, str]:
    """Published simulations as {id: title}, the first 20 whose title contains `search`."""
    actor.require(Permission.manage_organization)
    conditions = [Simulation.status == SimulationStatus.published]
    if (by_title := search_clause(search, Simulation.title)) is not None:
        conditions.append(by_title)
    rows = session.execute(
        select(Simulation.id, Simulation.title).where(*conditions).order_by(Simulation.title).limit(20)
    )
    return {str(sim_id): title for sim_id, title in rows}


def simulation_title(*, session: Session, actor: Actor, simulation_id: uuid.UUID) -> str | None:
    """A simulation's title for a filter's label: published or archived (old assignments name archived
    ones); a simulation still in the studio is none of an organization's business."""
    actor.require(Permission.manage_organization)
    return session.scalar(
        select(Simulation.title).where(
            Simulation.id == simulation_id,
            Simulation.status.in_([SimulationStatus.published, SimulationStatus.archived]),
        )
    )


def people_options(
    *, session: Session, actor: Actor, organization_id: uuid.UUID | None, search: str = ""
) -> dict[str, str]:
    """Members of the organization as {user id: "Name <email>"}, the first 20 matching `search`."""
    org = scope.organization(session, actor, organization_id)
    conditions = [OrgMembership.organization_id == org.id]
    if (found := lowered_search_clause(search, User.search_text)) is not None:
        conditions.append(found)
    rows = session.execute(
        select(User.id, User.name, User.email)
        .join(OrgMembership, OrgMembership.user_id == User.id)
        .where(*conditions)
        .order_by(User.name)
        .limit(20)
    )
    return {str(user_id): _label(name, email) for user_id, name, email in rows}


def person_label(
    *, session: Session, actor: Actor, organization_id: uuid.UUID | None, user_id: uuid.UUID
) -> str | None:
    """ "Name <email>" of a member of the organization (a filter's label for a person named in the
    address); None for anyone else, so a tampered address learns nothing."""
    org = scope.organization(session, actor, organization_id)
    found = session.execute(
        select(User.name, User.email)
        .join(OrgMembership, OrgMembership.user_id == User.id)
        .where(OrgMembership.organization_id == org.id, User.id == user_id)
    ).first()
    return _label(*found) if found else None


def emails_from_csv(content: bytes) -> tuple[list[str], list[str]]:
    """Emails named by a CSV (a column headed `email`, or one address per line): (emails, problems)."""
    if len(content) > MAX_CSV_BYTES:
        raise ValidationFailed("The file is larger than 512 KiB.", details={"file": "at most 512 KiB"})
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ValidationFailed("The file is not UTF-8 text.", details={"file": "save it as CSV, UTF-8"}) from exc
    if "\x00" in text:
        raise ValidationFailed("The file is not a CSV file.", details={"file": "save it as CSV, UTF-8"})
    rows = list(csv.reader(io.StringIO(text)))
    if not rows:
        raise ValidationFailed("The file is empty.", details={"file": "one email per line, or an email column"})
    header = [cell.strip().lower() for cell in rows[0]]
    column = header.index("email") if "email" in header else None
    body, first_line = (rows[1:], 2) if column is not None else (rows, 1)
    column = column or 0
    emails, problems = [], []
    for line, row in enumerate(body, start=first_line):
        value = row[column].strip() if len(row) > column else ""
        if not value:
            continue
        if "@" not in value or len(value) > 255 or any(c.isspace() for c in value):
            problems.append(f"line {line}: “{value[:80]}” is not an email address")
        else:
            emails.append(value)
    if len(emails) > MAX_TARGETS:
        raise ValidationFailed(f"At most {MAX_TARGETS:,} people at a time.", details={"file": "split the file"})
    return emails, problems


def assign(
    *, session: Session, actor: Actor, organization_id: uuid.UUID | None, data: dict, dry_run: bool = False
) -> AssignOutcome:
    """Assign a published simulation to the people named in `data` (user ids, departments, emails)
    with an optional due date; with `dry_run`, only say what would happen."""
    fields = validate(AssignFields, data)
    org = scope.organization(session, actor, organization_id)
    simulation = assignable_simulation(session, fields.simulation_id)
    if fields.due_date is not None and fields.due_date < rules.today():
        raise ValidationFailed("Check the highlighted fields.", details={"due_date": "the due date has passed"})
    if not (fields.user_ids or fields.departments or fields.emails):
        raise ValidationFailed("Choose who to assign.", details={"people": "choose people, a department or a file"})
    outcome = AssignOutcome(simulation_title=simulation.title, due_date=fields.due_date, dry_run=dry_run)

    members: dict[uuid.UUID, tuple[str, str, datetime | None, MembershipRole]] = {}
    base = (
        select(User.id, User.name, User.email, User.deactivated_at, OrgMembership.role)
        .join(OrgMembership, OrgMembership.user_id == User.id)
        .where(OrgMembership.organization_id == org.id)
    )
    if fields.user_ids:
        wanted = set(fields.user_ids)
        for user_id, name, email, gone, role in session.execute(base.where(User.id.in_(wanted))):
            members[user_id] = (name, email, gone, role)
        outcome.not_found += sorted(str(u) for u in wanted - set(members))
    if fields.departments:
        named = {d.strip() for d in fields.departments if d.strip()}
        conditions = []
        if NO_DEPARTMENT in named:
            conditions.append(OrgMembership.department.is_(None))
        if named - {NO_DEPARTMENT}:
            conditions.append(OrgMembership.department.in_(named - {NO_DEPARTMENT}))
        # A department means its participants (admins are never assigned).
        in_departments = base.where(or_(*conditions), OrgMembership.role == MembershipRole.participant)
        for user_id, name, email, gone, role in session.execute(in_departments):
            members[user_id] = (name, email, gone, role)
    if fields.emails:
        wanted_emails = {e.strip().lower(): e for e in fields.emails}
        seen = set()
        for user_id, name, email, gone, role in session.execute(base.where(func.lower(User.email).in_(wanted_emails))):
            members[user_id] = (name, email, gone, role)
            seen.add(email.lower())
        outcome.not_found += [wanted_emails[e] for e in wanted_emails if e not in seen]

    for user_id, (name, email, gone, role) in list(members.items()):
        if role != MembershipRole.participant:
            # Admins have no assignments page and cannot launch: assigning them would only ever be overdue.
            outcome.admins.append(_label(name, email))
            del members[user_id]
        elif gone is not None:
            outcome.deactivated.append(_label(name, email))
            del members[user_id]
    if not dry_run:
        rules.lock_simulation(session, org.id, simulation.id)  # no session judged while this is decided
    holding = set(
        session.scalars(
            select(SimulationAssignment.assigned_to_user_id).where(
                SimulationAssignment.organization_id == org.id,
                SimulationAssignment.simulation_id == simulation.id,
                SimulationAssignment.assigned_to_user_id.in_(list(members)),
                SimulationAssignment.status.in_(rules.OPEN),
            )
        )
    )
    fresh = [u for u in members if u not in holding]
    outcome.already = sorted(_label(*members[u][:2]) for u in holding)
    progress = rules.progress_of(session, org.id, simulation.id, fresh)
    if dry_run:
        outcome.created = sorted(_label(*members[u][:2]) for u in fresh)
        outcome.completed_by_earlier_play = sum(1 for u in fresh if progress[u].completed_at is not None)
        return outcome

    now = utcnow()
    mark = rules.pass_mark(simulation.id, session)
    rows = [
        {
            "id": uuid.uuid4(),
            "organization_id": org.id,
            "assigned_by_user_id": actor.user_id,
            "assigned_to_user_id": user_id,
            "simulation_id": simulation.id,
            "due_date": fields.due_date,
            "status": rules.initial_status(progress[user_id], fields.due_date),
            "assigned_at": now,
            "started_at": progress[user_id].started_at,
            "completed_at": progress[user_id].completed_at,
            "score": progress[user_id].score,
            "passed": None if mark is None or progress[user_id].score is None else progress[user_id].score >= mark,
        }
        for user_id in fresh
    ]
    made: set[uuid.UUID] = set()
    for start in range(0, len(rows), 1000):
        # Someone assigning the same people at this moment: their row stands, ours is reported.
        made |= set(
            session.scalars(
                insert(SimulationAssignment)
                .values(rows[start : start + 1000])
                .on_conflict_do_nothing(
                    index_elements=["organization_id", "assigned_to_user_id", "simulation_id"],
                    index_where=SimulationAssignment.status != AssignmentStatus.completed,
                )
                .returning(SimulationAssignment.assigned_to_user_id)
            )
        )
    outcome.created = sorted(_label(*members[u][:2]) for u in made)
    outcome.already += sorted(_label(*members[u][:2]) for u in fresh if u not in made)
    outcome.completed_by_earlier_play = sum(1 for u in made if progress[u].completed_at is not None)
    if made:
        audit.record(
            session=session,
            actor=actor,
            action=AuditAction.assignment_create,
            subject=(AuditEntity.simulation, simulation.id),
            organization_id=org.id,
            after={
                "simulation": simulation.title,
                "due_date": fields.due_date.isoformat() if fields.due_date else None,
                "people": len(made),
                "user_ids": sorted(str(u) for u in made)[:1000],
            },
            comment=f"Assigned {simulation.title} to {len(made)} {'person' if len(made) == 1 else 'people'}",
        )
    session.flush()
    return outcome


def _in_scope(
    session: Session, actor: Actor, organization_id: uuid.UUID | None, assignment_ids: list[uuid.UUID]
) -> tuple[Organization, list[SimulationAssignment]]:
    """The named assignments of the organization, locked; any other id → NotFound (nothing changes)."""
    org = scope.organization(session, actor, organization_id)
    wanted = set(assignment_ids)
    if not wanted:
        raise ValidationFailed("Choose at least one assignment.")
    if len(wanted) > MAX_TARGETS:
        raise ValidationFailed(f"At most {MAX_TARGETS:,} assignments at a time.")
    found = list(
        session.scalars(
            select(SimulationAssignment)
            .where(SimulationAssignment.id.in_(wanted), SimulationAssignment.organization_id == org.id)
            .order_by(SimulationAssignment.id)
            .with_for_update()
        )
    )
    if len(found) != len(wanted):
        raise NotFound(ASSIGNMENT_NOT_FOUND)
    return org, found


def change_due_date(
    *,
    session: Session,
    actor: Actor,
    organization_id: uuid.UUID | None,
    assignment_ids: list[uuid.UUID],
    due_date: date | None,
) -> int:
    """Give one or many open assignments a new due date (or none); completed ones keep theirs.
    Returns how many changed. An overdue assignment whose new date is today or later is open again."""
    if due_date is not None and due_date < rules.today():
        raise ValidationFailed("Check the highlighted fields.", details={"due_date": "the due date has passed"})
    org, found = _in_scope(session, actor, organization_id, assignment_ids)
    changing = [a for a in found if a.status != AssignmentStatus.completed and a.due_date != due_date]
    if not changing:
        return 0
    before = sorted({a.due_date.isoformat() if a.due_date else None for a in changing}, key=str)
    ids = [a.id for a in changing]
    session.execute(update(SimulationAssignment).where(SimulationAssignment.id.in_(ids)).values(due_date=due_date))
    rules.reopen_if_due_later(session, ids)
    audit.record(
        session=session,
        actor=actor,
        action=AuditAction.assignment_update,
        subject=(AuditEntity.assignment, ids[0] if len(ids) == 1 else None),
        organization_id=org.id,
        before={"due_date": before},
        after={"due_date": due_date.isoformat() if due_date else None, "assignments": len(ids)},
        comment=f"Due date of {len(ids)} assignment{'s' if len(ids) != 1 else ''} changed",
    )
    session.expire_all()
    return len(ids)


def unassign(
    *, session: Session, actor: Actor, organization_id: uuid.UUID | None, assignment_ids: list[uuid.UUID]
) -> tuple[int, int]:
    """Remove open assignments; completed ones stay as the record of what was done. Sessions and
    results are never touched. Returns (removed, kept because completed)."""
    org, found = _in_scope(session, actor, organization_id, assignment_ids)
    removing = [a for a in found if a.status != AssignmentStatus.completed]
    if removing:
        session.execute(delete(SimulationAssignment).where(SimulationAssignment.id.in_([a.id for a in removing])))
        audit.record(
            session=session,
            actor=actor,
            action=AuditAction.assignment_remove,
            subject=(AuditEntity.assignment, removing[0].id if len(removing) == 1 else None),
            organization_id=org.id,
            before={
                "assignments": [
                    {
                        "user_id": str(a.assigned_to_user_id),
                        "simulation_id": str(a.simulation_id),
                        "due_date": a.due_date.isoformat() if a.due_date else None,
                        "status": a.status.value,
                    }
                    for a in removing[:1000]
                ]  # fmt: skip
            },
            comment=f"{len(removing)} assignment{'s' if len(removing) != 1 else ''} removed",
        )
    return len(removing), len(found) - len(removing)
