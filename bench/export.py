"""Exports at 100,000 rows: progress and results, CSV and Excel, through the service, against a plain
`COPY (…) TO STDOUT` of the same rows in the same run.

    python bench/export.py               # 100,000 rows (about 2–3 minutes here)
    python bench/export.py --rows 20000  # a quick look

Loads one organization (20,000 people in 5 departments, 5 published simulations with three scoring
dimensions, every person assigned every simulation and a completed session of each: 100,000 assignments
and 100,000 sessions) into its own database (an embedded PostgreSQL in a temp folder, or the server of
DATABASE_URL). Each export then runs in a fresh child process, as the organization's admin, so its
peak RSS growth (the process's peak resident memory minus what it held just before the export) is its
own. Bars (issue "Assignments, progress, results and reports"): < 15 s and < 100 MiB growth per export.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SECONDS_BAR, MIB_BAR = 15.0, 100.0
SIMULATIONS, DEPARTMENTS = 5, ("Sales", "Ops", "Finance", "Legal", None)
SCORING = {
    "dimensions": [
        {"key": "financial", "label": "Financial", "weight": 40, "min": 0, "max": 100},
        {"key": "reputational", "label": "Reputational", "weight": 30, "min": 0, "max": 100},
        {"key": "people", "label": "People", "weight": 30, "min": 0, "max": 100},
    ],
    "pass_mark": 60,
}

# The plain floor: the same rows, joined and ordered the same way, as CSV straight out of PostgreSQL.
COPY_PROGRESS = """
COPY (SELECT u.name, u.email, m.department, o.name, s.title,
             CASE WHEN a.status <> 'completed' AND a.due_date < current_date THEN 'overdue' ELSE a.status::text END,
             a.due_date, a.assigned_at, a.started_at, a.completed_at, a.score, a.passed
      FROM simulation_assignments a JOIN users u ON u.id = a.assigned_to_user_id
      LEFT JOIN org_memberships m ON m.user_id = a.assigned_to_user_id AND m.organization_id = a.organization_id
      JOIN simulations s ON s.id = a.simulation_id JOIN organizations o ON o.id = a.organization_id
      WHERE a.organization_id = '{org}' ORDER BY a.due_date NULLS LAST, a.id) TO STDOUT (FORMAT csv, HEADER)
"""
COPY_RESULTS = """
COPY (SELECT u.name, u.email, m.department, s.title, md.title, p.started_at, p.completed_at,
             p.total_duration_seconds, p.final_scores ->> 'total', p.final_scores ->> 'financial',
             p.final_scores ->> 'reputational', p.final_scores ->> 'people'
      FROM sessions p JOIN modules md ON md.id = p.module_id JOIN simulations s ON s.id = md.simulation_id
      JOIN users u ON u.id = p.user_id
      LEFT JOIN org_memberships m ON m.user_id = p.user_id AND m.organization_id = '{org}'
      WHERE p.status = 'completed' AND EXISTS (SELECT 1 FROM simulation_assignments a
            WHERE a.assigned_to_user_id = p.user_id AND a.simulation_id = md.simulation_id
            AND a.organization_id = '{org}' AND (p.organization_id = a.organization_id OR p.organization_id IS NULL))
      ORDER BY u.name, s.title, p.completed_at, p.id) TO STDOUT (FORMAT csv, HEADER)
"""


def _rss_mib() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def load(url: str, rows: int) -> dict:
    """Migrate and load the data set with COPY; returns the ids the exports use."""
    from console import migrate

    migrate.upgrade(url)
    rng = random.Random(7)
    people = rows // SIMULATIONS
    now = datetime.now(UTC)
    org, admin = uuid.uuid4(), uuid.uuid4()
    sims = [(uuid.uuid4(), uuid.uuid4(), f"Simulation {n}") for n in range(SIMULATIONS)]
    users = [(uuid.uuid4(), f"Person {n:06d}", DEPARTMENTS[n % len(DEPARTMENTS)]) for n in range(people)]
    from console import db, unit_of_work
    from models import Module, Organization, Simulation
    from models.enums import Difficulty, ModuleStatus, OrgPlan, SimulationFormat, SimulationStatus

    db.configure(url)
    with unit_of_work.transaction() as session:  # the few rows with many defaults: through the models
        session.add(Organization(id=org, name="Bench Org", slug="bench-org", plan=OrgPlan.enterprise, seat_limit=None))
        for sim, module, title in sims:
            session.add(Simulation(id=sim, title=title, slug=title.lower().replace(" ", "-"), scoring_config=SCORING,
                                   status=SimulationStatus.published, difficulty=Difficulty.intermediate,
                                   format=SimulationFormat.branching_narrative))  # fmt: skip
            session.flush()
            session.add(Module(id=module, simulation_id=sim, title="Module", slug=f"m-{module.hex[:8]}",
                               status=ModuleStatus.published, launch_url="https://play.bench.example/m"))  # fmt: skip
    db.dispose()
    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://", 1)) as conn:
        with conn.cursor().copy(
            "COPY users (id, email, name, role, organization_id, subscription_tier, created_at, updated_at) FROM STDIN"
        ) as copy:
            copy.write_row(
                (admin, "admin@bench.example", "Bench Admin", "enterprise_admin", org, "enterprise", now, now)
            )
            for uid, name, _ in users:
                copy.write_row((uid, f"{name.replace(' ', '.').lower()}@bench.example", name,
                                "enterprise_participant", org, "enterprise", now, now))  # fmt: skip
        with conn.cursor().copy(
            "COPY org_memberships (id, user_id, organization_id, role, department, joined_at) FROM STDIN"
        ) as copy:
            copy.write_row((uuid.uuid4(), admin, org, "admin", None, now))
            for uid, _, dept in users:
                copy.write_row((uuid.uuid4(), uid, org, "participant", dept, now))
        with (
            conn.cursor().copy(
                "COPY simulation_assignments (id, organization_id, assigned_by_user_id, assigned_to_user_id, "
                "simulation_id, due_date, status, assigned_at, started_at, completed_at, score, passed) FROM STDIN"
            ) as assignments,
        ):
            for uid, _, _ in users:
                for sim, _, _ in sims:
                    began = now - timedelta(days=rng.randint(2, 300))
                    done = began + timedelta(hours=1)
                    score = round(rng.uniform(20, 100), 1)
                    assignments.write_row((uuid.uuid4(), org, admin, uid, sim, (began + timedelta(days=30)).date(),
                                           "completed", began, began, done, score, score >= 60))  # fmt: skip
        with conn.cursor().copy(
            "COPY sessions (id, user_id, module_id, organization_id, status, started_at, completed_at, "
            "total_duration_seconds, final_scores) FROM STDIN"
        ) as copy:
            for uid, _, _ in users:
                for _, module, _ in sims:
                    began = now - timedelta(days=rng.randint(2, 300))
                    scores = {k: round(rng.uniform(0, 100), 1) for k in ("financial", "reputational", "people")}
                    scores["total"] = round(sum(scores.values()) / 3, 1)
                    copy.write_row((uuid.uuid4(), uid, module, org, "completed", began, began + timedelta(hours=1),
                                    3600, json.dumps(scores)))  # fmt: skip
        conn.execute("ANALYZE")
    return {"org": str(org), "admin": str(admin)}


def one(url: str, ids: dict, kind: str, fmt: str, out: Path) -> dict:
    """One export in this (fresh) process: seconds, rows, and peak RSS growth."""
    from console import db, unit_of_work
    from console.auth import Actor
    from console.services.assignments import exports
    from console.services.listing import ListQuery
    from models.enums import UserRole

    db.configure(url)
    actor = Actor.for_user(user_id=uuid.UUID(ids["admin"]), role=UserRole.enterprise_admin,
                           organization_id=uuid.UUID(ids["org"]))  # fmt: skip
    with unit_of_work.read_only() as session:  # warm: imports, the connection, XlsxWriter
        warm = ListQuery(filters={"user_id": ids["admin"]})
        exports.write(session=session, actor=actor, kind=kind, fmt=fmt, query=warm, path=out)
    before = _rss_mib()
    started = time.perf_counter()
    with unit_of_work.transaction() as session:
        outcome = exports.write(session=session, actor=actor, kind=kind, fmt=fmt, query=ListQuery(), path=out)
    seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"rows": outcome.rows, "seconds": seconds, "growth": max(0.0, peak - before), "before": before,
            "bytes": out.stat().st_size}  # fmt: skip


def copy_floor(url: str, ids: dict, statement: str, out: Path) -> tuple[float, int]:
    started = time.perf_counter()
    with (
        psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://", 1)) as conn,
        out.open("wb") as f,
        conn.cursor().copy(statement.format(org=ids["org"])) as copy,
    ):
        for data in copy:
            f.write(data)
    return time.perf_counter() - started, out.stat().st_size


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--one", nargs=4, metavar=("URL", "IDS", "KIND", "FORMAT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        url, ids, kind, fmt = args.one
        with tempfile.TemporaryDirectory() as tmp:
            print(json.dumps(one(url, json.loads(ids), kind, fmt, Path(tmp) / f"export.{fmt}")))
        return 0

    from console.db import to_sqlalchemy_url

    workdir = Path(tempfile.mkdtemp(prefix="sve-", dir="/tmp"))
    pg = None
    if os.environ.get("DATABASE_URL"):
        admin_uri = os.environ["DATABASE_URL"].replace("postgresql+psycopg://", "postgresql://", 1)
    else:
        import pgserver

        pg = pgserver.get_server(workdir / "pg", cleanup_mode="stop")
        admin_uri = pg.get_uri("postgres")
    try:
        with psycopg.connect(admin_uri, autocommit=True) as conn:
            conn.execute("DROP DATABASE IF EXISTS bench_export WITH (FORCE)")
            conn.execute("CREATE DATABASE bench_export")
        base, _, query = admin_uri.partition("?")
        url = to_sqlalchemy_url(base.rsplit("/", 1)[0] + "/bench_export" + (f"?{query}" if query else ""))
        started = time.perf_counter()
        ids = load(url, args.rows)
        print(f"Export benchmark — {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {os.cpu_count()} cores, "
              f"{args.rows:,} rows loaded in {time.perf_counter() - started:.0f} s; Excel by XlsxWriter "
              "(constant memory)\n")  # fmt: skip
        floors = {
            "progress": copy_floor(url, ids, COPY_PROGRESS, workdir / "progress.csv"),
            "results": copy_floor(url, ids, COPY_RESULTS, workdir / "results.csv"),
        }
        print(f"{'export':22} {'rows':>8} {'seconds':>8} {'× COPY':>7} {'RSS growth MiB':>15} {'size MiB':>9}  verdict")
        failures = 0
        for kind in ("progress", "results"):
            floor_s, floor_bytes = floors[kind]
            print(f"{'COPY TO (' + kind + ')':22} {'':>8} {floor_s:8.2f} {1:7.1f} {'':>15} "
                  f"{floor_bytes / 2**20:9.1f}  (the floor)")  # fmt: skip
            for fmt in ("csv", "xlsx"):
                child = subprocess.run(
                    [sys.executable, __file__, "--one", url, json.dumps(ids), kind, fmt],
                    capture_output=True, text=True, check=True,
                )  # fmt: skip
                got = json.loads(child.stdout.strip().splitlines()[-1])
                ok = got["seconds"] < SECONDS_BAR and got["growth"] < MIB_BAR
                failures += not ok
                print(f"{kind + ' ' + fmt:22} {got['rows']:>8,} {got['seconds']:8.2f} "
                      f"{got['seconds'] / floor_s:7.1f} {got['growth']:15.1f} {got['bytes'] / 2**20:9.1f}  "
                      f"{'PASS' if ok else 'FAIL'} (< {SECONDS_BAR:g} s, < {MIB_BAR:g} MiB)")  # fmt: skip
        print(f"\n{4 - failures} of 4 exports within their bars.")
        return 1 if failures else 0
    finally:
        if pg is not None:
            pg.cleanup()


if __name__ == "__main__":
    raise SystemExit(main())
