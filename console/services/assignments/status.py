"""What an assignment's status is, and every change of it, whoever causes it.

Rules (docs/assignments.md says the same to users):

- **assigned** until a session of one of the simulation's modules starts → **in_progress**;
- **completed** once every *published* module of the simulation has a completed session of the person
  (a module added or archived later does not reopen a completed assignment); `completed_at` is when
  the last of those sessions completed, and the assignment was late if that day is after the due date;
- **overdue** when the due date has passed without completion. This is true the moment it is read
  (`status_now`), not only after the hourly sweep (`mark_overdue`) records it;
- the sessions that count are the person's sessions played in the assignment's organization since
  their previous assignment of the same simulation there was completed (all of them, if there was
  none): an assignment made after the person played counts that play; a re-assignment after
  completion starts again; play in another organization, or as an individual, never counts.

The engine API's ingest (`session_started`, `session_completed`), the sweep and the assigning service
all go through here.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import ColumnElement, and_, case, func, literal, select, update
from sqlmodel import Session

from console.errors import ValidationFailed
from console.services import scoring
from models import Module, PlaySession, Simulation, SimulationAssignment
from models.base import utcnow
from models.enums import AssignmentStatus, ModuleStatus, SessionStatus

OPEN = (AssignmentStatus.assigned, AssignmentStatus.in_progress, AssignmentStatus.overdue)


def today() -> date:
    return utcnow().date()


def status_now(on: date | None = None) -> ColumnElement:
    """The assignment's status as of `on` (today): past its due date and not completed reads overdue,
    whatever the sweep has recorded so far."""
    return case(
        (
            and_(
                SimulationAssignment.status != AssignmentStatus.completed,
                SimulationAssignment.due_date < (on or today()),
            ),
            literal(AssignmentStatus.overdue, SimulationAssignment.status.type),
        ),
        else_=SimulationAssignment.status,
    )


def status_of(assignment: SimulationAssignment, on: date | None = None) -> AssignmentStatus:
    """`status_now` for an assignment already loaded."""
    due = assignment.due_date
    if assignment.status != AssignmentStatus.completed and due is not None and due < (on or today()):
        return AssignmentStatus.overdue
    return AssignmentStatus(assignment.status)


def days_late(due_date: date | None, completed_at: datetime | None, on: date | None = None) -> int:
    """How many days after its due date an assignment was completed (or, still open, is now); 0 if not late."""
    if due_date is None:
        return 0
    end = completed_at.date() if completed_at is not None else (on or today())
    return max(0, (end - due_date).days)


@dataclass(frozen=True)
class Progress:
    started_at: datetime | None
    completed_at: datetime | None
    score: float | None = None  # with completed_at: the mean of each published module's latest total


def pass_mark(simulation_id: uuid.UUID, session: Session) -> float | None:
    """The simulation's pass mark, or None when its scoring is not configured (nothing passes or fails)."""
    raw = session.scalar(select(Simulation.scoring_config).where(Simulation.id == simulation_id))
    try:
        return scoring.parse_config(raw).pass_mark
    except ValidationFailed:
        return None


def record_completion(
    session: Session, assignment: SimulationAssignment, progress: Progress, mark: float | None
) -> None:
    """Complete the assignment with what its sessions say (completion time, score, pass)."""
    assignment.status = AssignmentStatus.completed
    assignment.completed_at = progress.completed_at
    assignment.score = progress.score
    assignment.passed = None if mark is None or progress.score is None else progress.score >= mark


def published_modules(session: Session, simulation_id: uuid.UUID) -> set[uuid.UUID]:
    return set(
        session.scalars(
            select(Module.id).where(Module.simulation_id == simulation_id, Module.status == ModuleStatus.published)
        )
    )


def lock_simulation(session: Session, organization_id: uuid.UUID, simulation_id: uuid.UUID) -> None:
    """Serialize, for one organization and simulation, judging play against assignments: assigning
    (which reads the play it counts, then inserts) and a session starting or completing (which finds
    the open assignment, then judges it) take this lock first, so neither misses what the other is
    writing. Held to the end of the transaction."""
    session.execute(
        select(func.pg_advisory_xact_lock(func.hashtextextended(f"assignments:{organization_id}:{simulation_id}", 0)))
    )


def progress_of(
    session: Session, organization_id: uuid.UUID, simulation_id: uuid.UUID, user_ids: list[uuid.UUID]
) -> dict[uuid.UUID, Progress]:
    """For each person, what their counted sessions of the simulation say: when the first started and,
    if every published module has a completed one, when the last of those completed."""
    if not user_ids:
        return {}
    modules = published_modules(session, simulation_id)
    floors = dict(
        session.execute(
            select(SimulationAssignment.assigned_to_user_id, func.max(SimulationAssignment.completed_at))
            .where(
                SimulationAssignment.organization_id == organization_id,
                SimulationAssignment.simulation_id == simulation_id,
                SimulationAssignment.assigned_to_user_id.in_(user_ids),
                SimulationAssignment.status == AssignmentStatus.completed,
            )
            .group_by(SimulationAssignment.assigned_to_user_id)
        ).all()
    )
    first: dict[uuid.UUID, datetime] = {}
    # per person, per module: (when its first completed session completed, the latest one's total)
    done: dict[uuid.UUID, dict[uuid.UUID, tuple[datetime, datetime, float | None]]] = {}
    if modules:
        rows = session.execute(
            select(
                PlaySession.user_id, PlaySession.module_id, PlaySession.status, PlaySession.started_at,
                PlaySession.completed_at, PlaySession.total_score,
            ).where(
                PlaySession.user_id.in_(user_ids),
                PlaySession.module_id.in_(modules),
                PlaySession.organization_id == organization_id,
                ~PlaySession.is_test,  # a test session moves no assignment (play_sessions.real)
            )
        )  # fmt: skip
        for user_id, module_id, status, started_at, completed_at, total in rows:
            floor = floors.get(user_id)
            if floor is not None and started_at <= floor:
                continue
            first[user_id] = min(first.get(user_id, started_at), started_at)
            if status == SessionStatus.completed and completed_at is not None:
                finished = done.setdefault(user_id, {})
                was = finished.get(module_id)
                if was is None:
                    finished[module_id] = (completed_at, completed_at, total)
                else:
                    earliest, latest, latest_total = was
                    finished[module_id] = (
                        min(earliest, completed_at),
                        *((completed_at, total) if completed_at > latest else (latest, latest_total)),
                    )
    result = {}
    for user_id in user_ids:
        finished = done.get(user_id, {})
        if bool(modules) and modules <= set(finished):
            totals = [t for _, _, t in finished.values() if t is not None]
            score = round(sum(totals) / len(totals), 1) if len(totals) == len(finished) else None
            # Completed when the last module got its first completion; replays after do not move it.
            result[user_id] = Progress(first.get(user_id), max(e for e, _, _ in finished.values()), score)
        else:
            result[user_id] = Progress(first.get(user_id), None)
    return result


def initial_status(progress: Progress, due_date: date | None) -> AssignmentStatus:
    """What a new assignment's recorded status is, from the play it already counts."""
    if progress.completed_at is not None:
        return AssignmentStatus.completed
    if due_date is not None and due_date < today():
        return AssignmentStatus.overdue
    return AssignmentStatus.in_progress if progress.started_at is not None else AssignmentStatus.assigned


# --- changes caused by play ------------------------------------------------------------------------


def _open_assignment(
    session: Session, organization_id: uuid.UUID, user_id: uuid.UUID, simulation_id: uuid.UUID
) -> SimulationAssignment | None:
    """The person's open assignment of the simulation in the organization (at most one: a unique
    index), after the organization's lock for the simulation: two sessions completing at once, or a
    session completing while someone assigns, are judged one after the other, the second seeing the
    first."""
    lock_simulation(session, organization_id, simulation_id)
    return session.scalar(
        select(SimulationAssignment)
        .where(
            SimulationAssignment.organization_id == organization_id,
            SimulationAssignment.assigned_to_user_id == user_id,
            SimulationAssignment.simulation_id == simulation_id,
            SimulationAssignment.status.in_(OPEN),
        )
        .with_for_update()
    )


def session_started(
    *, session: Session, user_id: uuid.UUID, simulation_id: uuid.UUID, organization_id: uuid.UUID | None
) -> None:
    """A session of the simulation started for the person in the organization (None: played as an
    individual, which no assignment counts): their assigned work there is now in progress (an
    overdue one stays overdue, with its start recorded)."""
    if organization_id is None:
        return
    assignment = _open_assignment(session, organization_id, user_id, simulation_id)
    if assignment is None:
        return
    if assignment.started_at is None:
        assignment.started_at = utcnow()
    if assignment.status == AssignmentStatus.assigned:
        assignment.status = AssignmentStatus.in_progress
    session.flush()


def session_completed(
    *, session: Session, user_id: uuid.UUID, simulation_id: uuid.UUID, organization_id: uuid.UUID | None
) -> None:
    """A session completed: the assignment is completed once every published module has a completed
    counted session."""
    if organization_id is None:
        return
    assignment = _open_assignment(session, organization_id, user_id, simulation_id)
    if assignment is None:
        return
    progress = progress_of(session, organization_id, simulation_id, [user_id])[user_id]
    if assignment.started_at is None and progress.started_at is not None:
        assignment.started_at = progress.started_at
    if progress.completed_at is not None:
        record_completion(session, assignment, progress, pass_mark(simulation_id, session))
    session.flush()


def mark_overdue(*, session: Session, on: date | None = None) -> int:
    """Record overdue on open assignments past their due date (reads already say so); returns how many."""
    result = session.execute(
        update(SimulationAssignment)
        .where(
            SimulationAssignment.status.in_([AssignmentStatus.assigned, AssignmentStatus.in_progress]),
            SimulationAssignment.due_date < (on or today()),
        )
        .values(status=AssignmentStatus.overdue)
    )
    return result.rowcount or 0


def reopen_if_due_later(session: Session, ids: list[uuid.UUID]) -> None:
    """After a due date moved: an overdue assignment no longer past it is in progress again (or just
    assigned, if never started)."""
    no_longer_due = and_(
        SimulationAssignment.id.in_(ids),
        SimulationAssignment.status == AssignmentStatus.overdue,
        SimulationAssignment.due_date.is_(None) | (SimulationAssignment.due_date >= today()),
    )
    for started, status in ((True, AssignmentStatus.in_progress), (False, AssignmentStatus.assigned)):
        was = SimulationAssignment.started_at.is_not(None) if started else SimulationAssignment.started_at.is_(None)
        session.execute(update(SimulationAssignment).where(no_longer_due, was).values(status=status))
