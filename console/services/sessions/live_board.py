"""`/live`: the play sessions in progress the actor may see, as they are being played.

Each row: the player, organization, simulation and module, when it started, its last event (kind, a
short summary, when it arrived), the current value of each scoring dimension, how long since anything
arrived, and whether it is stuck (`stuck.is_stuck`, the rule of /sessions too). Scope is
`play_sessions.readable`: platform admins every session, enterprise admins their organization's,
studio creators those of the simulations they author.

A page draws the whole board once (`board`), then re-reads only the sessions a notification named
(`rows`): a session that ended, or that the actor may no longer see, comes back absent and leaves the
board. `change_filter` tells a page which notifications could concern its viewer at all, so a page
never re-reads (nor hears of) another organization's play.

Reads per call: the sessions through `idx_sessions_live` (partial: in progress), each one's newest
arrival through `idx_game_events_session` (one backward index step), and, for the scores, the events
that move them (decisions, score updates, completions), folded with the completion's own rule
(`ingest.dimension_values`). Summaries are cut on the server: a custom event's payload never crosses
the wire, only its size.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

from sqlalchemy import func, select, text
from sqlmodel import Session

from console import live
from console.auth import Actor, Permission
from console.errors import ValidationFailed
from console.live import ChangeKind, SessionChange, SessionMemo
from console.services import play_sessions, scoring
from console.services.ingest import dimension_values
from console.services.sessions import stuck
from models import Module, PlaySession
from models.base import utcnow
from models.enums import EventType, Platform, SessionStatus

MAX_ROWS = 500  # a board people watch; past that, /sessions (filters, paging) is the tool
SUMMARY_CHARS = 120


def require(actor: Actor) -> None:
    actor.require(Permission.view_live_sessions)


# ------------------------------------------------------------------------------------ notifications


@dataclass(frozen=True)
class ChangeFilter:
    """Which session changes could concern an actor's pages: the rule of `play_sessions.readable`,
    applied to a notification's ids. Generous where the ids cannot tell (a participant's own sessions
    are those of their organization here); a page re-reads through the services, which decide."""

    everything: bool = False
    organization_ids: frozenset[uuid.UUID | None] = frozenset()
    simulation_ids: frozenset[uuid.UUID] = frozenset()

    def __call__(self, change: SessionChange) -> bool:
        if change.kind is ChangeKind.rejected:
            return False  # about an API key, not a session
        return (
            self.everything
            or change.kind is ChangeKind.resync
            or change.organization_id in self.organization_ids
            or change.simulation_id in self.simulation_ids
        )


def change_filter(*, session: Session, actor: Actor) -> ChangeFilter:
    """What of the live notifications this actor may hear of (see `ChangeFilter`)."""
    if actor.can(Permission.manage_platform):
        return ChangeFilter(everything=True)
    organizations: set[uuid.UUID | None] = set()
    simulations: frozenset[uuid.UUID] = frozenset()
    if actor.can(Permission.manage_organization) and actor.organization_id is not None:
        organizations.add(actor.organization_id)
    if actor.can(Permission.author_simulations) and actor.user_id is not None:
        simulations = frozenset(
            session.scalars(text("SELECT id FROM simulations WHERE author_id = :me"), {"me": actor.user_id})
        )
    if actor.can(Permission.view_own_assignments):
        organizations.add(actor.organization_id)
    return ChangeFilter(organization_ids=frozenset(organizations), simulation_ids=simulations)


# ---------------------------------------------------------------------------------------------- rows


@dataclass(frozen=True)
class LastEvent:
    id: uuid.UUID
    type: EventType
    summary: str  # engine text, cut short: shown as text, never markup
    timestamp: datetime  # the engine's clock
    received_at: datetime  # ours


@dataclass(frozen=True)
class Score:
    key: str
    label: str
    value: float
    low: float
    high: float


@dataclass(frozen=True)
class LiveSession:
    id: uuid.UUID
    external_session_id: str | None
    player_name: str
    player_email: str
    organization_id: uuid.UUID | None
    organization_name: str | None
    simulation_id: uuid.UUID
    simulation_title: str
    module_id: uuid.UUID
    module_title: str
    platform: Platform | None
    started_at: datetime
    last_event: LastEvent | None
    last_activity_at: datetime  # the newest arrival, else the start: what "stuck" counts from
    scores: list[Score] = field(default_factory=list)
    stuck: bool = False
    can_abandon: bool = False
    is_test: bool = False  # a test key's session: shown with a "Test" badge


@dataclass(frozen=True)
class Board:
    sessions: list[LiveSession]
    read_at: datetime  # the server's clock when read: ages on the page count from here
    in_progress: int  # all the actor may see, even past MAX_ROWS
    stuck_after_minutes: int
    tests_in_progress: int = 0  # of in_progress, test sessions (counted apart: test play is no real figure)


# The sessions and each one's newest arrival (a LATERAL step back along idx_game_events_session). A
# custom event's data stays here: only its number of fields leaves the database.
_ROWS = """
    SELECT s.id, s.external_session_id, s.platform::text, s.started_at, s.organization_id,
           u.name, u.email, o.name, m.id, m.title, sim.id, sim.title,
           e.id, e.event_type::text, e.timestamp, e.received_at,
           left(e.event_data->>'decision_id', 60), left(e.event_data->>'choice_id', 60),
           left(e.event_data->>'milestone_id', 60), left(e.event_data->>'label', :chars),
           left(e.event_data->>'outcome', :chars),
           CASE WHEN jsonb_typeof(e.event_data->'scores') = 'object'
                THEN (SELECT string_agg(left(k, 50), ',' ORDER BY k)
                      FROM jsonb_object_keys(e.event_data->'scores') AS k) END,
           CASE WHEN jsonb_typeof(e.event_data->'impacts') = 'object'
                THEN (SELECT string_agg(left(k, 50), ',' ORDER BY k)
                      FROM jsonb_object_keys(e.event_data->'impacts') AS k) END,
           CASE WHEN e.event_type = 'custom' AND jsonb_typeof(e.event_data) = 'object'
                THEN (SELECT count(*) FROM jsonb_object_keys(e.event_data)) END,
           s.is_test
    FROM sessions s
    JOIN users u ON u.id = s.user_id
    JOIN modules m ON m.id = s.module_id
    JOIN simulations sim ON sim.id = m.simulation_id
    LEFT JOIN organizations o ON o.id = s.organization_id
    LEFT JOIN LATERAL (
        SELECT g.id, g.event_type, g.timestamp, g.received_at, g.event_data
        FROM game_events g WHERE g.session_id = s.id
        ORDER BY g.received_at DESC, g.timestamp DESC, g.id DESC LIMIT 1
    ) e ON true
    WHERE s.id = ANY(:ids)
"""

# The events that move scores, for the sessions on the board: only the numbers travel.
_SCORING_EVENTS = """
    SELECT session_id, event_type::text,
           CASE WHEN event_type = 'decision' THEN event_data->'impacts' END,
           CASE WHEN event_type <> 'decision' THEN event_data->'scores' END
    FROM game_events
    WHERE session_id = ANY(:ids) AND event_type IN ('decision', 'score_update', 'completion')
    ORDER BY session_id, timestamp, received_at, id
"""


def _visible_in_progress(session: Session, actor: Actor, *, only: Sequence[uuid.UUID] | None) -> list[uuid.UUID]:
    """The in-progress sessions the actor may see (newest first, at most MAX_ROWS), of `only` if given."""
    query = select(PlaySession.id).where(play_sessions.readable(actor), PlaySession.status == SessionStatus.in_progress)
    if only is not None:
        query = query.where(PlaySession.id.in_(list(only)))
    query = query.order_by(PlaySession.started_at.desc(), PlaySession.id.desc()).limit(MAX_ROWS)
    return list(session.scalars(query))


def _count_in_progress(session: Session, actor: Actor) -> tuple[int, int]:
    """All the in-progress sessions the actor may see, and how many of them are test sessions."""
    total, tests = session.execute(
        select(func.count(), func.count().filter(PlaySession.is_test))
        .select_from(PlaySession)
        .where(play_sessions.readable(actor), PlaySession.status == SessionStatus.in_progress)
    ).one()
    return total, tests


def _summary(
    kind: str,
    decision: str | None,
    choice: str | None,
    milestone: str | None,
    label: str | None,
    outcome: str | None,
    score_keys: str | None,
    impact_keys: str | None,
    custom_fields: int | None,
) -> str:
    """A short line saying what the event was, from the fields the engine sent (plain text)."""
    if kind == "decision":
        text_ = f"{label} — " if label else ""
        text_ += f"decision {decision or '?'} → {choice or '?'}"
        if impact_keys:
            text_ += f" (moves {impact_keys.replace(',', ', ')})"
    elif kind == "milestone":
        text_ = f"{label} — milestone {milestone or '?'}" if label else f"milestone {milestone or '?'}"
    elif kind == "score_update":
        text_ = f"scores set: {score_keys.replace(',', ', ')}" if score_keys else "scores set"
    elif kind == "completion":
        text_ = f"completed: {outcome}" if outcome else "completed"
    else:
        count = custom_fields or 0
        text_ = f"custom data ({count} field{'s' if count != 1 else ''})"
    return text_ if len(text_) <= SUMMARY_CHARS else text_[: SUMMARY_CHARS - 1] + "…"


def _scores(session: Session, ids: list[uuid.UUID], configs: dict[uuid.UUID, scoring.ScoringConfig | None],
            simulation_of: dict[uuid.UUID, uuid.UUID]) -> dict[uuid.UUID, list[Score]]:  # fmt: skip
    events: dict[uuid.UUID, list[tuple[str, dict]]] = {i: [] for i in ids}
    for session_id, kind, impacts, scores in session.execute(text(_SCORING_EVENTS), {"ids": ids}):
        data = {"impacts": impacts} if kind == "decision" else {"scores": scores}
        events[session_id].append((kind, data))
    out: dict[uuid.UUID, list[Score]] = {}
    for session_id in ids:
        config = configs.get(simulation_of[session_id])
        if config is None:
            out[session_id] = []
            continue
        try:
            values = dimension_values(config, events[session_id])
        except (TypeError, ValueError):  # a number the engine sent that is not one: show none, not a 500
            out[session_id] = []
            continue
        out[session_id] = [Score(d.key, d.label, round(values[d.key], 1), d.min, d.max) for d in config.dimensions]
    return out


def _configs(session: Session, simulation_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, scoring.ScoringConfig | None]:
    out: dict[uuid.UUID, scoring.ScoringConfig | None] = {}
    ids = list(set(simulation_ids))
    if not ids:
        return out
    for simulation_id, raw in session.execute(
        text("SELECT id, scoring_config FROM simulations WHERE id = ANY(:ids)"), {"ids": ids}
    ):
        try:
            out[simulation_id] = scoring.parse_config(raw) if raw else None
        except ValidationFailed:
            out[simulation_id] = None
    return out


def _shared_rows(session: Session, ids: list[uuid.UUID]) -> dict[uuid.UUID, LiveSession]:
    """What a row says that is the same for every viewer (not yet judged stuck or abandonable)."""
    if not ids:
        return {}
    rows = {row[0]: row for row in session.execute(text(_ROWS), {"ids": ids, "chars": SUMMARY_CHARS})}
    simulation_of = {session_id: row[10] for session_id, row in rows.items()}
    configs = _configs(session, simulation_of.values())
    scores = _scores(session, list(rows), configs, simulation_of)
    out = {}
    for sid, row in rows.items():
        (_, external, platform, started_at, organization_id, player_name, player_email, organization_name,
         module_id, module_title, simulation_id, simulation_title, event_id, kind, timestamp, received_at,
         *summary_fields, is_test) = row  # fmt: skip
        last = None
        if event_id is not None:
            last = LastEvent(event_id, EventType(kind), _summary(kind, *summary_fields), timestamp, received_at)
        out[sid] = LiveSession(
            id=sid,
            external_session_id=external,
            player_name=player_name,
            player_email=player_email,
            organization_id=organization_id,
            organization_name=organization_name,
            simulation_id=simulation_id,
            simulation_title=simulation_title,
            module_id=module_id,
            module_title=module_title,
            platform=Platform(platform) if platform else None,
            started_at=started_at,
            last_event=last,
            last_activity_at=received_at if received_at is not None else started_at,
            scores=scores.get(sid, []),
            is_test=is_test,
        )
    return out


def _read(
    session: Session, actor: Actor, ids: list[uuid.UUID], now: datetime, memo: SessionMemo | None
) -> list[LiveSession]:
    """The rows of these (visible) sessions, in this order. With a memo, what another board of the
    process read since the session last changed is used again (console/live/memo.py)."""
    if memo is None:
        shared = _shared_rows(session, ids)
    else:
        shared = memo.values(ids, lambda missing: _shared_rows(session, missing))
    return [
        replace(
            shared[session_id],
            stuck=stuck.is_stuck(SessionStatus.in_progress, shared[session_id].last_activity_at, now),
            can_abandon=_can_abandon(actor, shared[session_id].organization_id),
        )
        for session_id in ids
        if session_id in shared
    ]


def _can_abandon(actor: Actor, organization_id: uuid.UUID | None) -> bool:
    # The sessions rule (stuck.can_abandon) reads only the session's organization.
    return stuck.can_abandon(actor, PlaySession(organization_id=organization_id))


def board(*, session: Session, actor: Actor, memo: SessionMemo | None = None) -> Board:
    """Every in-progress session the actor may see, newest first (at most MAX_ROWS). Pages pass the
    process's `memo` of rows: shared reads, never shared reach (see `_read`)."""
    require(actor)
    now = utcnow()
    ids = _visible_in_progress(session, actor, only=None)
    sessions = _read(session, actor, ids, now, memo)
    if len(ids) < MAX_ROWS:
        total, tests = len(ids), sum(1 for play in sessions if play.is_test)
    else:
        total, tests = _count_in_progress(session, actor)
    return Board(
        sessions=sessions,
        read_at=now,
        in_progress=total,
        tests_in_progress=tests,
        stuck_after_minutes=int(stuck.stuck_after().total_seconds() // 60),
    )


def rows(
    *, session: Session, actor: Actor, session_ids: Sequence[uuid.UUID], memo: SessionMemo | None = None
) -> tuple[list[LiveSession], datetime]:
    """The board's rows for these sessions, as they are now: only those still in progress and in the
    actor's reach (the others have left the board). Returns them and the time they were read."""
    require(actor)
    now = utcnow()
    wanted = list(dict.fromkeys(session_ids))[:MAX_ROWS]
    return _read(session, actor, _visible_in_progress(session, actor, only=wanted), now, memo), now


def abandon(*, session: Session, actor: Actor, session_id: uuid.UUID, reason: str) -> PlaySession:
    """Mark a session abandoned from the board (the sessions rule, `stuck.abandon`: who may, why,
    audited), and tell every open page."""
    play = stuck.abandon(session=session, actor=actor, session_id=session_id, reason=reason)
    simulation_id = session.get(Module, play.module_id).simulation_id
    live.session_changed(
        session, SessionChange(play.id, play.organization_id, simulation_id, play.module_id, ChangeKind.abandoned)
    )
    return play
