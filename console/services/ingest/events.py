"""Events: batches stored on the hot path (see the package docstring and README "Engine API performance")."""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pydantic_core
from sqlmodel import Session

from console import jobs, live
from console.auth import Actor
from console.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from console.live import ChangeKind, SessionChange
from console.services.common import driver_connection
from console.services.ingest.completion import complete_session
from console.services.ingest.dimensions import dimension_map, dimension_refusal, widen_extremes
from console.services.ingest.sessions import SESSION_NOT_FOUND, TEST_KEY_ON_REAL_SESSION, check_session_reach
from models import PlaySession
from models.enums import SessionStatus


@dataclass(frozen=True)
class IncomingEvent:
    """One event of a batch, as stored (only needed off the hot path: retries and completions)."""

    id: uuid.UUID
    type: str
    timestamp: datetime
    data: dict[str, Any]


@dataclass(frozen=True)
class IncomingBatch:
    """A batch of events as the hot path takes it, checked when made: not empty, no id twice, no
    event's data over `max_data_bytes` (ValidationFailed otherwise). Made by the caller before the
    batch is queued, so a bad batch never joins (and rolls back) a group of other requests.

    `events_json` is the events as one compact UTF-8 JSON array of {"id", "type", "timestamp", "data"}
    objects (a missing "data" is {}), as they are stored (PostgreSQL takes it apart in C); `ids` and
    `types` follow its order. Each event becomes a Python object only when a retry or a completion
    needs it.
    """

    events_json: bytes
    ids: Sequence[uuid.UUID]
    types: Sequence[str]
    max_data_bytes: int = 32 * 1024
    # Every key the batch uses in decision `impacts` and in `scores`: checked against the module's
    # dimensions when the batch is stored (`_settle`). None: read from `events_json` here (callers that
    # parsed the events already pass it, so the hot path reads the JSON once).
    dimension_keys: frozenset[str] | None = None
    # The lowest and highest absolute score the batch gives each dimension (score updates, completions):
    # checked against the dimensions' ranges without reading the events again. None: read as above.
    score_extremes: dict[str, tuple[float, float]] | None = None

    def __post_init__(self) -> None:
        if not self.ids:
            raise ValidationFailed("A batch needs at least one event.", details={"events": "empty"})
        if len(set(self.ids)) != len(self.ids):
            raise _repeated_ids(self.ids)
        if self.types.count("completion") > 1:
            # Which one would close the session? Refused rather than one picked and the other stored unused.
            places = ", ".join(f"events[{i}]" for i, t in enumerate(self.types) if t == "completion")
            raise ValidationFailed(
                "A batch may carry one completion event: it completes the session.",
                details={"events": f"completion events at {places}: send one"},
            )
        if self.dimension_keys is None or self.score_extremes is None:
            keys: set[str] = set()
            extremes: dict[str, tuple[float, float]] = {}
            if b'"impacts"' in self.events_json or b'"scores"' in self.events_json:
                for e in self.events():
                    keys.update(dimension_map(e.type, e.data))
                    if e.type != "decision":
                        widen_extremes(extremes, dimension_map(e.type, e.data))
            object.__setattr__(self, "dimension_keys", frozenset(keys))
            object.__setattr__(self, "score_extremes", extremes)
        if len(self.events_json) <= self.max_data_bytes:
            return  # no single event's data can be larger than the whole batch
        for index, event in enumerate(self.events()):
            if len(pydantic_core.to_json(event.data)) > self.max_data_bytes:
                raise ValidationFailed(
                    "An event's data is too large.",
                    details={f"events[{index}].data": f"larger than {self.max_data_bytes} bytes"},
                )

    def events(self) -> list[IncomingEvent]:
        return [
            IncomingEvent(
                id=uuid.UUID(e["id"]),
                type=e["type"],
                timestamp=datetime.fromisoformat(e["timestamp"]),
                data=e.get("data", {}),
            )
            for e in json.loads(self.events_json)
        ]


def _repeated_ids(ids: Sequence[uuid.UUID]) -> ValidationFailed:
    """422 naming each id sent more than once in a batch and the positions it was sent at."""
    positions: dict[uuid.UUID, list[int]] = {}
    for index, event_id in enumerate(ids):
        positions.setdefault(event_id, []).append(index)
    details = {
        f"events[{where[0]}].id": f"{event_id} is sent again at "
        + ", ".join(f"events[{i}]" for i in where[1:])
        + ": give each event its own id (a retry resends the whole batch instead)"
        for event_id, where in positions.items()
        if len(where) > 1
    }
    return ValidationFailed("An event id appears more than once in this batch.", details=details)


@dataclass(frozen=True)
class BatchResult:
    accepted: int
    duplicates: int
    session_status: SessionStatus
    completed_now: bool
    session_id: uuid.UUID


# -------------------------------------------------------------------------------------------- events

# The hot path runs on the driver connection underneath the session (same transaction), with no ORM:
# one round trip locks the play sessions of many batches and inserts all their events, each batch
# guarded by its session still being in progress. The engine API's group commit hands a whole group's
# batches to one call, so a group costs one statement, not one per request: on a busy machine each
# round trip is a wait for PostgreSQL and then for a CPU again, and that waiting, not the work, was
# most of a single event's latency. The batches travel as one JSON text, which PostgreSQL takes apart
# in C: far cheaper than binding arrays through psycopg's Python dumpers. Sessions are found through
# their two indexes (= ANY of an array: an IN under OR would scan every session ever played), locked
# in id order, and rows go in id order (one lock order across groups and servers). Inserted rows are
# counted per session, so a statement takes at most one batch per session (see
# `record_event_batches`); a batch's inserted ids come back only when some were not inserted (a
# retry): the common case parses no array. psycopg prepares the statement after a few uses.
# The same statement tells every console process that each of these sessions got events (console/live):
# a NOTIFY per session that stored something, delivered by PostgreSQL at commit and dropped if the
# group rolls back. In the statement, not in a statement of its own at commit (console.live's way for
# starts, completions and abandons), because a round trip per group cost single events about a tenth of
# their throughput (bench/ingest.py (f)). A session's second batch in the same group sends the same
# payload again, which PostgreSQL folds into one; a batch that completes its session sends nothing
# here (`done`): its "completed" goes out with the commit instead.
_LOCK_AND_INSERT = """
    WITH item AS (
        SELECT * FROM jsonb_to_recordset(%(items)s::jsonb)
            AS i(pos int, sid uuid, ext text, events jsonb, done bool, dims bool)
    ), play AS (
        SELECT s.id, s.external_session_id, s.status::text AS status, s.organization_id, m.simulation_id,
               s.module_id, s.is_test
        FROM sessions s JOIN modules m ON m.id = s.module_id
        WHERE s.id = ANY(ARRAY(SELECT sid FROM item WHERE sid IS NOT NULL))
           OR s.external_session_id = ANY(ARRAY(SELECT ext FROM item WHERE ext IS NOT NULL))
        ORDER BY s.id
        FOR UPDATE OF s
    ), target AS (
        SELECT item.pos, item.events, item.done, item.dims, play.*
        FROM item JOIN play ON play.id = item.sid OR play.external_session_id = item.ext
    ), inserted AS (
        INSERT INTO game_events (id, session_id, event_type, event_data, timestamp, received_at)
        SELECT (e->>'id')::uuid, target.id, (e->>'type')::event_type, coalesce(e->'data', '{}'),
               (e->>'timestamp')::timestamptz, now()
        FROM target, jsonb_array_elements(target.events) AS e
        WHERE target.status = 'in_progress'
        ORDER BY 1
        ON CONFLICT (id) DO NOTHING
        RETURNING id, session_id
    ), counted AS (
        SELECT session_id, count(*) AS inserted FROM inserted GROUP BY session_id
    )
    SELECT target.pos, target.id, target.status, target.organization_id, target.simulation_id,
           coalesce(counted.inserted, 0),
           CASE WHEN coalesce(counted.inserted, 0) < jsonb_array_length(target.events)
                THEN ARRAY(SELECT id FROM inserted WHERE inserted.session_id = target.id) END,
           target.module_id,
           CASE WHEN coalesce(counted.inserted, 0) > 0 AND target.done IS NOT TRUE THEN pg_notify(
               %(channel)s,
               json_build_object('session_id', target.id, 'organization_id', target.organization_id,
                                 'simulation_id', target.simulation_id, 'module_id', target.module_id,
                                 'kind', 'event')::text
           ) END,
           -- The module's dimensions, read only for batches that use some (see dimension_refusal).
           CASE WHEN target.dims THEN (
               SELECT CASE WHEN jsonb_typeof(sim.scoring_config->'dimensions') = 'array'
                           THEN sim.scoring_config->'dimensions' ELSE '[]' END
               FROM simulations sim WHERE sim.id = target.simulation_id) END,
           target.is_test
    FROM target LEFT JOIN counted ON counted.session_id = target.id
"""
# Stored and incoming events are compared by PostgreSQL, jsonb to jsonb: numbers compare by value
# (1e23 as sent and as stored), which Python's int-versus-float comparison of the decoded JSON did not.
# Each field compared on its own, so a conflict can name the ones that differ.
_STORED_AND_DIFFERING = """
    SELECT g.id, g.session_id <> %(play)s, g.event_type::text <> e->>'type',
           g.timestamp <> (e->>'timestamp')::timestamptz, g.event_data <> coalesce(e->'data', '{}')
    FROM jsonb_array_elements(%(batch)s::jsonb) AS e JOIN game_events g ON g.id = (e->>'id')::uuid
    WHERE g.id = ANY(%(ids)s::uuid[])
"""
_FIELDS = ("session", "type", "timestamp", "data")


class BatchesOverlap(Exception):  # noqa: N818 — a condition, not the caller's mistake
    """One play session named two ways (by id and by external id) in one `record_event_batches` call:
    its rows cannot be told apart by batch. Roll back and record the batches one call each."""


@dataclass(frozen=True)
class EventReport:
    """One request's batch for one play session, named by `session_id` or `external_session_id`."""

    actor: Actor
    batch: IncomingBatch
    session_id: uuid.UUID | None = None
    external_session_id: str | None = None

    def __post_init__(self) -> None:
        if (self.session_id is None) == (self.external_session_id is None):
            raise ValidationFailed(
                "Name the session.", details={"session_id": "give session_id or external_session_id"}
            )


def _differing(
    session: Session, play_id: uuid.UUID, batch: IncomingBatch, ids: Sequence[uuid.UUID]
) -> tuple[dict[uuid.UUID, list[str]], int]:
    """Compare already-stored events with the incoming ones: ({id that differs: the fields that differ},
    how many are stored)."""
    if not ids:
        return {}, 0
    stored = (
        driver_connection(session)
        .execute(_STORED_AND_DIFFERING, {"play": play_id, "batch": batch.events_json.decode(), "ids": list(ids)})
        .fetchall()
    )
    differing = {row[0]: [name for name, differs in zip(_FIELDS, row[1:], strict=True) if differs] for row in stored}
    return {event_id: fields for event_id, fields in differing.items() if fields}, len(stored)


def _stored_otherwise(batch: IncomingBatch, differing: dict[uuid.UUID, list[str]]) -> Conflict:
    """409 naming each event stored before with other content: its id, its place in the batch, what differs."""
    details: dict[str, Any] = {}
    for index, event_id in enumerate(batch.ids):
        if event_id in differing:
            what = ", ".join(f"another {f}" if f == "session" else f for f in differing[event_id])
            details[f"events[{index}].id"] = (
                f"{event_id} is already stored with other content (differs: {what}): give a new event a new id"
            )
    details["ids"] = [str(i) for i in batch.ids if i in differing]
    return Conflict(
        "An event with this id was already stored with other content; nothing of the batch was stored.",
        details=details,
    )


def record_event_batches(*, session: Session, reports: Sequence[EventReport]) -> list[BatchResult]:
    """Store batches of events (of one or many play sessions): a result for each, in order. Each batch
    is all or nothing; retried events count as duplicates, never as rows.

    One statement stores a batch for each session named; a session's further batches go in the next
    statement, in the order given, so each sees what the one before it did (a completion, a retry).
    The batches are all or nothing together too: the first batch
    refused (NotFound, Conflict) is raised, and so is BatchesOverlap (see there), and
    the caller's transaction must then be rolled back (the boundary never commits it), which undoes
    every batch of the call.
    """
    results: dict[int, BatchResult] = {}
    waiting = list(range(len(reports)))
    while waiting:
        named: set[uuid.UUID | str | None] = set()
        now, later = [], []
        for pos in waiting:
            report = reports[pos]
            name = report.session_id if report.session_id is not None else report.external_session_id
            (later if name in named else now).append(pos)
            named.add(name)
        for pos, result in zip(now, _record_once(session, [reports[pos] for pos in now]), strict=True):
            results[pos] = result
        waiting = later
    return [results[pos] for pos in range(len(reports))]


def _record_once(session: Session, reports: Sequence[EventReport]) -> list[BatchResult]:
    """One statement for batches of distinct play sessions."""
    items = b"[" + b",".join(_item(pos, report) for pos, report in enumerate(reports)) + b"]"
    rows = (
        driver_connection(session)
        .execute(_LOCK_AND_INSERT, {"items": items.decode(), "channel": live.CHANNEL})
        .fetchall()
    )
    if len({row[1] for row in rows}) < len(rows):
        raise BatchesOverlap("a play session named by id and by external id")
    found = {row[0]: row[1:] for row in rows}
    return [_settle(session, report, found.get(pos)) for pos, report in enumerate(reports)]


def _item(pos: int, report: EventReport) -> bytes:
    if report.session_id is not None:
        named = b'"sid":"' + str(report.session_id).encode() + b'"'
    else:
        named = b'"ext":' + json.dumps(report.external_session_id).encode()
    done = b',"done":true' if "completion" in report.batch.types else b""
    dims = b',"dims":true' if report.batch.dimension_keys else b""
    return b'{"pos":' + str(pos).encode() + b"," + named + done + dims + b',"events":' + report.batch.events_json + b"}"


def _settle(session: Session, report: EventReport, row: tuple | None) -> BatchResult:
    """One batch's outcome from what the statement did for it: retries checked, completion applied."""
    if row is None:
        raise NotFound(SESSION_NOT_FOUND)
    actor, batch, ids = report.actor, report.batch, report.batch.ids  # ids were checked when the batch was made
    (play_id, status_text, organization_id, simulation_id, inserted_count, inserted_ids, module_id, _notified, dims,
     is_test) = row  # fmt: skip
    # Out of reach: raising rolls back whatever the statement wrote (the boundary never commits it).
    check_session_reach(actor, simulation_id=simulation_id, organization_id=organization_id)
    if actor.test and not is_test:
        raise PermissionDenied(TEST_KEY_ON_REAL_SESSION)  # test play never lands in a real session
    if dims is not None and (refused := dimension_refusal(batch, dims)) is not None:
        raise refused  # rolls back what the statement wrote, like any refusal
    status = SessionStatus(status_text)

    if status != SessionStatus.in_progress:
        differing, stored = _differing(session, play_id, batch, ids)
        if differing:
            raise _stored_otherwise(batch, differing)
        if stored == len(ids):
            return BatchResult(0, len(ids), status, False, play_id)
        raise Conflict(f"The session is {status.value}: it takes no more events.", details={"status": status})

    if inserted_count < len(ids):
        inserted = set(inserted_ids)
        not_inserted = [i for i in ids if i not in inserted]
        differing, _ = _differing(session, play_id, batch, not_inserted)
        if differing:
            # Raising rolls the whole batch back: the stored rows stay as they were.
            raise _stored_otherwise(batch, differing)
    if "completion" not in batch.types:  # announced by the statement itself, if it stored anything
        return BatchResult(inserted_count, len(ids) - inserted_count, status, False, play_id)
    # Still in progress, so the batch's completion (one at most: IncomingBatch) was inserted now.
    completion = next(e for e in batch.events() if e.type == "completion")
    play = session.get(PlaySession, play_id)  # already locked by this transaction
    complete_session(session=session, play=play, simulation_id=simulation_id, completed_at=completion.timestamp)
    jobs.defer(session, jobs.DEBRIEF, play_session_id=str(play_id))
    live.session_changed(
        session, SessionChange(play_id, organization_id, simulation_id, module_id, ChangeKind.completed)
    )
    return BatchResult(inserted_count, len(ids) - inserted_count, play.status, True, play_id)
