"""`/sessions`: every play session the actor may read, filtered, sorted and paged in SQL.

Scope is `play_sessions.readable`: platform admins every session, enterprise admins their
organization's, studio creators those of the simulations they author (participants read their own
through `/my`, not here).

Filters (`ListQuery.filters`, all optional): `organization_id`, `simulation_id`, `module_id`, `status`
(a SessionStatus), `platform` (a Platform), `from` / `to` (UTC days of the start, inclusive), `stuck`
(1: in progress with no event for `SIMVADO_STUCK_AFTER_MINUTES`), `kind` (`real`, the default: sessions
of live keys; `test`: sessions of test keys; `all`). Search: the player's name or email,
or a session's exact external id.

At 100,000 sessions (docs/sessions.md has the plans): a page is chosen on `sessions` alone — its
filters, its order and OFFSET on the table's own indexes, joining a table only when the order names
it (player, organization, simulation, module) — and only the page's rows are then read with their
player, organization, module and last event. So the last page walks index entries, not 100,000 joins.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum

from sqlalchemy import ColumnElement, Select, func, or_, select
from sqlmodel import Session

from console.auth import Actor, Permission
from console.services import play_sessions
from console.services.listing import ListQuery, Page, lowered_search_clause, paged, search_clause
from console.services.sessions import stuck
from models import Module, Organization, PlaySession, Simulation, User
from models.enums import Platform, SessionStatus, SimulationStatus

PICKED = 20  # choices a filter offers at a time: type to find any other
FILTERS = ("organization_id", "simulation_id", "module_id", "status", "platform", "from", "to", "stuck", "kind")


class SessionKind(StrEnum):
    """Which sessions the list shows: real ones by default (test sessions count nowhere else either)."""

    real = "real"
    test = "test"
    all = "all"


def require(actor: Actor) -> None:
    actor.require(Permission.view_sessions)


@dataclass
class SessionRow:
    id: uuid.UUID
    external_session_id: str | None
    user_id: uuid.UUID
    player_name: str
    player_email: str
    organization_id: uuid.UUID | None
    organization_name: str | None
    simulation_id: uuid.UUID
    simulation_title: str
    module_id: uuid.UUID
    module_title: str
    platform: Platform | None
    status: SessionStatus
    started_at: datetime
    completed_at: datetime | None
    last_event_at: datetime | None
    duration_seconds: int | None  # completed: the engine's; in progress: so far; abandoned: to the last event
    total_score: float | None
    stuck: bool
    is_test: bool = False


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def conditions(session: Session, actor: Actor, query: ListQuery, *, now: datetime) -> list[ColumnElement[bool]]:
    """The WHERE of a view of the list, on `sessions` alone (the list, its count and its export)."""
    where = [play_sessions.readable(actor)]
    kind = query.choice("kind", SessionKind) or SessionKind.real
    if kind is SessionKind.real:
        where.append(play_sessions.real())
    elif kind is SessionKind.test:
        where.append(PlaySession.is_test)
    if organization_id := query.uuid("organization_id"):
        where.append(PlaySession.organization_id == organization_id)
    if simulation_id := query.uuid("simulation_id"):
        where.append(PlaySession.module_id.in_(select(Module.id).where(Module.simulation_id == simulation_id)))
    if module_id := query.uuid("module_id"):
        where.append(PlaySession.module_id == module_id)
    if status := query.choice("status", SessionStatus):
        where.append(PlaySession.status == status)
    if platform := query.choice("platform", Platform):
        where.append(PlaySession.platform == platform)
    if since := query.date("from"):
        where.append(PlaySession.started_at >= _day_start(since))
    if until := query.date("to"):
        where.append(PlaySession.started_at < _day_start(until) + timedelta(days=1))
    if query.flag("stuck", default=False):
        where.append(stuck.stuck_condition(now))
    term = (query.search or "").replace("\x00", "").strip()
    if (by_player := lowered_search_clause(term, User.search_text)) is not None:
        where.append(_searched(session, by_player, term))
    return where


SEARCH_PLAYERS = 2_000  # players a search names by id; a broader search stays a subquery


def _searched(session: Session, by_player: ColumnElement[bool], term: str) -> ColumnElement[bool]:
    """Sessions of the players the search matches, or the one with that external id.

    The players are looked up first, so PostgreSQL sees their ids: a rare name becomes a few probes of
    the player index (OR the external id's unique index), where a subquery OR'd with the external id
    made it walk every session of the newest-first order to find none (236 ms at 100,000 sessions). A
    search matching more players than SEARCH_PLAYERS stays a subquery: its sessions are everywhere, so
    the first page is found at once anyway."""
    players = session.scalars(select(User.id).where(by_player).limit(SEARCH_PLAYERS + 1)).all()
    matched = (
        PlaySession.user_id.in_(select(User.id).where(by_player))
        if len(players) > SEARCH_PLAYERS
        else (PlaySession.user_id.in_(players) if players else None)
    )
    by_external = PlaySession.external_session_id == term[:255]
    return by_external if matched is None else or_(matched, by_external)


# The list's orders: columns of `sessions`, or of the one table the order joins (`_JOINS`).
SORTABLE = {
    "started_at": PlaySession.started_at,
    "completed_at": PlaySession.completed_at,
    "status": PlaySession.status,
    "platform": PlaySession.platform,
    "duration": PlaySession.total_duration_seconds,
    "total_score": PlaySession.total_score,
    "player": User.name,
    "organization": Organization.name,
    "module": Module.title,
    "simulation": Simulation.title,
}
# Orders on a column that is never NULL in the page's statement (inner joins only): ordered without
# a NULLS clause, so `started_at` (the default) reads straight from its index in either direction.
NEVER_NULL = ("started_at", "status", "player", "module", "simulation")
_JOINS = {
    "player": lambda s: s.join(User, User.id == PlaySession.user_id),
    "organization": lambda s: s.outerjoin(Organization, Organization.id == PlaySession.organization_id),
    "module": lambda s: s.join(Module, Module.id == PlaySession.module_id),
    "simulation": lambda s: s.join(Module, Module.id == PlaySession.module_id).join(
        Simulation, Simulation.id == Module.simulation_id
    ),
}


def page_statement(where: list[ColumnElement[bool]], query: ListQuery) -> Select:
    """The ids of the view (`where`: its `conditions`), joined only to what its order needs (unordered:
    `paged` orders it)."""
    statement = select(PlaySession.id).where(*where)
    sort = query.sort if query.sort in SORTABLE else "started_at"
    return _JOINS[sort](statement) if sort in _JOINS else statement


def list_(*, session: Session, actor: Actor, query: ListQuery, now: datetime | None = None) -> Page[SessionRow]:
    """A page of sessions, newest start first unless sorted otherwise."""
    require(actor)
    now = now or datetime.now(UTC)
    where = conditions(session, actor, query, now=now)
    found = paged(
        session,
        page_statement(where, query),
        query,
        sortable=SORTABLE,
        default_sort="started_at",
        default_descending=True,
        tiebreak=PlaySession.id,
        count=select(func.count()).select_from(PlaySession).where(*where),
        never_null=NEVER_NULL,
    )
    return Page(rows=rows_for(session, found.rows, now=now), total=found.total, offset=found.offset, limit=found.limit)


def rows_for(session: Session, ids: list[uuid.UUID], *, now: datetime) -> list[SessionRow]:
    """The list's rows for these sessions (already in scope), in the given order."""
    if not ids:
        return []
    last = stuck.last_event_at().label("last_event_at")
    found = session.execute(
        select(
            PlaySession,
            User.name,
            User.email,
            Organization.name,
            Module.title,
            Simulation.id,
            Simulation.title,
            last,
        )
        .join(User, User.id == PlaySession.user_id)
        .join(Module, Module.id == PlaySession.module_id)
        .join(Simulation, Simulation.id == Module.simulation_id)
        .outerjoin(Organization, Organization.id == PlaySession.organization_id)
        .where(PlaySession.id.in_(ids))
    ).all()
    by_id = {row[0].id: row for row in found}
    return [_row(*by_id[i], now=now) for i in ids if i in by_id]


def duration_seconds(play: PlaySession, last_event_at: datetime | None, now: datetime) -> int | None:
    """How long the session ran: the engine's duration once completed; so far while in progress; up to
    its last event once abandoned."""
    if play.status == SessionStatus.completed:
        return play.total_duration_seconds
    end = now if play.status == SessionStatus.in_progress else (last_event_at or play.started_at)
    return max(0, int((end - play.started_at).total_seconds()))


def _row(
    play: PlaySession,
    name: str,
    email: str,
    org_name: str | None,
    module_title: str,
    simulation_id: uuid.UUID,
    simulation_title: str,
    last_event_at: datetime | None,
    *,
    now: datetime,
) -> SessionRow:
    return SessionRow(
        id=play.id,
        external_session_id=play.external_session_id,
        user_id=play.user_id,
        player_name=name,
        player_email=email,
        organization_id=play.organization_id,
        organization_name=org_name,
        simulation_id=simulation_id,
        simulation_title=simulation_title,
        module_id=play.module_id,
        module_title=module_title,
        platform=play.platform,
        status=play.status,
        started_at=play.started_at,
        completed_at=play.completed_at,
        last_event_at=last_event_at,
        duration_seconds=duration_seconds(play, last_event_at, now),
        total_score=play.total_score,
        stuck=stuck.is_stuck(play.status, last_event_at or play.started_at, now),
        is_test=play.is_test,
    )


# --- the filters' choices ------------------------------------------------------------------------------


def organization_options(*, session: Session, actor: Actor, search: str = "") -> dict[str, str]:
    """Organizations to filter by, as {id: name}: every one for platform admins; creators' sessions
    come from any organization, but creators are not told which organizations exist, so only the
    ones their sessions name; enterprise admins need no such filter (their own)."""
    require(actor)
    conditions_ = []
    if not actor.can(Permission.manage_platform):
        if not actor.can(Permission.author_simulations):
            return {}
        played = select(PlaySession.organization_id).where(play_sessions.readable(actor))
        conditions_.append(Organization.id.in_(played))
    if (by_name := search_clause(search, Organization.name)) is not None:
        conditions_.append(by_name)
    rows = session.execute(
        select(Organization.id, Organization.name).where(*conditions_).order_by(Organization.name).limit(PICKED)
    )
    return {str(i): name for i, name in rows}


def _simulations_in_reach(actor: Actor) -> ColumnElement[bool]:
    """Simulations whose sessions the actor may have: platform admins all, creators their own,
    enterprise admins those an organization can play or played (published or archived)."""
    if actor.can(Permission.manage_platform):
        return Simulation.id.is_not(None)
    if actor.can(Permission.author_simulations) and actor.user_id is not None:
        return Simulation.author_id == actor.user_id
    return Simulation.status.in_([SimulationStatus.published, SimulationStatus.archived])


def simulation_options(*, session: Session, actor: Actor, search: str = "") -> dict[str, str]:
    """Simulations to filter by, as {id: title}: the first few whose title contains `search`."""
    require(actor)
    where = [_simulations_in_reach(actor)]
    if (by_title := search_clause(search, Simulation.title)) is not None:
        where.append(by_title)
    rows = session.execute(
        select(Simulation.id, Simulation.title).where(*where).order_by(Simulation.title).limit(PICKED)
    )
    return {str(i): title for i, title in rows}


def module_options(
    *, session: Session, actor: Actor, search: str = "", simulation_id: uuid.UUID | None = None
) -> dict[str, str]:
    """Modules to filter by, as {id: "Simulation — Module"} (of one simulation when given)."""
    require(actor)
    where = [_simulations_in_reach(actor)]
    if simulation_id is not None:
        where.append(Module.simulation_id == simulation_id)
    if (by_title := search_clause(search, Module.title, Simulation.title)) is not None:
        where.append(by_title)
    rows = session.execute(
        select(Module.id, Simulation.title, Module.title)
        .join(Simulation, Simulation.id == Module.simulation_id)
        .where(*where)
        .order_by(Simulation.title, Module.sort_order, Module.title)
        .limit(PICKED)
    )
    return {str(i): f"{sim} — {title}" for i, sim, title in rows}


def option_label(*, session: Session, actor: Actor, name: str, value: str) -> str | None:
    """The label of a filter's value the page was opened with (a bookmark), if it is in reach."""
    require(actor)
    try:
        wanted = uuid.UUID(value)
    except ValueError:
        return None
    if name == "organization_id":
        where = [Organization.id == wanted]
        if not actor.can(Permission.manage_platform):
            where.append(Organization.id.in_(select(PlaySession.organization_id).where(play_sessions.readable(actor))))
        return session.scalar(select(Organization.name).where(*where))
    if name == "simulation_id":
        return session.scalar(select(Simulation.title).where(Simulation.id == wanted, _simulations_in_reach(actor)))
    if name == "module_id":
        row = session.execute(
            select(Simulation.title, Module.title)
            .join(Simulation, Simulation.id == Module.simulation_id)
            .where(Module.id == wanted, _simulations_in_reach(actor))
        ).first()
        return f"{row[0]} — {row[1]}" if row else None
    return None
