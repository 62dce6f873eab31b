"""A large, deterministic data set for benchmarks: the demo, then years of play in one big organization.

`seed_large(session, events=N)` loads the demo (its organizations, logins and catalogue) and adds
"Umbrella Holdings" with its history, sized by N game events: N/10 play sessions, N/100 people,
N/20 assignments, an audit entry per person, plus ten more published simulations. The shapes are
the demo's (event data, final scores with percentiles, debriefs, memberships, assignment statuses).

History grows in time, not in density: the play is spread over N / 2,700 days (at least 30) at a
steady ~270 sessions and ~2,700 events a day, ending today. So 1M events is about a year of play and
100k a little over a month; what is live or recent (the last 30 days, the sessions in progress) is
about the same size at both, and whatever grows between them is the cost of history.

Rows go in with PostgreSQL's COPY (through the unit of work's own connection, so the load is one
transaction): about a minute for 1M events on a 2-core machine, where the ORM took an hour.
"""

from __future__ import annotations

import bisect
import json
import random
import secrets
import time
import uuid
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, timedelta

from sqlmodel import Session

from console.demo.data import DIMENSIONS, FIRST, LAST, SEED, STAKEHOLDERS, debrief_for, session_events
from console.demo.results import RESULTS_FROM_SESSIONS
from console.demo.seed import DemoResult, seed
from console.services import scoring
from console.services.accounts import password_hash
from console.services.common import driver_connection

EVENTS_PER_DAY = 2_700
EVENTS_PER_SESSION = 10
BIG_ORG = ("Umbrella Holdings", "umbrella")
DEPARTMENTS = ["Finance", "Operations", "Sales", "People", "Engineering", "Legal", "Marketing", "Support"]
EXTRA_SIMULATIONS = 10
_TITLES = [
    "Pricing Under Pressure",
    "The Union Meeting",
    "Product Recall",
    "Hostile Bid",
    "Remote Team Rescue",
    "Quarter-End Forecast",
    "Whistleblower",
    "Market Entry",
    "Vendor Collapse",
    "Succession Plan",
]


def seed_large(
    session: Session, *, events: int, seed_value: int = SEED, today: date | None = None, progress=print
) -> DemoResult:
    """Load the demo plus a big organization's history of about `events` game events (the caller commits)."""
    started = time.monotonic()
    result = seed(session, seed_value=seed_value, today=today)
    rng = random.Random(seed_value + 1)
    now = datetime.now(UTC)
    today = today or now.date()
    anchor = datetime(today.year, today.month, today.day, 9, 0, tzinfo=UTC)
    live_now = now if today == now.date() else anchor

    def new_id() -> uuid.UUID:
        return uuid.UUID(int=rng.getrandbits(128), version=4)

    conn = driver_connection(session)
    days = max(30, events // EVENTS_PER_DAY)
    platform_admin, creator = conn.execute(
        "SELECT (SELECT id FROM users WHERE role = 'platform_admin' ORDER BY email LIMIT 1),"
        " (SELECT id FROM users WHERE role = 'studio_creator' ORDER BY email LIMIT 1)"
    ).fetchone()

    # The organization, its people and their memberships.
    org_id = new_id()
    conn.execute(
        "INSERT INTO organizations (id, name, slug, plan, seat_limit, sso_enabled, sso_provider, created_at, "
        "updated_at) VALUES (%s, %s, %s, 'enterprise', %s, false, NULL, %s, %s)",
        (org_id, BIG_ORG[0], BIG_ORG[1], events // 100 + 100, anchor - timedelta(days=days + 30), anchor),
    )
    people_n = max(10, events // 100)
    people = [(new_id(), _person_name(rng), rng.choice(DEPARTMENTS)) for _ in range(people_n)]
    admins = [(new_id(), _person_name(rng), DEPARTMENTS[i]) for i in range(3)]
    joined = anchor - timedelta(days=days + 7)
    _copy(
        conn,
        "users (id, email, name, role, organization_id, subscription_tier, created_at, updated_at)",
        (
            (
                pid,
                f"{name.lower().replace(' ', '.')}.{n}@{BIG_ORG[1]}.example",
                name,
                role,
                org_id,
                "enterprise",
                joined,
                joined,
            )
            for n, (pid, name, _dept), role in (
                *((n, a, "enterprise_admin") for n, a in enumerate(admins)),
                *((n + len(admins), p, "enterprise_participant") for n, p in enumerate(people)),
            )
        ),
    )
    _copy(
        conn,
        "org_memberships (id, user_id, organization_id, role, department, joined_at)",
        (
            (new_id(), pid, org_id, role, dept, joined)
            for pid, _name, dept, role in (
                *((*a, "admin") for a in admins),
                *((*p, "participant") for p in people),
            )
        ),
    )
    _copy(
        conn,
        "audit_log (id, actor_id, actor_label, action, entity_type, entity_id, organization_id, after, created_at)",
        (
            (
                new_id(),
                platform_admin,
                "admin@simvado.example",
                "user.create",
                "user",
                str(pid),
                org_id,
                json.dumps({"name": name, "role": "enterprise_participant"}),
                joined + timedelta(minutes=n),
            )
            for n, (pid, name, _dept) in enumerate(people)
        ),
    )

    # Ten more published simulations, two or three modules each, next to the demo's two.
    configs: dict[uuid.UUID, scoring.ScoringConfig] = {}
    module_rows: list[tuple] = []
    sim_of_module: dict[uuid.UUID, uuid.UUID] = {}
    for index, title in enumerate(_TITLES[:EXTRA_SIMULATIONS]):
        keys = rng.sample(list(DIMENSIONS), 3)
        config = {
            "dimensions": [
                {"key": k, "label": DIMENSIONS[k], "weight": w, "min": 0, "max": 100}
                for k, w in zip(keys, (40, 35, 25), strict=True)
            ],
            "pass_mark": 60,
        }
        sim_id = new_id()
        created = anchor - timedelta(days=days + 60 - index)
        conn.execute(
            "INSERT INTO simulations (id, title, slug, description, category, skill_tags, difficulty, format, "
            "status, estimated_duration_min, author_id, scoring_config, created_at, updated_at, published_at) "
            "VALUES (%s, %s, %s, %s, 'Business Leadership', %s, 'intermediate', 'branching_narrative', "
            "'published', 50, %s, %s, %s, %s, %s)",
            (
                sim_id,
                title,
                title.lower().replace(" ", "-"),
                f"{title}: a leadership simulation.",
                ["leadership", "decisions"],
                creator,
                json.dumps(config),
                created,
                created,
                created + timedelta(days=10),
            ),
        )
        for order in range(rng.choice((2, 3))):
            module_id = new_id()
            configs[module_id] = scoring.ScoringConfig.model_validate(config)
            sim_of_module[module_id] = sim_id
            module_rows.append(
                (
                    module_id,
                    sim_id,
                    f"Act {order + 1}",
                    f"act-{order + 1}",
                    order,
                    f"## Act {order + 1}\n\n{title} continues.",
                    json.dumps(
                        [
                            {"name": n, "role": r, "motivation": m, "portrait_url": None, "personality_traits": t}
                            for n, r, m, t in rng.sample(STAKEHOLDERS, 2)
                        ]
                    ),
                    order == 0,
                    25,
                    f"https://play.simvado.example/{sim_id}/{order}",
                    "web",
                    f"2.{index}.{order}",
                    "published",
                    created,
                )
            )
    _copy(
        conn,
        "modules (id, simulation_id, title, slug, sort_order, narrative_context, stakeholders, is_free_demo, "
        "estimated_duration_min, launch_url, platform, build_version, status, created_at)",
        module_rows,
    )
    modules = [row[0] for row in module_rows]
    progress(f"  organization, {len(admins) + len(people):,} people, {len(modules)} modules ({_since(started)})")

    # Play: sessions spread evenly over the days, each with its events.
    sessions_n = max(1, events // EVENTS_PER_SESSION)
    plays: list[list] = []
    event_rows: list[tuple] = []
    totals: dict[uuid.UUID, list[float]] = {}
    done_by_person: dict[tuple[uuid.UUID, uuid.UUID], int] = {}
    started_by_person: set[tuple[uuid.UUID, uuid.UUID]] = set()
    history = timedelta(days=days)
    for n in range(sessions_n):
        person = people[rng.randrange(people_n)][0]
        module_id = modules[rng.randrange(len(modules))]
        begun = anchor - history + history * (n + rng.random()) / sessions_n
        outcome = rng.random()
        if begun > live_now - timedelta(minutes=90) and outcome < 0.3:
            status = "in_progress"  # being played now
        elif outcome < 0.88:
            status = "completed"
        else:
            status = "abandoned"
        play_id = new_id()
        played, values, ended = session_events(
            rng, new_id, play_id, None, configs[module_id], begun, _status(status), steps=rng.randint(4, 10)
        )
        for e in played:
            event_rows.append(
                (
                    e["id"],
                    play_id,
                    e["event_type"].value,
                    json.dumps(e["event_data"]),
                    e["timestamp"],
                    e["received_at"],
                )
            )
        key = (person, sim_of_module[module_id])
        started_by_person.add(key)
        row = [play_id, person, module_id, org_id, f"umb-{play_id.hex[:16]}", "web", status, begun]
        if status == "completed":
            final = scoring.compute_final_scores(configs[module_id], values)
            totals.setdefault(module_id, []).append(final["total"])
            done_by_person[key] = done_by_person.get(key, 0) + 1
            row += [ended, int((ended - begun).total_seconds()), final]
        else:
            row += [None, None, None]
        plays.append(row)
    for cohort in totals.values():
        cohort.sort()
    _copy(
        conn,
        "sessions (id, user_id, module_id, organization_id, external_session_id, platform, status, started_at, "
        "completed_at, total_duration_seconds, final_scores, debrief_text, debrief_generated_at)",
        (_session_row(row, totals) for row in plays),
    )
    progress(f"  {len(plays):,} sessions ({_since(started)})")
    # In arrival order, as a live database receives them (sessions overlap, so generation order is not).
    event_rows.sort(key=lambda row: row[5])
    _copy(conn, "game_events (id, session_id, event_type, event_data, timestamp, received_at)", event_rows)
    progress(f"  {len(event_rows):,} events ({_since(started)})")

    # Assignments: each person's simulations over the history; earlier ones completed or lapsed.
    sims = sorted(set(sim_of_module.values()))
    assignment_rows = []
    held: set[tuple[uuid.UUID, uuid.UUID]] = set()  # one open assignment per person and simulation
    for n in range(max(1, events // 20)):
        person = people[n % people_n][0]
        first = (n // people_n + rng.randrange(len(sims))) % len(sims)
        sim_id = next(
            (
                sims[(first + k) % len(sims)]
                for k in range(len(sims))
                if (person, sims[(first + k) % len(sims)]) not in held
            ),
            None,
        )
        if sim_id is None:
            continue
        assigned = anchor - history + history * (n + rng.random()) / max(1, events // 20)
        due = (assigned + timedelta(days=rng.choice((14, 30, 45)))).date()
        key = (person, sim_id)
        began = finished = None
        if done_by_person.get(key):
            status = "completed"
            began, finished = assigned + timedelta(days=1), assigned + timedelta(days=rng.choice((3, 20, 50)))
        elif key in started_by_person:
            status = "in_progress" if due >= today else "overdue"
            began = assigned + timedelta(days=1)
        else:
            status = "assigned" if due >= today else "overdue"
        if status != "completed":
            held.add(key)
        assignment_rows.append((new_id(), org_id, admins[0][0], person, sim_id, due, status, assigned, began, finished))
    _copy(
        conn,
        "simulation_assignments (id, organization_id, assigned_by_user_id, assigned_to_user_id, simulation_id, "
        "due_date, status, assigned_at, started_at, completed_at)",
        assignment_rows,
    )
    conn.execute(RESULTS_FROM_SESSIONS)
    progress(f"  {len(assignment_rows):,} assignments ({_since(started)})")
    # Logins for the organization's first admin and first participant (benchmarks sign in as them).
    for role, (pid, _name, _dept) in (("umbrella_admin", admins[0]), ("umbrella_participant", people[0])):
        email = conn.execute("SELECT email FROM users WHERE id = %s", (pid,)).fetchone()[0]
        password = secrets.token_urlsafe(9)
        conn.execute(
            "INSERT INTO local_credentials (user_id, email, password_hash, failed_attempts, password_changed_at) "
            "VALUES (%s, %s, %s, 0, %s)",
            (pid, email, password_hash.hash(password), anchor),
        )
        result.logins[role] = (email, password)
    result.counts.update(
        {
            "organizations": result.counts["organizations"] + 1,
            "users": result.counts["users"] + len(admins) + len(people),
            "simulations": result.counts["simulations"] + EXTRA_SIMULATIONS,
            "modules": result.counts["modules"] + len(modules),
            "sessions": result.counts["sessions"] + len(plays),
            "events": result.counts["events"] + len(event_rows),
            "assignments": result.counts["assignments"] + len(assignment_rows),
            "days of history": days,
        }
    )
    return result


GROWN_TABLES = ("users", "org_memberships", "sessions", "game_events", "simulation_assignments", "audit_log")


def settle(engine) -> None:  # noqa: ANN001 — an Engine
    """After the load has committed: what a live database's autovacuum would long have done — the
    planner's statistics, the visibility map (index-only scans) and the BRIN summaries of the new
    pages. VACUUM cannot run inside a transaction, hence a step of its own."""
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        for table in GROWN_TABLES:
            conn.exec_driver_sql(f"VACUUM (ANALYZE) {table}")


def _copy(conn, target: str, rows: Iterable[Sequence]) -> None:  # noqa: ANN001 — a psycopg connection
    with conn.cursor() as cursor, cursor.copy(f"COPY {target} FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def _session_row(row: list, totals: dict[uuid.UUID, list[float]]) -> tuple:
    play_id, person, module_id, org_id, external, platform, status, begun, ended, duration, final = row
    debrief = debrief_at = None
    if final is not None:
        cohort = totals[module_id]
        final["percentile"] = round(100 * bisect.bisect_left(cohort, final["total"]) / len(cohort))
        debrief, debrief_at = debrief_for(final), ended + timedelta(seconds=5)
        final = json.dumps(final)
    return (play_id, person, module_id, org_id, external, platform, status, begun, ended, duration, final,
            debrief, debrief_at)  # fmt: skip


def _status(value: str):  # noqa: ANN202
    from models.enums import SessionStatus

    return SessionStatus(value)


def _person_name(rng: random.Random) -> str:
    return f"{rng.choice(FIRST)} {rng.choice(LAST)}".replace("é", "e").replace("í", "i")


def _since(started: float) -> str:
    return f"{time.monotonic() - started:.1f} s"
