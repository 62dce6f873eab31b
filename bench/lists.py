"""Studio lists with thousands of rows: the services' pages against hand-written SQL on the same data.

    python bench/lists.py               # 5,000 simulations, 2,000 modules in one, 3,000 media in one module
    python bench/lists.py --scale 2     # twice as many

One run, one database (an embedded PostgreSQL in a temp folder, or DATABASE_URL when set). For each
list the issue names (simulations, a simulation's modules, a module's media) it times the page the
console asks for — first page, search, filters, another sort, the last page — through the service
(scoping, search, count and page, as the page calls it) and, as the raw baseline, the same page as
one plain SQL statement plus its count over psycopg. It prints the median and p95 in milliseconds
and the service/raw ratio; a page is "usable" here when its median stays under 50 ms.
"""

from __future__ import annotations

import argparse
import random
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

USABLE_MS = 50.0
WORDS = [
    "crisis",
    "board",
    "merger",
    "supply",
    "chain",
    "leadership",
    "negotiation",
    "breach",
    "investor",
    "launch",
    "recall",
    "strike",
    "budget",
    "pivot",
    "audit",
    "union",
    "expansion",
    "rebrand",
    "layoffs",
    "outage",
    "takeover",
]
CATEGORIES = ["Executive Leadership", "Crisis Management", "Change Management", "Operations", "People Leadership"]


def row(model: type, values: dict) -> dict:
    """A table model's column values with its defaults filled in (Core inserts skip Python defaults)."""
    return model(**values).model_dump()


def seed(url: str, scale: int) -> dict:
    """Bulk rows through SQLAlchemy Core (the ORM would take minutes); returns the ids the timings use."""
    from sqlalchemy import create_engine, insert

    from models import MediaAsset, Module, Simulation, User
    from models.enums import Difficulty, MediaType, ModuleStatus, SimulationFormat, SimulationStatus, UserRole

    rng = random.Random(7)
    now = datetime.now(UTC)
    engine = create_engine(url)
    creator, other = uuid.uuid4(), uuid.uuid4()
    sims = []
    for n in range(5000 * scale):
        title = " ".join(rng.sample(WORDS, 3)).title() + f" {n}"
        sims.append(
            row(
                Simulation,
                {
                    "id": uuid.uuid4(),
                    "title": title,
                    "slug": f"bench-{n}",
                    "description": " ".join(rng.choices(WORDS, k=12)),
                    "category": rng.choice(CATEGORIES),
                    "skill_tags": rng.sample(WORDS, 3),
                    "difficulty": rng.choice(list(Difficulty)),
                    "format": rng.choice(list(SimulationFormat)),
                    "status": rng.choice(list(SimulationStatus)),
                    "author_id": creator if n % 2 else other,
                    "estimated_duration_min": rng.randint(10, 90),
                    "created_at": now - timedelta(minutes=n),
                    "updated_at": now - timedelta(minutes=rng.randint(0, 100_000)),
                },
            )
        )
    big_sim = sims[1]["id"]  # authored by `creator`
    modules = [
        row(
            Module,
            {
                "id": uuid.uuid4(),
                "simulation_id": big_sim,
                "title": " ".join(rng.sample(WORDS, 2)).title() + f" {n}",
                "slug": f"module-{n}",
                "sort_order": n,
                "stakeholders": [],
                "status": rng.choice(list(ModuleStatus)),
                "created_at": now,
            },
        )
        for n in range(2000 * scale)
    ]
    big_module = modules[0]["id"]
    media = [
        row(
            MediaAsset,
            {
                "id": uuid.uuid4(),
                "module_id": big_module,
                "type": rng.choice(list(MediaType)),
                "url": f"/media/{uuid.uuid4()}.bin",
                "filename": f"{rng.choice(WORDS)}-{n}.bin",
                "size_bytes": rng.randint(1_000, 50_000_000),
                "uploaded_at": now - timedelta(seconds=n),
            },
        )
        for n in range(3000 * scale)
    ]
    with engine.begin() as conn:
        conn.execute(
            insert(User),
            [
                row(
                    User,
                    {"id": user, "email": f"{user}@bench.example", "name": "Creator", "role": UserRole.studio_creator},
                )
                for user in (creator, other)
            ],
        )
        conn.execute(insert(Simulation), sims)
        conn.execute(insert(Module), modules)
        conn.execute(insert(MediaAsset), media)
        conn.exec_driver_sql("ANALYZE")
    engine.dispose()
    return {"creator": creator, "simulation": big_sim, "module": big_module, "simulations": len(sims)}


def timed(fn: Callable[[], object], repeats: int) -> list[float]:
    fn()  # warm: caches, prepared plans
    samples = []
    for _ in range(repeats):
        started = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=int, default=1, help="Multiply the row counts.")
    parser.add_argument("--repeats", type=int, default=30, help="Timed calls per case.")
    args = parser.parse_args()

    import os

    from sqlmodel import Session

    from console import db, migrate, unit_of_work
    from console.auth import Actor
    from console.db import to_sqlalchemy_url
    from console.services import media, modules, simulations
    from console.services.listing import ListQuery
    from models.enums import Difficulty, MediaType, SimulationStatus, UserRole

    workdir = Path(tempfile.mkdtemp(prefix="svl-", dir="/tmp"))
    pg = None
    try:
        if os.environ.get("DATABASE_URL"):
            url = to_sqlalchemy_url(os.environ["DATABASE_URL"])
        else:
            import pgserver

            pg = pgserver.get_server(workdir / "pg", cleanup_mode="stop")
            with psycopg.connect(pg.get_uri("postgres"), autocommit=True) as conn:
                conn.execute("CREATE DATABASE bench_lists")
            url = to_sqlalchemy_url(pg.get_uri("bench_lists"))
        migrate.upgrade(url)
        started = time.perf_counter()
        ids = seed(url, args.scale)
        print(f"Studio lists benchmark — {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {os.cpu_count()} cores")
        print(
            f"Seeded {ids['simulations']:,} simulations, {2000 * args.scale:,} modules in one, "
            f"{3000 * args.scale:,} media in one module ({time.perf_counter() - started:.1f} s); "
            f"{args.repeats} timed calls a case\n"
        )
        db.configure(url)
        admin = Actor.system("bench")
        creator = Actor.for_user(user_id=ids["creator"], role=UserRole.studio_creator, organization_id=None)
        raw = psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://", 1))

        def service(call: Callable[[Session], object]) -> Callable[[], object]:
            def run() -> object:
                with unit_of_work.read_only() as session:
                    return call(session)

            return run

        def plain(sql: str, count: str, params: dict, extra: str = "") -> Callable[[], object]:
            """The page as one statement plus its count; `extra` fills their {extra} condition slot."""
            sql, count = sql.format(extra=extra), count.format(extra=extra)

            def run() -> object:
                rows = raw.execute(sql, params).fetchall()  # noqa: S608 — constant SQL, parameters bound
                total = raw.execute(count, params).fetchone()
                raw.rollback()
                return rows, total

            return run

        last_sim = ids["simulations"] - 25
        sim_sql = "SELECT * FROM simulations {where} ORDER BY {order}, id LIMIT 25 OFFSET %(offset)s"
        sim_count = "SELECT count(*) FROM simulations {where}"
        search_where = (
            "WHERE title ILIKE %(t)s OR description ILIKE %(t)s OR category ILIKE %(t)s "
            "OR array_to_string(skill_tags, ' ') ILIKE %(t)s"
        )

        def sim_case(label: str, actor: Actor, query: ListQuery, where: str, order: str):
            params = {
                "offset": query.offset,
                "t": f"%{query.search}%",
                "s": "review",
                "d": "advanced",
                "a": actor.user_id,
            }
            return (
                label,
                service(lambda s: simulations.list_(session=s, actor=actor, query=query)),
                plain(sim_sql.format(where=where, order=order), sim_count.format(where=where), params),
            )

        Q = ListQuery  # noqa: N806
        cases = [
            sim_case("simulations: first page (admin)", admin, Q(), "", "updated_at DESC"),
            sim_case("simulations: search 'crisis'", admin, Q(search="crisis"), search_where, "updated_at DESC"),
            sim_case(
                "simulations: status + difficulty",
                admin,
                Q(filters={"status": SimulationStatus.review.value, "difficulty": Difficulty.advanced.value}),
                "WHERE status = %(s)s AND difficulty = %(d)s",
                "updated_at DESC",
            ),
            sim_case("simulations: sorted by title", admin, Q(sort="title", descending=False), "", "title"),
            sim_case("simulations: last page", admin, Q(offset=last_sim), "", "updated_at DESC"),
            sim_case(
                "simulations: creator's view",
                creator,
                Q(),
                "WHERE author_id = %(a)s OR status = 'published'",
                "updated_at DESC",
            ),
        ]
        mod_params = {"sim": ids["simulation"], "offset": 0, "t": "%board%"}
        mod_sql = (
            "SELECT * FROM modules WHERE simulation_id = %(sim)s {extra} "
            "ORDER BY sort_order, id LIMIT 50 OFFSET %(offset)s"
        )
        mod_count = "SELECT count(*) FROM modules WHERE simulation_id = %(sim)s {extra}"
        cases += [
            (
                f"modules: first page of {2000 * args.scale:,}",
                service(
                    lambda s: modules.list_(
                        session=s, actor=creator, simulation_id=ids["simulation"], query=ListQuery(limit=50)
                    )
                ),
                plain(mod_sql, mod_count, mod_params),
            ),
            (
                "modules: search 'board'",
                service(
                    lambda s: modules.list_(
                        session=s,
                        actor=creator,
                        simulation_id=ids["simulation"],
                        query=ListQuery(search="board", limit=50),
                    )
                ),
                plain(mod_sql, mod_count, mod_params, "AND title ILIKE %(t)s"),
            ),
        ]
        media_params = {"m": ids["module"], "t": "%crisis%", "k": MediaType.image.value}
        media_sql = "SELECT * FROM media_assets WHERE module_id = %(m)s {extra} ORDER BY uploaded_at DESC, id LIMIT 50"
        media_count = "SELECT count(*) FROM media_assets WHERE module_id = %(m)s {extra}"
        cases += [
            (
                f"media: first page of {3000 * args.scale:,}",
                service(
                    lambda s: media.list_(session=s, actor=creator, module_id=ids["module"], query=ListQuery(limit=50))
                ),
                plain(media_sql, media_count, media_params),
            ),
            (
                "media: images only",
                service(
                    lambda s: media.list_(
                        session=s,
                        actor=creator,
                        module_id=ids["module"],
                        query=ListQuery(filters={"type": MediaType.image.value}, limit=50),
                    )
                ),
                plain(media_sql, media_count, media_params, "AND type = %(k)s"),
            ),
            (
                "media: search 'crisis'",
                service(
                    lambda s: media.list_(
                        session=s, actor=creator, module_id=ids["module"], query=ListQuery(search="crisis", limit=50)
                    )
                ),
                plain(media_sql, media_count, media_params, "AND filename ILIKE %(t)s"),
            ),
        ]

        print(
            f"    {'case':36} {'service ms':>11} {'p95':>7} {'raw SQL ms':>11} {'ratio':>7}"
            f"  usable (< {USABLE_MS:.0f} ms)"
        )
        failures = 0
        for label, through_service, through_sql in cases:
            ours = timed(through_service, args.repeats)
            base = timed(through_sql, args.repeats)
            median, base_median = statistics.median(ours), statistics.median(base)
            p95 = sorted(ours)[int(0.95 * (len(ours) - 1))]
            ok = median < USABLE_MS
            failures += not ok
            print(
                f"    {label:36} {median:11.2f} {p95:7.2f} {base_median:11.2f} {median / base_median:7.1f}  "
                f"{'yes' if ok else 'NO'}"
            )
        raw.close()
        db.dispose()
        print(f"\n{len(cases) - failures} of {len(cases)} pages under {USABLE_MS:.0f} ms (median).")
        return 0
    finally:
        if pg is not None:
            pg.cleanup()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
