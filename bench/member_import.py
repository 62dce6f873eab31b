"""A members CSV of 5,000 lines (the issue's bar: dry run and apply under 10 s each), and the members list
at 10,000 members.

    python bench/member_import.py                # 5,000 lines; 5,000 more members for the list
    python bench/member_import.py --lines 10000  # the largest file an import takes

One run, one database (an embedded PostgreSQL in a temp folder, or DATABASE_URL when set). Times, through
the services as the import page calls them, each in its own unit of work: staging the file (checked by
content), its dry run, its apply, then the members list's first page, a search and a sort on last play.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def csv_of(lines: int, prefix: str) -> bytes:
    rows = ["email,name,role,department"]
    rows += [
        f"{prefix}{n}@bench.example,Member {n},{'admin' if n % 50 == 0 else 'participant'},Dept {n % 12}"
        for n in range(lines)
    ]
    return ("\r\n".join(rows) + "\r\n").encode()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lines", type=int, default=5000, help="Lines of the CSV.")
    args = parser.parse_args()

    from console import db, migrate, unit_of_work
    from console.auth import Actor
    from console.db import to_sqlalchemy_url
    from console.services.listing import ListQuery
    from console.services.people import csv_import, members
    from models import Organization, OrgPlan, UserRole

    workdir = Path(tempfile.mkdtemp(prefix="svm-", dir="/tmp"))
    pg = None
    try:
        if os.environ.get("DATABASE_URL"):
            url = to_sqlalchemy_url(os.environ["DATABASE_URL"])
        else:
            import pgserver

            pg = pgserver.get_server(workdir / "pg", cleanup_mode="stop")
            with psycopg.connect(pg.get_uri("postgres"), autocommit=True) as conn:
                conn.execute("CREATE DATABASE bench_people")
            url = to_sqlalchemy_url(pg.get_uri("bench_people"))
        migrate.upgrade(url)
        db.configure(url)
        with unit_of_work.transaction() as session:
            org = Organization(name="Bench Co", slug="bench-co", plan=OrgPlan.enterprise, seat_limit=50_000)
            session.add(org)
            session.flush()
            org_id = org.id
        admin = Actor.for_user(user_id=None, role=UserRole.platform_admin, organization_id=None, name="bench")

        def timed(label: str, op, **kwargs):  # noqa: ANN001, ANN202
            started = time.perf_counter()
            with unit_of_work.transaction() as session:
                result = op(session=session, actor=admin, **kwargs)
            elapsed = time.perf_counter() - started
            print(f"  {label:<34} {elapsed:7.2f} s")
            return result, elapsed

        print(f"Member import benchmark — {os.cpu_count()} cores, {args.lines:,} lines")
        figures = {}
        for round_, prefix in (("first import", "a"), ("second import (list at 2x)", "b")):
            content = csv_of(args.lines, prefix)
            print(f"{round_}: {len(content) / 1024:.0f} KiB")
            staged, figures[f"{prefix}.stage"] = timed(
                "stage (checked by content)",
                csv_import.stage,
                organization_id=org_id,
                filename="m.csv",
                content=content,
            )
            report, figures[f"{prefix}.dry"] = timed("dry run", csv_import.dry_run, import_id=staged.id)
            assert report.ok and report.seats_needed == args.lines, report.counts
            applied, figures[f"{prefix}.apply"] = timed("apply", csv_import.apply, import_id=staged.id)
            assert applied.counts["created"] == args.lines
        with unit_of_work.read_only() as session:
            total = members.list_(
                session=session, actor=admin, query=ListQuery(filters={"organization_id": str(org_id)})
            ).total
        print(f"members list at {total:,} members (median of 10):")
        for label, query in (
            ("first page by name", ListQuery(filters={"organization_id": str(org_id)})),
            ("search 'member 42'", ListQuery(search="member 42", filters={"organization_id": str(org_id)})),
            ("department filter", ListQuery(filters={"organization_id": str(org_id), "department": "Dept 3"})),
            ("sort by last played", ListQuery(sort="last_played_at", filters={"organization_id": str(org_id)})),
        ):
            times = []
            for _ in range(10):
                started = time.perf_counter()
                with unit_of_work.read_only() as session:
                    members.list_(session=session, actor=admin, query=query)
                times.append((time.perf_counter() - started) * 1000)
            print(f"  {label:<34} {statistics.median(times):7.1f} ms")
        worst = max(figures[k] for k in figures if not k.endswith("stage"))
        print(f"slowest dry run or apply: {worst:.2f} s (bar: 10 s) — {'OK' if worst < 10 else 'TOO SLOW'}")
        return 0 if worst < 10 else 1
    finally:
        db.dispose()
        if pg is not None:
            pg.cleanup()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
