"""One play session as staff read it (`/sessions/{id}`): the header, the timeline, each scoring
dimension over the session's time, the final scores against the pass mark, and the debrief with each
statement about a decision linked to the event(s) it rests on.

Everything is read in the actor's scope (`play_sessions.readable`): a session out of reach is
`NotFound`, like one that does not exist. What an engine sent (labels, ids, custom payloads) is
returned as data; the page shows it as text.

Cost at 5,000 events (docs/sessions.md): the timeline is a page (sorted on the engine's clock from
the session's index range); the chart's numbers are picked out of the events by PostgreSQL
(`jsonb_each` on the impacts and scores, so no event document crosses the wire) and folded here with
the completion's rule, then thinned to at most `MAX_POINTS` a dimension.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import TextClause, func, select, text, tuple_
from sqlmodel import Session

from console.auth import Actor
from console.errors import NotFound, ValidationFailed
from console.services import api_keys, play_sessions, scoring
from console.services.listing import ListQuery, Page, bounds
from console.services.sessions import debrief_links, listing, stuck, test_data
from models import ApiKey, GameEvent, Module, Organization, PlaySession, Simulation, User
from models.enums import EventType, Platform, SessionStatus

MAX_POINTS = 400  # per dimension on the chart: more than a chart's width shows


@dataclass
class Header:
    """Every column of the session (the seed's `sessions`), its module's build, the player and more."""

    id: uuid.UUID
    user_id: uuid.UUID
    module_id: uuid.UUID
    organization_id: uuid.UUID | None
    external_session_id: str | None
    platform: Platform | None
    launch_url: str | None
    status: SessionStatus
    started_at: datetime
    completed_at: datetime | None
    total_duration_seconds: int | None
    final_scores: dict | None
    debrief_generated_at: datetime | None
    player_name: str
    player_email: str
    organization_name: str | None
    simulation_id: uuid.UUID
    simulation_title: str
    module_title: str
    build_version: str | None
    module_platform: Platform | None
    event_count: int
    last_event_at: datetime | None
    duration_seconds: int | None
    stuck: bool
    can_abandon: bool
    abandoned_by: tuple[str, str, datetime] | None  # (who, why, when) when staff closed it
    is_test: bool = False  # started with a test key: counted nowhere, deletable (test_data)
    api_key_id: uuid.UUID | None = None  # the key that started it
    api_key_prefix: str | None = None  # that key's prefix, shown to those who may read the key
    can_delete: bool = False


@dataclass
class TimelineEvent:
    id: uuid.UUID
    position: int  # 1-based, in the timeline's order over the whole session
    type: EventType
    timestamp: datetime
    received_at: datetime
    at_seconds: float  # on the engine's clock, from the session's start
    data: dict


@dataclass
class Dimension:
    key: str
    label: str
    minimum: float
    maximum: float
    weight: float
    final: float | None


@dataclass
class ScoreChart:
    """Each dimension's value over the session's time (seconds from its start), as the completion
    computes it: mid-range at the start, moved by decisions' impacts (kept within the range), set by
    score updates and the completion."""

    dimensions: list[Dimension]
    series: dict[str, list[tuple[float, float]]]
    pass_mark: float | None
    total: float | None
    passed: bool | None
    percentile: float | None = None
    configured: bool = True


@dataclass
class Overview:
    header: Header
    timeline: Page[TimelineEvent]
    chart: ScoreChart
    debrief: list[debrief_links.Statement] = field(default_factory=list)
    positions: dict[uuid.UUID, int] = field(default_factory=dict)  # of the events the debrief links to


# --- reading one session ---------------------------------------------------------------------------


def get(*, session: Session, actor: Actor, session_id: uuid.UUID) -> PlaySession:
    """The session, if the actor may read it."""
    listing.require(actor)
    play = session.scalar(select(PlaySession).where(PlaySession.id == session_id, play_sessions.readable(actor)))
    if play is None:
        raise NotFound("Session not found.")
    return play


def _start(session: Session, play: PlaySession) -> datetime:
    """The session's start on the engine's clock: its started_at, or its first event when earlier (as
    the completion and the debrief count it)."""
    first = session.scalar(select(func.min(GameEvent.timestamp)).where(GameEvent.session_id == play.id))
    return min(play.started_at, first) if first is not None else play.started_at


def header(*, session: Session, actor: Actor, session_id: uuid.UUID, now: datetime | None = None) -> Header:
    play = get(session=session, actor=actor, session_id=session_id)
    return _header(session, actor, play, now or datetime.now(UTC))


def _header(session: Session, actor: Actor, play: PlaySession, now: datetime) -> Header:
    name, email, org_name, sim_id, sim_title, module_title, build, module_platform = session.execute(
        select(
            User.name,
            User.email,
            Organization.name,
            Simulation.id,
            Simulation.title,
            Module.title,
            Module.build_version,
            Module.platform,
        )
        .select_from(PlaySession)
        .join(User, User.id == PlaySession.user_id)
        .join(Module, Module.id == PlaySession.module_id)
        .join(Simulation, Simulation.id == Module.simulation_id)
        .outerjoin(Organization, Organization.id == PlaySession.organization_id)
        .where(PlaySession.id == play.id)
    ).one()
    count, last = session.execute(
        select(func.count(), func.max(GameEvent.received_at)).where(GameEvent.session_id == play.id)
    ).one()
    return Header(
        id=play.id,
        user_id=play.user_id,
        module_id=play.module_id,
        organization_id=play.organization_id,
        external_session_id=play.external_session_id,
        platform=play.platform,
        launch_url=play.launch_url,
        status=play.status,
        started_at=play.started_at,
        completed_at=play.completed_at,
        total_duration_seconds=play.total_duration_seconds,
        final_scores=play.final_scores,
        debrief_generated_at=play.debrief_generated_at,
        player_name=name,
        player_email=email,
        organization_name=org_name,
        simulation_id=sim_id,
        simulation_title=sim_title,
        module_title=module_title,
        build_version=build,
        module_platform=module_platform,
        event_count=count,
        last_event_at=last,
        duration_seconds=listing.duration_seconds(play, last, now),
        stuck=stuck.is_stuck(play.status, last or play.started_at, now),
        can_abandon=play.status == SessionStatus.in_progress and stuck.can_abandon(actor, play),
        abandoned_by=stuck.abandon_reason(session=session, play=play)
        if play.status == SessionStatus.abandoned
        else None,
        is_test=play.is_test,
        can_delete=play.is_test and test_data.can_delete(actor),
        api_key_id=play.api_key_id,
        api_key_prefix=session.scalar(
            select(ApiKey.key_prefix).where(ApiKey.id == play.api_key_id, api_keys.readable(actor))
        )
        if play.api_key_id is not None
        else None,
    )


# --- the timeline --------------------------------------------------------------------------------------

# The timeline's order: the engine's clock, then arrival, then the id (events an engine stamped alike).
ORDER = (GameEvent.timestamp, GameEvent.received_at, GameEvent.id)


def timeline(*, session: Session, actor: Actor, session_id: uuid.UUID, query: ListQuery) -> Page[TimelineEvent]:
    """A page of the session's events in time order (`query.offset`, `query.limit`)."""
    play = get(session=session, actor=actor, session_id=session_id)
    return _timeline(session, play, _start(session, play), query)


def _timeline(session: Session, play: PlaySession, started: datetime, query: ListQuery) -> Page[TimelineEvent]:
    offset, limit = bounds(query)
    total = session.scalar(select(func.count()).where(GameEvent.session_id == play.id)) or 0
    rows = session.scalars(
        select(GameEvent).where(GameEvent.session_id == play.id).order_by(*ORDER).offset(offset).limit(limit)
    ).all()
    return Page(
        rows=[
            TimelineEvent(
                id=e.id,
                position=offset + n + 1,
                type=e.event_type,
                timestamp=e.timestamp,
                received_at=e.received_at,
                at_seconds=(e.timestamp - started).total_seconds(),
                data=e.event_data or {},
            )
            for n, e in enumerate(rows)
        ],
        total=total,
        offset=offset,
        limit=limit,
    )


def position(*, session: Session, actor: Actor, session_id: uuid.UUID, event_id: uuid.UUID) -> int:
    """Where an event of the session stands in the timeline (1-based): which page shows it."""
    play = get(session=session, actor=actor, session_id=session_id)
    event = session.scalar(select(GameEvent).where(GameEvent.id == event_id, GameEvent.session_id == play.id))
    if event is None:
        raise NotFound("Event not found in this session.")
    before = session.scalar(
        select(func.count()).where(
            GameEvent.session_id == play.id,
            tuple_(*ORDER) < tuple_(event.timestamp, event.received_at, event.id),
        )
    )
    return (before or 0) + 1


# --- the chart and the final scores --------------------------------------------------------------------

# What moves the dimensions, one array per column over the session's events in time order: seconds
# from the start, whether the event adds (a decision's `impacts`) or sets (a score update's or the
# completion's `scores`), and each dimension's number in it (NULL when it does not name the dimension,
# or names it with anything but a number). One row of arrays: the numbers travel in a few packed
# values, not thousands of rows (62 → 20 ms for a session of 5,000 events).
_MOVES = """
    SELECT array_agg(extract(epoch FROM e.timestamp - :started)::float8 ORDER BY e.timestamp, e.received_at, e.id),
           array_agg(e.event_type = 'decision' ORDER BY e.timestamp, e.received_at, e.id){columns}
    FROM (
        SELECT g.timestamp, g.received_at, g.id, g.event_type,
               CASE WHEN g.event_type = 'decision' THEN g.event_data -> 'impacts'
                    ELSE g.event_data -> 'scores' END AS src
        FROM game_events AS g
        WHERE g.session_id = :sid AND g.event_type IN ('decision', 'score_update', 'completion')
    ) AS e
"""
_COLUMN = (
    ",\n           array_agg(CASE WHEN jsonb_typeof(e.src -> :k{n}) = 'number' THEN (e.src ->> :k{n})::float8 END "
    "ORDER BY e.timestamp, e.received_at, e.id)"
)


def _moves(keys: list[str]) -> TextClause:
    """The statement for these dimensions (their keys are bound as values, never written into it)."""
    return text(_MOVES.format(columns="".join(_COLUMN.format(n=n) for n in range(len(keys)))))


def _config(session: Session, play: PlaySession) -> scoring.ScoringConfig | None:
    raw = session.scalar(
        select(Simulation.scoring_config)
        .join(Module, Module.simulation_id == Simulation.id)
        .where(Module.id == play.module_id)
    )
    try:
        return scoring.parse_config(raw)
    except ValidationFailed:
        return None


def score_chart(*, session: Session, actor: Actor, session_id: uuid.UUID) -> ScoreChart:
    play = get(session=session, actor=actor, session_id=session_id)
    return _chart(session, play, _start(session, play))


def _chart(session: Session, play: PlaySession, started: datetime) -> ScoreChart:
    config = _config(session, play)
    finals = play.final_scores or {}
    if config is None:
        return ScoreChart([], {}, None, _number(finals.get("total")), None, _number(finals.get("percentile")), False)
    bounds_ = {d.key: (d.min, d.max) for d in config.dimensions}
    values = {key: (low + high) / 2 for key, (low, high) in bounds_.items()}
    series: dict[str, list[tuple[float, float]]] = {key: [(0.0, value)] for key, value in values.items()}
    keys = list(bounds_)
    times, adds, *numbers = session.execute(
        _moves(keys), {"started": started, "sid": play.id, **{f"k{n}": key for n, key in enumerate(keys)}}
    ).one()
    for key, amounts in zip(keys, numbers, strict=True):
        low, high = bounds_[key]
        value, points = values[key], series[key]
        for at, add, amount in zip(times or (), adds or (), amounts or (), strict=True):
            if amount is None:
                continue
            if add:  # the completion's rule (ingest.completion.dimension_values), written out: this runs per event
                value += amount
                value = low if value < low else high if value > high else value
            else:
                value = amount
            points.append((at, value))
    # Each line runs to the session's last move, so a dimension nothing touched is a flat line, not a dot.
    end = max((float(at) for at in times or ()), default=0.0)
    for points in series.values():
        if points[-1][0] < end:
            points.append((end, points[-1][1]))
    total = _number(finals.get("total"))
    return ScoreChart(
        dimensions=[
            Dimension(d.key, d.label, d.min, d.max, d.weight, _number(finals.get(d.key))) for d in config.dimensions
        ],
        series={key: thin(points, MAX_POINTS) for key, points in series.items()},
        pass_mark=config.pass_mark,
        total=total,
        passed=None if total is None else total >= config.pass_mark,
        percentile=_number(finals.get("percentile")),
    )


def thin(points: list[tuple[float, float]], most: int) -> list[tuple[float, float]]:
    """At most `most` points of a step series: the last value in each of `most - 1` equal slices of
    time, plus the very first and the very last point (so the line starts and ends where it should)."""
    if len(points) <= most:
        return points
    start, end = points[0][0], points[-1][0]
    width = (end - start) / (most - 2) or 1.0
    kept: dict[int, tuple[float, float]] = {}
    for point in points[1:-1]:
        kept[int((point[0] - start) / width)] = point
    return [points[0], *kept.values(), points[-1]]


def _number(value: object) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


# --- the whole page ----------------------------------------------------------------------------------


def overview(
    *, session: Session, actor: Actor, session_id: uuid.UUID, timeline_query: ListQuery, now: datetime | None = None
) -> Overview:
    """Everything the session's page shows, in one unit of work (its refresh reads it again)."""
    play = get(session=session, actor=actor, session_id=session_id)
    started = _start(session, play)
    statements = debrief_links.statements(session, play, started)
    return Overview(
        header=_header(session, actor, play, now or datetime.now(UTC)),
        timeline=_timeline(session, play, started, timeline_query),
        chart=_chart(session, play, started),
        debrief=statements,
        positions=_positions(session, play, [i for s in statements for i in s.event_ids]),
    )


def _positions(session: Session, play: PlaySession, event_ids: list[uuid.UUID]) -> dict[uuid.UUID, int]:
    """Where each of these events stands in the timeline (1-based), in one pass over the session."""
    if not event_ids:
        return {}
    numbered = (
        select(GameEvent.id, func.row_number().over(order_by=ORDER).label("position"))
        .where(GameEvent.session_id == play.id)
        .subquery()
    )
    found = session.execute(select(numbered.c.id, numbered.c.position).where(numbered.c.id.in_(set(event_ids))))
    return {event_id: int(position) for event_id, position in found}
