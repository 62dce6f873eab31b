"""Reports on an organization's assignments (`/reports`): the figures behind each chart.

Every figure follows the same filters as the assignments list (`progress.conditions`: organization,
simulation, person, status as of today, department, due window, search) in the viewer's scope
(`progress.readable`): enterprise admins see their organization's, platform admins any — or one,
with the organization filter. An enterprise admin naming another organization gets `NotFound`, as
everywhere else; participants are refused (`PermissionDenied`).

- `completion_by_week` — completed assignments per week (UTC weeks starting Monday), gaps filled;
- `funnel` — per simulation: assigned → started → completed → passed;
- `score_distribution` — a histogram per scoring dimension (and the total) of the **counted
  sessions** (below), for one simulation: dimensions are each simulation's own, so without a
  simulation filter there is none (mixing "financial" of two simulations would mean nothing);
- `average_by_department` — the mean score of completed assignments (their fixed `score`);
- `overdue_by_department` — overdue (as of today) and open assignments.

Counted sessions (`counted_sessions`, shared with the results export so the export lists exactly
what the histogram counts): every *completed* play session of a module of the simulation whose
player holds a filtered assignment of that simulation, each once however many assignments match
(a re-assigned person has two), replays included — the distribution shows how these people scored
in every play they finished. Only sessions played in the assignment's organization belong to it, as
for the status rules: a session another organization paid for stays that organization's record, and
play as an individual (before joining) stays the person's own.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import ColumnElement, Float, Select, String, and_, case, column, func, null, or_, select, tuple_, values
from sqlmodel import Session

from console.auth import Actor, Permission
from console.errors import NotFound, ValidationFailed
from console.services import scoring
from console.services.assignments import progress
from console.services.assignments import status as rules
from console.services.listing import ListQuery
from models import Module, Organization, OrgMembership, PlaySession, Simulation, SimulationAssignment
from models.enums import AssignmentStatus, SessionStatus

BINS = 10
MAX_WEEKS = 156  # three years of weeks: an older start is cut (the numbers say from when)
ORG_NOT_FOUND = "Organization not found."
NO_DEPARTMENT_LABEL = "No department"


def check_scope(actor: Actor, query: ListQuery) -> None:
    """Refuse anyone who does not follow assignments, and an enterprise admin's tampered organization
    filter (another organization is "not found", never an empty report that hints it exists)."""
    actor.require(Permission.manage_organization)
    wanted = query.uuid("organization_id")
    if wanted is not None and not actor.can(Permission.manage_platform) and wanted != actor.organization_id:
        raise NotFound(ORG_NOT_FOUND)


def _filtered(statement: Select, actor: Actor, query: ListQuery, on: date | None, *, person: bool = False) -> Select:
    check_scope(actor, query)
    return progress.filtered(statement, actor, query, on=on, person=person)


# --- completion over time ----------------------------------------------------------------------------


@dataclass(frozen=True)
class WeekCount:
    week: date  # the Monday (UTC) the week starts
    completed: int


def completion_by_week(*, session: Session, actor: Actor, query: ListQuery, on: date | None = None) -> list[WeekCount]:
    """Completed assignments per week, from the first week with one to the last (weeks without any
    included, as zero): a steady line should look steady."""
    week = func.date_trunc("week", func.timezone("UTC", SimulationAssignment.completed_at))
    rows = session.execute(
        _filtered(select(week, func.count()).select_from(SimulationAssignment), actor, query, on)
        .where(
            SimulationAssignment.status == AssignmentStatus.completed,
            SimulationAssignment.completed_at.is_not(None),
        )
        .group_by(week)
        .order_by(week)
    ).all()
    if not rows:
        return []
    counts = {when.date(): n for when, n in rows}
    first, last = min(counts), max(counts)
    first = max(first, last - timedelta(weeks=MAX_WEEKS - 1))
    weeks, day = [], first
    while day <= last:
        weeks.append(WeekCount(day, counts.get(day, 0)))
        day += timedelta(weeks=1)
    return weeks


# --- the funnel ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FunnelRow:
    simulation_id: uuid.UUID
    title: str
    assigned: int
    started: int
    completed: int
    passed: int


def funnel(*, session: Session, actor: Actor, query: ListQuery, on: date | None = None) -> list[FunnelRow]:
    """Per simulation, how many filtered assignments were made, started, completed and passed; the most
    assigned first. Started: a counted session has started (an assignment completed by earlier play
    counts as started too)."""
    started = or_(
        SimulationAssignment.started_at.is_not(None),
        SimulationAssignment.status.in_([AssignmentStatus.in_progress, AssignmentStatus.completed]),
    )
    assigned = func.count()
    rows = session.execute(
        _filtered(
            select(
                Simulation.id,
                Simulation.title,
                assigned,
                func.count().filter(started),
                func.count().filter(SimulationAssignment.status == AssignmentStatus.completed),
                func.count().filter(SimulationAssignment.passed.is_(True)),
            )
            .select_from(SimulationAssignment)
            .join(Simulation, Simulation.id == SimulationAssignment.simulation_id),
            actor,
            query,
            on,
        )
        .group_by(Simulation.id, Simulation.title)
        .order_by(assigned.desc(), Simulation.title, Simulation.id)
    ).all()
    return [FunnelRow(*row) for row in rows]


# --- score distribution ----------------------------------------------------------------------------


def counted_sessions(actor: Actor, query: ListQuery, *, on: date | None = None):  # noqa: ANN201 — a clause
    """The WHERE that makes a completed PlaySession (joined to its Module) a counted session: its player
    holds a filtered assignment of its simulation, and it was played in that assignment's organization
    (play elsewhere, or as an individual, is not this organization's: docs/assignments.md).
    For statements over PlaySession and Module that alias any User, Simulation or OrgMembership they read.
    """
    held = (
        _filtered(select(SimulationAssignment.id), actor, query, on)
        .where(
            SimulationAssignment.assigned_to_user_id == PlaySession.user_id,
            SimulationAssignment.simulation_id == Module.simulation_id,
            PlaySession.organization_id == SimulationAssignment.organization_id,
        )
        .correlate(PlaySession, Module)
    )
    # Test sessions are no one's results (play_sessions.real; also what the partial index holds).
    return and_(PlaySession.status == SessionStatus.completed, ~PlaySession.is_test, held.exists())


def _counted_scores(actor: Actor, query: ListQuery, on: date | None, simulation_id: uuid.UUID) -> Select:
    """The final scores of the counted sessions of one simulation, read the way that stays cheap.

    Over a period (a month's assignments: a few hundred holders), each session of the simulation's
    modules is checked against the holders by index (`counted_sessions`), so the cost follows the
    period, not the years of history. Over all time the holders are many: they are hashed once (each
    player and organization once) and the modules' completed sessions joined to them, all from one
    index (idx_sessions_scores). Asking "does this session's player hold one?" per session made
    PostgreSQL read every session of every holder: 160 ms at 1M events, against ~15 ms joined.
    """
    statement = select(PlaySession.final_scores).join(Module, Module.id == PlaySession.module_id)
    period = query.text("assigned")
    if period and period != "all":
        return statement.where(Module.simulation_id == simulation_id, counted_sessions(actor, query, on=on))
    holders = (
        _filtered(
            select(SimulationAssignment.assigned_to_user_id, SimulationAssignment.organization_id),
            actor,
            query,
            on,
        )
        .where(SimulationAssignment.simulation_id == simulation_id)
        .distinct()
        .cte("holders")
        .prefix_with("MATERIALIZED")
    )
    return statement.join(
        holders,
        and_(
            holders.c.assigned_to_user_id == PlaySession.user_id,
            holders.c.organization_id == PlaySession.organization_id,
        ),
    ).where(
        Module.simulation_id == simulation_id,
        PlaySession.status == SessionStatus.completed,
        ~PlaySession.is_test,  # as counted_sessions: a test session is nobody's result
    )


def _number(raw, scores, key):  # noqa: ANN001, ANN202 — SQL expressions
    """A final score by its key as a number; NULL when the session holds none, or not a number."""
    return case((func.jsonb_typeof(raw) == "number", func.jsonb_extract_path_text(scores, key).cast(Float)))


@dataclass(frozen=True)
class Bin:
    low: float
    high: float
    sessions: int


@dataclass(frozen=True)
class DimensionDistribution:
    key: str
    label: str
    low: float
    high: float
    sessions: int
    mean: float | None
    bins: list[Bin]


@dataclass
class Distribution:
    simulation_id: uuid.UUID
    simulation_title: str
    configured: bool  # False: the simulation's scoring config is missing or invalid
    sessions: int = 0  # counted sessions
    dimensions: list[DimensionDistribution] = field(default_factory=list)


def score_distribution(
    *, session: Session, actor: Actor, query: ListQuery, on: date | None = None
) -> Distribution | None:
    """Histograms ({BINS} equal bins from each dimension's min to max; the total 0–100) of the counted
    sessions' final scores, for the simulation of the filter; None without a simulation filter."""
    check_scope(actor, query)  # first, whatever else happens
    simulation_id = query.uuid("simulation_id")
    if simulation_id is None:
        return None
    found = session.execute(
        select(Simulation.title, Simulation.scoring_config).where(Simulation.id == simulation_id)
    ).first()
    if found is None:
        raise ValidationFailed("Simulation not found.", details={"simulation_id": "not found"})
    title, raw_config = found
    try:
        config = scoring.parse_config(raw_config)
    except ValidationFailed:
        return Distribution(simulation_id, title, configured=False)
    dims = [(d.key, d.label, float(d.min), float(d.max)) for d in config.dimensions] + [("total", "Total", 0.0, 100.0)]
    wanted = (
        values(column("key", String), column("low", Float), column("high", Float), name="dims")
        .data([(key, low, high) for key, _, low, high in dims])
        .alias("dims")
    )
    # One statement: the counted sessions' scores read once (the CTE), each dimension's value taken
    # out of them once (the second CTE), then every dimension's bins, each dimension's count and mean
    # (grouping sets), and the number of sessions (`key` NULL).
    scores = _counted_scores(actor, query, on, simulation_id).cte("counted")
    raw = func.jsonb_extract_path(scores.c.final_scores, wanted.c.key)
    taken = (
        select(wanted.c.key, wanted.c.low, wanted.c.high, _number(raw, scores.c.final_scores, wanted.c.key).label("v"))
        .select_from(scores)
        .join(wanted, wanted.c.key.is_not(None))
        .cte("taken")
        .prefix_with("MATERIALIZED")  # not folded into the query below, which names the value 3 times
    )
    bucket = func.least(func.greatest(func.width_bucket(taken.c.v, taken.c.low, taken.c.high, BINS), 1), BINS)
    figures = (
        select(taken.c.key, bucket.label("bin"), func.count(), func.avg(taken.c.v))
        .where(taken.c.v.is_not(None))
        .group_by(func.grouping_sets(tuple_(taken.c.key, bucket), tuple_(taken.c.key)))
    )
    everyone = select(null(), null(), func.count(), null()).select_from(scores)
    counts: dict[tuple[str, int], int] = {}
    totals: dict[str, tuple[int, float | None]] = {}
    sessions = 0
    for key, bin_, n, mean in session.execute(figures.union_all(everyone)):
        if key is None:
            sessions = n
        elif bin_ is None:
            totals[key] = (n, mean)
        else:
            counts[(key, bin_)] = n
    result = Distribution(simulation_id, title, configured=True, sessions=sessions)
    for key, label, low, high in dims:
        width = (high - low) / BINS
        n, mean = totals.get(key, (0, None))
        result.dimensions.append(
            DimensionDistribution(
                key=key,
                label=label,
                low=low,
                high=high,
                sessions=n,
                mean=round(mean, 1) if mean is not None else None,
                bins=[
                    Bin(round(low + i * width, 2), round(low + (i + 1) * width, 2), counts.get((key, i + 1), 0))
                    for i in range(BINS)
                ],
            )
        )
    return result


# --- by department ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class DepartmentFigure:
    organization: str
    department: str | None
    assignments: int  # the department's filtered assignments the figure is taken over
    value: float  # the mean score, or the overdue count


def _by_department(query: ListQuery) -> tuple[ColumnElement, bool]:
    """The assigned person's department in the assignment's organization (NULL: none, or no longer a
    member), and whether the statement must join the memberships for it. Over a period (a month's
    assignments, a few thousand) each is looked up through the membership index, so the report costs
    the same in an organization of 1,000 people or of 100,000; over all time, the organization's
    memberships are joined at once (fewer than its assignments)."""
    period = query.text("assigned")
    if period and period != "all":
        lookup = (
            select(OrgMembership.department)
            .where(
                OrgMembership.user_id == SimulationAssignment.assigned_to_user_id,
                OrgMembership.organization_id == SimulationAssignment.organization_id,
            )
            .correlate(SimulationAssignment)
            .scalar_subquery()
        )
        return lookup.label("department"), False
    return OrgMembership.department, True


def average_by_department(
    *, session: Session, actor: Actor, query: ListQuery, on: date | None = None
) -> list[DepartmentFigure]:
    """The mean score of the completed, scored assignments per department (their organization's,
    for platform admins looking at several), highest first; `assignments` = how many it averages."""
    mean = func.avg(SimulationAssignment.score)
    department, joined = _by_department(query)
    rows = session.execute(
        _filtered(
            select(Organization.name, department, func.count(), mean)
            .select_from(SimulationAssignment)
            .join(Organization, Organization.id == SimulationAssignment.organization_id),
            actor,
            query,
            on,
            person=joined,
        )
        .where(
            SimulationAssignment.status == AssignmentStatus.completed,
            SimulationAssignment.score.is_not(None),
        )
        .group_by(Organization.name, department)
        .order_by(mean.desc(), Organization.name, department.nulls_last())
    ).all()
    return [DepartmentFigure(org, dept, n, round(float(avg), 1)) for org, dept, n, avg in rows]


def overdue_by_department(
    *, session: Session, actor: Actor, query: ListQuery, on: date | None = None
) -> list[DepartmentFigure]:
    """Per department with open assignments: how many are overdue as of today (`value`) out of the
    open ones (`assignments`); the most overdue first."""
    on = on or rules.today()
    overdue = func.count().filter(rules.status_now(on) == AssignmentStatus.overdue)
    department, joined = _by_department(query)
    rows = session.execute(
        _filtered(
            select(Organization.name, department, func.count(), overdue)
            .select_from(SimulationAssignment)
            .join(Organization, Organization.id == SimulationAssignment.organization_id),
            actor,
            query,
            on,
            person=joined,
        )
        .where(SimulationAssignment.status != AssignmentStatus.completed)
        .group_by(Organization.name, department)
        .order_by(overdue.desc(), Organization.name, department.nulls_last())
    ).all()
    return [DepartmentFigure(org, dept, n, int(late)) for org, dept, n, late in rows]


def department_label(figure: DepartmentFigure, *, with_organization: bool) -> str:
    """How a department is named on a chart: with its organization when several are shown."""
    name = figure.department or NO_DEPARTMENT_LABEL
    return f"{figure.organization} · {name}" if with_organization else name


# --- the whole report ------------------------------------------------------------------------------


@dataclass
class Report:
    total: int  # filtered assignments
    weeks: list[WeekCount]
    funnel: list[FunnelRow]
    distribution: Distribution | None
    average_by_department: list[DepartmentFigure]
    overdue_by_department: list[DepartmentFigure]
    organizations: int  # organizations among the filtered assignments (labels name them when > 1)
    as_of: date
    generated_at: datetime


def build(*, session: Session, actor: Actor, query: ListQuery, on: date | None = None) -> Report:
    """Every figure of the reports page, for the same filters and the same day."""
    on = on or rules.today()
    total, organizations = session.execute(
        _filtered(
            select(func.count(), func.count(SimulationAssignment.organization_id.distinct())).select_from(
                SimulationAssignment
            ),
            actor,
            query,
            on,
        )
    ).one()
    kwargs = {"session": session, "actor": actor, "query": query, "on": on}
    return Report(
        total=total,
        weeks=completion_by_week(**kwargs),
        funnel=funnel(**kwargs),
        distribution=score_distribution(**kwargs),
        average_by_department=average_by_department(**kwargs),
        overdue_by_department=overdue_by_department(**kwargs),
        organizations=organizations,
        as_of=on,
        generated_at=datetime.now(UTC),
    )


__all__ = [
    "BINS",
    "Bin",
    "DepartmentFigure",
    "DimensionDistribution",
    "Distribution",
    "FunnelRow",
    "Report",
    "WeekCount",
    "average_by_department",
    "build",
    "check_scope",
    "completion_by_week",
    "counted_sessions",
    "department_label",
    "funnel",
    "overdue_by_department",
    "score_distribution",
]
