"""Every page's cost at two sizes of history: the services as each page calls them, per role, beside
plain SQL of the same page as the floor; then, in Chromium, navigation to data on screen.

    python bench/pages.py                       # 100k and 1M events (about 6 minutes here)
    python bench/pages.py --sizes 20000 200000  # smaller, for a quick look
    python bench/pages.py --no-browser          # services and SQL only

Each size is its own database (an embedded PostgreSQL in a temp folder, or the server of DATABASE_URL),
loaded with `seed-demo --events N` (console/demo/large.py: history grows in time at a steady daily
rate, so the larger size is a longer history, not a busier day). For each case: median and p95 of
`--repeats` timed calls (after a warm-up), the growth factor of the median from the smaller size to
the larger, and the same for the plain-SQL floor. Writes (completing a session, sweeps) run in a
transaction that is rolled back, so every call sees the same data.

Bars (issue "Scale"): at the larger size every page's services p95 < 100 ms and no page's median
grows by more than 1.5x; completing a session p95 < 30 ms; each sweep p95 < 5 ms. The lists of
organizations, users and an organization's people (issue "Organizations, people and seats": first page,
a search, a sort, the last page) have the p95 bar only: they are meant to grow with what they list (the
big organization has 1,000 members at the smaller size and 10,000 at the larger; both sizes are topped
up to 50,000 users, a third of them with a sign-in).
Issue "Assignments, progress, results and reports", as the big organization's admin (5,000 assignments
at the smaller size, 50,000 at the larger): a person's page, the assignments list (first page, overdue,
last page) and each chart of /reports as it opens (the assignments of the last 30 days) are "page"
cases; the same charts over all time and the progress matrix summarise every assignment, so they are
"list" cases (p95 bar only). The sessions list (first page as the platform admin; completed sessions
and the last page as the big organization's admin) is a "list" case; one session of 5,000 events (added
by bench/page_sessions.py) is a "page" case: it is the same size at both sizes.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

PAGE_P95_MS, GROWTH, COMPLETION_P95_MS, SWEEP_P95_MS = 100.0, 1.5, 30.0, 5.0
USERS_TOTAL = 50_000


@dataclass
class Case:
    label: str
    kind: str  # page | list | completion | sweep
    service: Callable[[], object]
    plain: Callable[[], object]


def timed(fn: Callable[[], object], repeats: int) -> tuple[float, float]:
    fn()
    fn()  # warm: caches, prepared plans
    samples = []
    for _ in range(repeats):
        started = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - started) * 1000)
    samples.sort()
    return statistics.median(samples), samples[min(len(samples) - 1, round(0.95 * (len(samples) - 1)))]


def load(url: str, events: int) -> dict:
    """Migrate and load the large data set; returns the logins and the ids the cases use."""
    from console import db, migrate, unit_of_work
    from console.demo import seed_large, settle

    migrate.upgrade(url)
    db.configure(url)
    started = time.perf_counter()
    with unit_of_work.transaction() as session:
        result = seed_large(session, events=events, progress=lambda _line: None)
    _top_up_users(url, USERS_TOTAL)
    settle(db.get_engine())
    seconds = time.perf_counter() - started
    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://", 1)) as conn:
        ids = dict(
            zip(
                ("admin", "creator", "org_admin", "participant", "org", "module", "simulation"),
                conn.execute(
                    "SELECT (SELECT id FROM users WHERE email = %(admin)s), (SELECT id FROM users WHERE email = "
                    "%(creator)s), (SELECT id FROM users WHERE email = %(org_admin)s), (SELECT id FROM users WHERE "
                    "email = %(participant)s), (SELECT id FROM organizations WHERE slug = 'umbrella'), "
                    "(SELECT module_id FROM sessions WHERE organization_id = (SELECT id FROM organizations WHERE "
                    "slug = 'umbrella') GROUP BY module_id ORDER BY count(*) DESC LIMIT 1), "
                    "(SELECT id FROM simulations WHERE status = 'published' ORDER BY created_at LIMIT 1)",
                    {
                        "admin": result.logins["platform_admin"][0],
                        "creator": result.logins["studio_creator"][0],
                        "org_admin": result.logins["umbrella_admin"][0],
                        "participant": result.logins["umbrella_participant"][0],
                    },
                ).fetchone(),
                strict=True,
            )
        )
    return {"ids": ids, "logins": result.logins, "counts": result.counts, "seconds": seconds}


def _top_up_users(url: str, total: int) -> None:
    """Individual users (no organization) until the platform has `total`; a third have signed in."""
    conn_url = url.replace("postgresql+psycopg://", "postgresql://", 1)
    with psycopg.connect(conn_url) as conn:
        have = conn.execute("SELECT count(*) FROM users").fetchone()[0]
        now = datetime.now(UTC)
        with conn.cursor().copy(
            "COPY users (id, email, name, role, subscription_tier, created_at, updated_at) FROM STDIN"
        ) as copy:
            added = []
            for n in range(max(0, total - have)):
                uid, when = uuid.uuid4(), now - timedelta(minutes=n)
                added.append((uid, when))
                copy.write_row((uid, f"person{n}@individual.example", f"Person {n} Smith" if n % 50 == 0
                                else f"Person {n}", "individual", "free", when, when))  # fmt: skip
        with conn.cursor().copy("COPY login_sessions (id, user_id, created_at, expires_at, method) FROM STDIN") as copy:
            for uid, when in added[::3]:
                copy.write_row((uuid.uuid4().hex, uid, when, when + timedelta(days=14), "password"))
        conn.execute("ANALYZE users")
        conn.execute("ANALYZE login_sessions")


def cases(url: str, ids: dict) -> list[Case]:
    import page_sessions
    from page_sql import PLAIN

    PLAIN = {**PLAIN, **page_sessions.PLAIN}  # noqa: N806 — the sessions pages' plain SQL beside the others

    from console import unit_of_work
    from console.auth import Actor
    from console.services import (
        api_keys,
        assignments,
        audit,
        dashboard,
        ingest,
        media,
        organizations,
        play_sessions,
        simulations,
        sweeps,
        users,
        workflow,
    )
    from console.services import debrief as debriefs
    from console.services.listing import ListQuery
    from console.services.people import members
    from models.enums import UserRole

    raw = psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://", 1))
    admin = Actor.for_user(user_id=ids["admin"], role=UserRole.platform_admin, organization_id=None)
    creator = Actor.for_user(user_id=ids["creator"], role=UserRole.studio_creator, organization_id=None)
    org_admin = Actor.for_user(user_id=ids["org_admin"], role=UserRole.enterprise_admin, organization_id=ids["org"])
    participant = Actor.for_user(
        user_id=ids["participant"], role=UserRole.enterprise_participant, organization_id=ids["org"]
    )
    newest = ListQuery(sort="created_at", descending=True)

    def read(*calls: Callable) -> Callable[[], object]:
        def run() -> object:
            with unit_of_work.read_only() as session:
                return [call(session) for call in calls]

        return run

    def rolled_back(call: Callable) -> Callable[[], object]:
        def run() -> object:
            with unit_of_work.read_only() as session:  # read_only rolls back: the same data every time
                return call(session)

        return run

    def sql(name: str, **params: object) -> Callable[[], object]:
        statements = PLAIN[name]

        def run() -> object:
            out = [raw.execute(statement, {**ids, **params}).fetchall() for statement in statements]
            raw.rollback()
            return out

        return run

    def last_audit_offset(actor: Actor) -> int:
        with unit_of_work.read_only() as session:
            total = audit.list_(session=session, actor=actor, query=ListQuery(limit=1)).total
        return max(0, total - 25)

    key = Actor.for_api_key(
        key_id=uuid.uuid4(), name="bench", prefix="sk_sim_bench", scopes=["game:write"], simulation_id=None,
        organization_id=None,
    )  # fmt: skip
    with unit_of_work.transaction() as session:  # one session in progress, completed by every timed call
        playing, _ = ingest.start_session(
            session=session,
            actor=key,
            data=ingest.SessionStart(
                module_id=ids["module"],
                player=ingest.PlayerRef(user_id=ids["participant"]),
                external_session_id=f"bench-{uuid.uuid4()}",
            ),
        )
    ids = {**ids, "playing": playing.id}

    def complete(session) -> object:  # noqa: ANN001
        """The engine API's completion path: a batch with five decisions and the completion (final scores,
        percentile among the module's completed sessions, assignment progress, the debrief job), then
        the debrief written right after. Rolled back, so every call completes the same session."""
        now = datetime.now(UTC)
        events = [
            {"id": str(uuid.uuid4()), "type": "decision", "timestamp": (now + timedelta(seconds=i)).isoformat(),
             "data": {"decision_id": f"d{i}", "choice_id": "c1"}}
            for i in range(5)
        ] + [{"id": str(uuid.uuid4()), "type": "completion", "timestamp": (now + timedelta(seconds=9)).isoformat(),
              "data": {}}]  # fmt: skip
        batch = ingest.IncomingBatch(
            events_json=json.dumps(events).encode(),
            ids=[uuid.UUID(e["id"]) for e in events],
            types=[e["type"] for e in events],
        )
        result = ingest.record_event_batches(
            session=session, reports=[ingest.EventReport(key, batch, session_id=ids["playing"])]
        )
        debriefs.write_for_session(session=session, play_session_id=ids["playing"])
        return result

    admin_offset, org_offset = last_audit_offset(admin), last_audit_offset(org_admin)

    def last_offset(list_: Callable, actor: Actor, **filters: str) -> int:
        with unit_of_work.read_only() as session:
            total = list_(session=session, actor=actor, query=ListQuery(filters=filters, limit=1)).total
        return max(0, total - 25)

    users_offset = last_offset(users.list_, admin)
    from console.services.assignments import matrix, person, progress, reports

    assignments_offset = last_offset(progress.list_, org_admin)
    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://", 1)) as conn:
        # The simulation the big organization has assigned most: the score distribution's filter.
        report_simulation = conn.execute(
            "SELECT simulation_id FROM simulation_assignments WHERE organization_id = %s GROUP BY 1 "
            "ORDER BY count(*) DESC LIMIT 1",
            (ids["org"],),
        ).fetchone()[0]
    ids = {**ids, "report_simulation": report_simulation, "long": page_sessions.long_session(url, ids)}
    people_offset = last_offset(members.list_, org_admin)

    def listed(list_: Callable, actor: Actor, **query: object) -> Callable[[], object]:
        return read(lambda s: list_(session=s, actor=actor, query=ListQuery(**query)))

    out = [
        Case(f"dashboard ({who})", "page", read(lambda s, a=actor: dashboard.summary(session=s, actor=a)),
             sql(f"dashboard_{who}"))
        for who, actor in (("platform admin", admin), ("creator", creator), ("org admin", org_admin))
    ]  # fmt: skip
    out += [
        Case(
            f"simulations list ({who})",
            "page",
            read(
                lambda s, a=actor: simulations.categories(session=s, actor=a),
                lambda s, a=actor: simulations.list_(session=s, actor=a, query=ListQuery()),
            ),
            sql("simulations_list"),
        )
        for who, actor in (("platform admin", admin), ("org admin", org_admin))
    ]
    out += [
        Case(
            "simulation workspace, details",
            "page",
            read(
                lambda s: simulations.get(session=s, actor=admin, simulation_id=ids["simulation"]),
                lambda s: workflow.readiness(session=s, actor=admin, simulation_id=ids["simulation"]),
                lambda s: media.simulation_images(session=s, actor=admin, simulation_id=ids["simulation"]),
            ),
            sql("workspace"),
        ),
        Case(
            "simulation history tab",
            "page",
            read(lambda s: simulations.history(session=s, actor=admin, simulation_id=ids["simulation"], query=newest)),
            sql("history"),
        ),
        Case("API keys", "page", read(lambda s: api_keys.list_(session=s, actor=admin, query=newest)), sql("api_keys")),
        Case("audit log (platform admin)", "page", read(lambda s: audit.list_(session=s, actor=admin, query=newest)),
             sql("audit_first")),
        Case("audit log, last page (platform admin)", "page",
             read(lambda s: audit.list_(session=s, actor=admin, query=ListQuery(offset=admin_offset))),
             sql("audit_last", offset=admin_offset)),
        Case("audit log (org admin)", "page", read(lambda s: audit.list_(session=s, actor=org_admin, query=newest)),
             sql("audit_org")),
        Case("audit log, last page (org admin)", "page",
             read(lambda s: audit.list_(session=s, actor=org_admin, query=ListQuery(offset=org_offset))),
             sql("audit_org_last", offset=org_offset)),
        Case(
            "/my (participant)",
            "page",
            read(
                lambda s: assignments.list_mine(session=s, actor=participant, query=ListQuery()),
                lambda s: play_sessions.list_mine(session=s, actor=participant, query=ListQuery(limit=50)),
            ),
            sql("my"),
        ),
        Case("organizations", "list", listed(organizations.list_, admin), sql("organizations_first")),
        Case("organizations, search", "list", listed(organizations.list_, admin, search="umbrella"),
             sql("organizations_first")),
        Case("organizations, by members", "list",
             listed(organizations.list_, admin, sort="members", descending=True), sql("organizations_by_members")),
        Case("users", "list", listed(users.list_, admin), sql("users_first")),
        Case("users, search", "list", listed(users.list_, admin, search="smith"), sql("users_search")),
        Case("users, by last sign-in", "list", listed(users.list_, admin, sort="last_sign_in_at", descending=True),
             sql("users_by_sign_in")),
        Case("users, last page", "list", listed(users.list_, admin, offset=users_offset),
             sql("users_last", offset=users_offset)),
        Case("people (org admin)", "list", listed(members.list_, org_admin, sort="name"), sql("people_first")),
        Case("people, search", "list", listed(members.list_, org_admin, search="smith", sort="name"),
             sql("people_search")),
        Case("people, by last played", "list",
             listed(members.list_, org_admin, sort="last_played_at", descending=True), sql("people_by_last_played")),
        Case("people, last page", "list", listed(members.list_, org_admin, sort="name", offset=people_offset),
             sql("people_last", offset=people_offset)),
        Case("assignments (org admin)", "page", listed(progress.list_, org_admin), sql("assignments_first")),
        Case("assignments, overdue", "page", listed(progress.list_, org_admin, filters={"status": "overdue"}),
             sql("assignments_status")),
        Case("assignments, last page", "page", listed(progress.list_, org_admin, offset=assignments_offset),
             sql("assignments_last", offset=assignments_offset)),
        Case("progress matrix (org admin)", "list", read(lambda s: matrix.matrix(
            session=s, actor=org_admin, query=ListQuery())), sql("progress_matrix")),
        Case("a person's page (org admin)", "page", read(lambda s: person.overview(
            session=s, actor=org_admin, user_id=ids["participant"])), sql("person_page")),
    ]  # fmt: skip
    # /reports as it opens (the last 30 days: "page" cases), then over all time ("list" cases).
    by_dept = (reports.average_by_department, reports.overdue_by_department)
    for period, kind, label in (("30", "page", "report"), ("all", "list", "report, all time")):
        recent = {"assigned": period}
        of_sim = {**recent, "simulation_id": str(report_simulation)}
        since = {"period_start": datetime.now(UTC) - timedelta(days=int(period) if period != "all" else 36_500)}
        out += [
            Case(f"{label}: completed per week", kind, read(lambda s, f=recent: reports.completion_by_week(
                session=s, actor=org_admin, query=ListQuery(filters=f))), sql("report_completion", **since)),
            Case(f"{label}: funnel", kind, read(lambda s, f=recent: reports.funnel(
                session=s, actor=org_admin, query=ListQuery(filters=f))), sql("report_funnel", **since)),
            Case(f"{label}: score distribution", kind, read(lambda s, f=of_sim: reports.score_distribution(
                session=s, actor=org_admin, query=ListQuery(filters=f))), sql("report_distribution", **since)),
            Case(f"{label}: by department (2 charts)", kind, read(
                lambda s, f=recent: by_dept[0](session=s, actor=org_admin, query=ListQuery(filters=f)),
                lambda s, f=recent: by_dept[1](session=s, actor=org_admin, query=ListQuery(filters=f)),
            ), sql("report_departments", **since)),
        ]  # fmt: skip
    out += [
        Case("engine: complete a session (+ debrief)", "completion", rolled_back(complete), sql("complete")),
        Case("sweep: abandoned sessions", "sweep",
             rolled_back(lambda s: sweeps.mark_abandoned(session=s, idle=timedelta(minutes=120))),
             sql("sweep_abandoned")),
        Case("sweep: overdue assignments", "sweep", rolled_back(lambda s: assignments.mark_overdue(session=s)),
             sql("sweep_overdue")),
        Case("sweep: sessions missing a debrief", "sweep",
             rolled_back(lambda s: ingest.sessions_awaiting_debrief(session=s)), sql("sweep_debriefs")),
    ]  # fmt: skip
    out += page_sessions.cases(Case, read, sql, {"admin": admin, "org_admin": org_admin}, ids)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs=2, default=[100_000, 1_000_000], help="Events at each size.")
    parser.add_argument("--repeats", type=int, default=30, help="Timed calls per case (at least 20).")
    parser.add_argument("--no-browser", action="store_true", help="Skip the Chromium timings.")
    args = parser.parse_args()

    from console import db

    workdir = Path(tempfile.mkdtemp(prefix="svp-", dir="/tmp"))
    pg = None
    if os.environ.get("DATABASE_URL"):
        admin_uri = os.environ["DATABASE_URL"].replace("postgresql+psycopg://", "postgresql://", 1)
    else:
        import pgserver

        pg = pgserver.get_server(workdir / "pg", cleanup_mode="stop")
        admin_uri = pg.get_uri("postgres")
    results: dict[int, dict[str, tuple]] = {}
    browser: dict[int, dict] = {}
    try:
        print(f"Page benchmark — {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {os.cpu_count()} cores, "
              f"{args.repeats} timed calls a case\n")  # fmt: skip
        loaded, urls = {}, {}
        for events in args.sizes:
            name = f"bench_pages_{events}"
            with psycopg.connect(admin_uri, autocommit=True) as conn:
                conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
                conn.execute(f"CREATE DATABASE {name}")
            urls[events] = _url_for(admin_uri, name)
            loaded[events] = load(urls[events], events)
            counts = ", ".join(f"{v:,} {k}" for k, v in loaded[events]["counts"].items())
            print(f"{events:,} events: loaded in {loaded[events]['seconds']:.0f} s ({counts})")
            db.dispose()
        # Case by case, each size in turn: both sizes measured by the same process in the same state.
        built = {}
        for events in args.sizes:
            db.configure(urls[events])
            built[events] = cases(urls[events], loaded[events]["ids"])
            results[events] = {}
        for index in range(len(built[args.sizes[0]])):
            for events in args.sizes:
                case = built[events][index]
                db.configure(urls[events])
                results[events][case.label] = (
                    case.kind,
                    timed(case.service, args.repeats),
                    timed(case.plain, args.repeats),
                )
        db.dispose()
        explain(urls[args.sizes[1]], loaded[args.sizes[1]]["ids"])
        if not args.no_browser:
            from page_browser import navigation_timings

            for events in args.sizes:
                browser[events] = navigation_timings(urls[events], loaded[events]["logins"], workdir / f"srv-{events}")
        return report(args.sizes, results, browser)
    finally:
        if pg is not None:
            pg.cleanup()


def explain(url: str, ids: dict) -> None:
    """The plans of the statements whose cost had grown with history, on the larger database: each should
    name the index that keeps it to what is live or recent."""
    from page_sql import EXPLAINED

    now = datetime.now(UTC)
    params = {**ids, "playing": uuid.uuid4(), "since": now - timedelta(days=30), "day": now - timedelta(days=1),
              "idle": now - timedelta(minutes=120), "email": "someone@umbrella.example"}  # fmt: skip
    print("\nPlans at the larger size (EXPLAIN ANALYZE; the index each one uses):")
    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://", 1)) as conn:
        for label, statement in EXPLAINED.items():
            plan = [row[0] for row in conn.execute(f"EXPLAIN (ANALYZE, COSTS OFF) {statement}", params)]
            scans = [line.strip() for line in plan if " on " in line or "Index Cond" in line]
            took = next((line.split(":", 1)[1].strip() for line in plan if line.startswith("Execution Time")), "?")
            print(f"  {label:44} {took:>12}  {' | '.join(scans)[:150]}")


def _url_for(admin_uri: str, dbname: str) -> str:
    from console.db import to_sqlalchemy_url

    base, _, query = admin_uri.partition("?")
    return to_sqlalchemy_url(base.rsplit("/", 1)[0] + "/" + dbname + (f"?{query}" if query else ""))


def report(sizes: list[int], results: dict, browser: dict) -> int:
    small, large = sizes
    print(f"\n{'case':42} {'':>4}{'service median / p95 ms':>24} {'growth':>7}   "
          f"{'plain SQL median ms':>20} {'growth':>7}  verdict")  # fmt: skip
    print(f"{'':42} {'':>4}{f'{small:,}':>11} {f'{large:,}':>12}")
    failures = 0
    for label, (kind, (s_med, s_p95), (q_med, _)) in results[small].items():
        _, (l_med, l_p95), (ql_med, _) = results[large][label]
        growth, floor_growth = l_med / s_med, ql_med / q_med
        bar = {"page": PAGE_P95_MS, "list": PAGE_P95_MS, "completion": COMPLETION_P95_MS, "sweep": SWEEP_P95_MS}[kind]
        ok = l_p95 < bar and (kind != "page" or growth <= GROWTH)
        failures += not ok
        print(f"{label:42} {kind[:4]:>4} {s_med:6.1f} /{s_p95:6.1f} {l_med:6.1f} /{l_p95:6.1f} {growth:6.2f}x"
              f"   {q_med:8.2f} {ql_med:8.2f} {floor_growth:6.2f}x  {'PASS' if ok else 'FAIL'} (p95 < {bar:g} ms"
              f"{', growth <= 1.5x' if kind == 'page' else ''})")  # fmt: skip
    if browser:
        print("\nChromium: navigation to data on screen, median of 5 (ms): total = server + transfer + browser")
        for events, pages in browser.items():
            for path, (total, server, transfer, rest) in pages.items():
                print(f"  {events:>9,} events  {path:32} {total:6.0f} = {server:5.0f} + {transfer:4.0f} + {rest:5.0f}")
    print(f"\n{len(results[small]) - failures} of {len(results[small])} cases within their bars.")
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
