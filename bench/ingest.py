#!/usr/bin/env python3
"""Ingest benchmark: the engine API under a bounded load, against the raw limits of the same database.

    DATABASE_URL=postgresql+psycopg://… python bench/ingest.py --base-url http://127.0.0.1:8081

With DATABASE_URL pointing at the database the server uses, it creates its own simulation, module,
player and API key, then in one run on that database:

1. the API: N concurrent engines (each its own session) posting batches of 1 and of 100 events,
   closed loop (each engine sends its next request when the last is answered) → events/s, p50/p99;
2. the same at half that saturating rate, open loop (requests on a fixed schedule) → p50/p99;
3. the raw limits: a psycopg COPY of the same number of rows, and single-row INSERT+commit over
   1 and 8 connections;
4. the ratios the issue sets as the bar (batches of 100 ≥ 0.50× COPY; single events ≥ 0.50× the
   8-connection INSERT+commit; p99 at half rate ≤ 25 ms single / ≤ 150 ms batches of 100).

Run it once against `simvado-console serve-api` and once against `simvado-console serve` to compare
the bare engine API with the full console process.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def setup(database_url: str) -> dict:
    """A published simulation with one module, a player and a write key, made through the services."""
    from console import db
    from console.auth import system_principal
    from console.services import api_keys
    from models import Module, Organization, Simulation, User
    from models.enums import Difficulty, ModuleStatus, OrgPlan, SimulationFormat, SimulationStatus, UserRole

    db.configure(database_url)
    tag = uuid.uuid4().hex[:8]
    with db.transaction() as s:
        org = Organization(name=f"Bench {tag}", slug=f"bench-{tag}", plan=OrgPlan.standard)
        s.add(org)
        s.flush()
        sim = Simulation(
            title=f"Bench {tag}",
            slug=f"bench-{tag}",
            difficulty=Difficulty.foundational,
            format=SimulationFormat.external_custom,
            status=SimulationStatus.published,
            scoring_config={"dimensions": [{"key": "financial", "label": "Financial", "weight": 1}], "pass_mark": 50},
        )
        s.add(sim)
        s.flush()
        module = Module(simulation_id=sim.id, title="Bench", slug=f"bench-{tag}", status=ModuleStatus.published)
        player = User(
            email=f"bench-{tag}@bench.example",
            name="Bench",
            role=UserRole.enterprise_participant,
            organization_id=org.id,
        )
        s.add_all([module, player])
        s.flush()
        key = api_keys.create(session=s, principal=system_principal("bench"), data={"name": f"bench {tag}"}).key
    return {"module": str(module.id), "player": player.email, "key": key}


def make_events(n: int, start: datetime) -> list[dict]:
    return [
        {
            "id": str(uuid.uuid4()),
            "type": "decision",
            "timestamp": (start + timedelta(milliseconds=i)).isoformat(),
            "data": {"decision_id": f"d{i}", "choice_id": "c1", "time_to_decide_ms": 1200, "impacts": {"financial": 1}},
        }
        for i in range(n)
    ]


async def start_session(client: httpx.AsyncClient, world: dict) -> str:
    response = await client.post(
        "/api/v1/sessions",
        json={
            "module_id": world["module"],
            "player": {"email": world["player"]},
            "external_session_id": f"bench-{uuid.uuid4().hex}",
        },
    )
    response.raise_for_status()
    return response.json()["id"]


async def api_load(
    base_url: str, world: dict, *, engines: int, requests: int, batch: int, rate: float | None = None
) -> dict:
    """`requests` posts per engine. Closed loop when rate is None; else open loop at `rate` requests/s overall."""
    headers = {"Authorization": f"Bearer {world['key']}"}
    limits = httpx.Limits(max_connections=engines, max_keepalive_connections=engines)
    async with httpx.AsyncClient(base_url=base_url, headers=headers, limits=limits, timeout=30) as client:
        sessions = [await start_session(client, world) for _ in range(engines)]
        latencies: list[float] = []
        errors = 0
        now = datetime.now(UTC)

        async def engine(index: int) -> None:
            nonlocal errors
            interval = engines / rate if rate else 0.0
            next_at = time.perf_counter() + (index * interval / engines if rate else 0)
            for _ in range(requests):
                if rate:
                    delay = next_at - time.perf_counter()
                    if delay > 0:
                        await asyncio.sleep(delay)
                    next_at += interval
                body = {"session_id": sessions[index], "events": make_events(batch, now)}
                t0 = time.perf_counter()
                response = await client.post("/api/v1/events", json=body)
                latencies.append(time.perf_counter() - t0)
                if response.status_code != 200 or response.json()["accepted"] != batch:
                    errors += 1

        t0 = time.perf_counter()
        await asyncio.gather(*(engine(i) for i in range(engines)))
        elapsed = time.perf_counter() - t0
    latencies.sort()
    total_requests = engines * requests
    return {
        "requests_per_s": total_requests / elapsed,
        "events_per_s": total_requests * batch / elapsed,
        "p50_ms": 1000 * statistics.median(latencies),
        "p99_ms": 1000 * latencies[min(len(latencies) - 1, int(0.99 * len(latencies)))],
        "errors": errors,
    }


def _libpq(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


def _bench_session(conn: psycopg.Connection, world: dict) -> uuid.UUID:
    row = conn.execute(
        "INSERT INTO sessions (id, user_id, module_id, status, started_at) "
        "SELECT gen_random_uuid(), u.id, %s, 'in_progress', now() FROM users u WHERE u.email = %s RETURNING id",
        (world["module"], world["player"]),
    ).fetchone()
    conn.commit()
    return row[0]


def raw_copy(database_url: str, world: dict, rows: int) -> float:
    """Rows/s of one COPY (one transaction, committed) of `rows` decision events."""
    with psycopg.connect(_libpq(database_url)) as conn:
        conn.execute("SET synchronous_commit = on")
        session_id = _bench_session(conn, world)
        now = datetime.now(UTC)
        data = json.dumps({"decision_id": "d", "choice_id": "c1", "impacts": {"financial": 1}})
        t0 = time.perf_counter()
        with (
            conn.cursor() as cur,
            cur.copy(
                "COPY game_events (id, session_id, event_type, event_data, timestamp, received_at) FROM STDIN"
            ) as copy,
        ):
            for i in range(rows):
                copy.write_row((uuid.uuid4(), session_id, "decision", data, now + timedelta(milliseconds=i), now))
        conn.commit()
        return rows / (time.perf_counter() - t0)


def raw_inserts(database_url: str, world: dict, rows: int, connections: int) -> float:
    """Rows/s of single-row INSERT + commit, over `connections` connections in parallel."""
    per = rows // connections
    data = json.dumps({"decision_id": "d", "choice_id": "c1", "impacts": {"financial": 1}})

    def worker() -> None:
        with psycopg.connect(_libpq(database_url)) as conn:
            conn.execute("SET synchronous_commit = on")
            session_id = _bench_session(conn, world)
            for _ in range(per):
                now = datetime.now(UTC)
                conn.execute(
                    "INSERT INTO game_events (id, session_id, event_type, event_data, timestamp, received_at) "
                    "VALUES (%s, %s, 'decision', %s, %s, %s)",
                    (uuid.uuid4(), session_id, data, now, now),
                )
                conn.commit()

    threads = [threading.Thread(target=worker) for _ in range(connections)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return per * connections / (time.perf_counter() - t0)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-url", default="http://127.0.0.1:8081")
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL"))
    parser.add_argument("--engines", type=int, default=8, help="concurrent engines")
    parser.add_argument("--single-requests", type=int, default=300, help="posts per engine with 1 event")
    parser.add_argument("--batch-requests", type=int, default=30, help="posts per engine with 100 events")
    args = parser.parse_args()
    if not args.database_url:
        parser.error("set DATABASE_URL (the server's database) or --database-url")
    world = setup(args.database_url)

    results = {}
    for label, batch, requests in (("single", 1, args.single_requests), ("batch100", 100, args.batch_requests)):
        saturated = asyncio.run(api_load(args.base_url, world, engines=args.engines, requests=requests, batch=batch))
        half = asyncio.run(
            api_load(
                args.base_url,
                world,
                engines=args.engines,
                requests=max(10, requests // 2),
                batch=batch,
                rate=saturated["requests_per_s"] / 2,
            )
        )
        results[label] = (saturated, half)
        print(
            f"API {label:9} saturated: {saturated['events_per_s']:8.0f} events/s  "
            f"p50 {saturated['p50_ms']:6.1f} ms  p99 {saturated['p99_ms']:6.1f} ms  errors {saturated['errors']}"
        )
        print(
            f"API {label:9} half rate: {half['events_per_s']:8.0f} events/s  "
            f"p50 {half['p50_ms']:6.1f} ms  p99 {half['p99_ms']:6.1f} ms  errors {half['errors']}"
        )

    copy_rows = args.engines * args.batch_requests * 100
    copy_rate = raw_copy(args.database_url, world, copy_rows)
    insert_1 = raw_inserts(args.database_url, world, 2000, 1)
    insert_8 = raw_inserts(args.database_url, world, 4000, 8)
    print(f"raw COPY:                     {copy_rate:8.0f} rows/s ({copy_rows} rows)")
    print(f"raw INSERT+commit, 1 conn:    {insert_1:8.0f} rows/s")
    print(f"raw INSERT+commit, 8 conns:   {insert_8:8.0f} rows/s")

    single, batch = results["single"], results["batch100"]
    checks = [
        ("batches of 100 / COPY", batch[0]["events_per_s"] / copy_rate, 0.50, ">="),
        ("single events / 8-conn INSERT+commit", single[0]["events_per_s"] / insert_8, 0.50, ">="),
        ("p99 single at half rate (ms)", single[1]["p99_ms"], 25, "<="),
        ("p99 batch100 at half rate (ms)", batch[1]["p99_ms"], 150, "<="),
    ]
    print()
    for name, value, bar, op in checks:
        ok = value >= bar if op == ">=" else value <= bar
        print(f"{name:40} {value:8.2f}  (bar {op} {bar})  {'ok' if ok else 'BELOW THE BAR'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
