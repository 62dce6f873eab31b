"""The /sessions cases of bench/pages.py: the list's first page, a filter and the last page (platform
admin and the big organization's admin), and one session of 5,000 events, each beside plain SQL of the
same page.

`long_session(url, ids)` adds the 5,000-event session first: a completed session of the big
organization's participant, its events made by the demo's own generator (console/demo/data.py) over
about 4,000 moves, its debrief written as the engine API would.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import psycopg

EVENTS = 5_000

# Plain SQL of each page: what it reads, written by hand (the floor).
_LIST = (
    "SELECT s.*, u.name, u.email, o.name, m.title, sim.id, sim.title, "
    "(SELECT max(received_at) FROM game_events e WHERE e.session_id = s.id) "
    "FROM sessions s JOIN users u ON u.id = s.user_id JOIN modules m ON m.id = s.module_id "
    "JOIN simulations sim ON sim.id = m.simulation_id LEFT JOIN organizations o ON o.id = s.organization_id "
    "WHERE s.id IN (SELECT id FROM sessions WHERE {where} ORDER BY started_at {order}, id LIMIT 25 {offset})"
)
PLAIN: dict[str, list[str]] = {
    "sessions_first": [
        "SELECT count(*) FROM sessions",
        _LIST.format(where="true", order="DESC", offset=""),
    ],
    "sessions_status": [
        "SELECT count(*) FROM sessions WHERE organization_id = %(org)s AND status = 'completed'",
        _LIST.format(where="organization_id = %(org)s AND status = 'completed'", order="DESC", offset=""),
    ],
    "sessions_last": [
        "SELECT count(*) FROM sessions WHERE organization_id = %(org)s",
        _LIST.format(where="organization_id = %(org)s", order="ASC", offset=""),
    ],
    "session_page": [
        "SELECT * FROM sessions WHERE id = %(long)s",
        "SELECT count(*), max(received_at), min(timestamp) FROM game_events WHERE session_id = %(long)s",
        "SELECT * FROM game_events WHERE session_id = %(long)s ORDER BY timestamp, received_at, id LIMIT 50",
        "SELECT array_agg(timestamp ORDER BY timestamp), array_agg(event_data->'impacts' ORDER BY timestamp), "
        "array_agg(event_data->'scores' ORDER BY timestamp) FROM game_events WHERE session_id = %(long)s "
        "AND event_type IN ('decision', 'score_update', 'completion')",
        "SELECT * FROM game_events WHERE session_id = %(long)s ORDER BY timestamp, received_at, id LIMIT 25",
        "SELECT count(*) FROM game_events WHERE session_id = %(long)s",
    ],
}


def long_session(url: str, ids: dict) -> uuid.UUID:
    """Add the 5,000-event session (completed, with its debrief); returns its id."""
    from console import unit_of_work
    from console.demo.data import session_events
    from console.services import debrief, scoring
    from console.services.ingest.completion import dimension_values
    from models import GameEvent, Module, PlaySession, Simulation
    from models.enums import SessionStatus

    rng, play_id = random.Random(5000), uuid.uuid4()
    with unit_of_work.transaction() as session:
        module = session.get(Module, ids["module"])
        config = scoring.parse_config(session.get(Simulation, module.simulation_id).scoring_config)
        started = datetime.now(UTC) - timedelta(days=10)  # ~4,000 moves of 20–180 s: about 5 days
        events, _values, ended = session_events(
            rng, uuid.uuid4, play_id, module, config, started, SessionStatus.completed, steps=4_000
        )
        events = events[: EVENTS - 1] + events[-1:] if len(events) > EVENTS else events  # the completion last
        values = dimension_values(config, [(e["event_type"].value, e["event_data"]) for e in events])
        session.add(
            PlaySession(
                id=play_id, user_id=ids["participant"], module_id=module.id, organization_id=ids["org"],
                external_session_id=f"bench-long-{play_id.hex[:12]}", platform="web", status=SessionStatus.completed,
                started_at=started, completed_at=ended, total_duration_seconds=int((ended - started).total_seconds()),
                final_scores=scoring.compute_final_scores(config, values),
            )
        )  # fmt: skip
        session.flush()
        session.execute(GameEvent.__table__.insert(), [{**e, "event_type": e["event_type"].value} for e in events])
        debrief.write_for_session(session=session, play_session_id=play_id)
    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://", 1), autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE game_events")
        conn.execute("VACUUM ANALYZE sessions")
    return play_id


def cases(Case: type, read: Callable, sql: Callable, actors: dict, ids: dict) -> list:  # noqa: N803
    """The cases, built with bench/pages.py's own helpers (`read` runs service calls in one unit of work,
    `sql(name, **params)` the plain SQL of PLAIN[name])."""
    from console.services.listing import ListQuery
    from console.services.sessions import detail, events, listing

    admin, org_admin = actors["admin"], actors["org_admin"]
    with_last = ListQuery(limit=1)

    def last_offset(actor) -> int:  # noqa: ANN001
        found = read(lambda s: listing.list_(session=s, actor=actor, query=with_last))()[0]
        return max(0, found.total - 25)

    org_last = last_offset(org_admin)
    completed = ListQuery(filters={"status": "completed"})
    return [
        Case("sessions (platform admin)", "list",
             read(lambda s: listing.list_(session=s, actor=admin, query=ListQuery())), sql("sessions_first")),
        Case("sessions, completed (org admin)", "list",
             read(lambda s: listing.list_(session=s, actor=org_admin, query=completed)), sql("sessions_status")),
        Case("sessions, last page (org admin)", "list",
             read(lambda s: listing.list_(session=s, actor=org_admin, query=ListQuery(offset=org_last))),
             sql("sessions_last")),
        Case("a session of 5,000 events (org admin)", "page", read(
            lambda s: detail.overview(session=s, actor=org_admin, session_id=ids["long"],
                                      timeline_query=ListQuery(limit=50)),
            lambda s: events.list_(session=s, actor=org_admin, session_id=ids["long"], query=ListQuery())),
             sql("session_page")),
    ]  # fmt: skip
