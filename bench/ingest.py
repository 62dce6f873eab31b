"""Engine API ingest benchmark: the API's throughput and latency against the database's raw limits.

    python bench/ingest.py            # full run (about 11 minutes on 2 cores)
    python bench/ingest.py --quick    # shorter phases, 10k requests for the memory check

One run, one database (an embedded PostgreSQL in a temp folder with durable settings — fsync and
synchronous_commit on — or DATABASE_URL when set; the bench adds a few rows to it):

(a) raw limits: psycopg COPY of game_events rows shaped like the API's, single-row INSERT+commit on
    1 connection and on 8 connections;
(b) API load: N concurrent engines (64 by default; closed loop, bounded in time), batches of 100 and of
    1, against `serve-api` with 1 and 2 workers and the full `serve` process: events/s, p50/p99;
(c) p99 at half the saturating rate (paced open loop, latency measured from the scheduled send time);
(d) the same route in the full console process vs `serve-api` (1 worker: both are one process);
(e) the full console's RSS before/after a bounded number of cookie-less API requests;
(f) what live notifications cost ingest (issue 13: under 5 %): `serve-api` (1 worker) as shipped against
    a copy of it with notifications switched off by this benchmark (`--serve-without-live-notifications`,
    below: a switch of the bench, not of the product), closed loop, interleaved rounds. The full console
    runs beside them throughout, LISTENing, so delivering the notifications is counted too.
    `--only-notification-cost` runs this phase alone;
(g) issue 14's "one key with 64 play sessions posting flat out from 16 connections gets no 429".

Every server runs with the limits as shipped (per key, per play session, per address); closed-loop
engines post to SESSIONS_PER_ENGINE sessions each, in turn. It prints every figure and the ratios
against the bars of issues 3 and 14, each marked PASS or FAIL. All
traffic goes to 127.0.0.1; every loop is bounded in count and time. The load generator shares the
machine with the server and PostgreSQL, so it also prints the CPU each of them spent per request, and
is as light as we could make it: the closed loop uses Debian's wrk (C, epoll; bench/wrk_events.lua
makes the bodies and counts accepted events; installed on first use), about 50 µs of CPU per request
against aiohttp's 200 (`--client aiohttp` for the old one). The paced open loop sends ready-made
requests from timer and protocol callbacks on uvloop; the memory check uses aiohttp. Bodies are made
before each phase and the garbage collector is paused during a phase. Engines in production run on
other machines: the less the load generator takes, the closer to that. The load generators are in
bench/ingest_load.py; this file sets up, runs the phases and judges the bars.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TypeVar

import httpx
import psycopg

ROOT = Path(__file__).resolve().parents[1]
T = TypeVar("T")
sys.path.insert(0, str(ROOT))

from ingest_load import (  # noqa: E402 — bench/ is this script's folder, on the path when it runs
    EVENT_DATA,
    SESSIONS_PER_ENGINE,
    T0,
    Bodies,
    LoadResult,
    Server,
    closed_loop,
    closed_loop_wrk,
    events,
    find_wrk,
    http_ceiling,
    memory_run,
    open_loop,
    run_phase,
    stock_size,
)

SCORING = {
    "dimensions": [
        {"key": "financial", "label": "Financial", "weight": 60, "min": 0, "max": 100},
        {"key": "reputational", "label": "Reputational", "weight": 40, "min": 0, "max": 100},
    ],
    "pass_mark": 60,
}

# The bars of issue 3 ("Proof"), two of them raised by issue 14 (below).
BAR_P99_SINGLE_MS = 25.0
BAR_P99_BATCH_MS = 150.0
BAR_CONSOLE_VS_API = 0.85
# The open loop stands for many engines each posting now and then (a game sends an event every few
# seconds), not a few posting flat out: at the rates here, 256 engines post a few times a second each.
# This machine's latency tail swings from run to run (seen: p99 9 to 95 ms in five identical runs), so
# the phase runs three times and the median run counts; all three are printed.
OPEN_LOOP_ENGINES = 256
OPEN_LOOP_RUNS = 3
BAR_NOTIFY_VS_SILENT = 0.95  # issue 13: live notifications cost ingest less than 5 %
BAR_RSS_GROWTH_MIB = 10.0  # "flat": at most 10 MiB (or 5 %) more after the requests than before
# Issue 14 raised two of issue 3's bars (both were 0.50) and asked them of the same run, with the limits
# as shipped.
BAR_BATCH_VS_COPY = 0.70
BAR_SINGLE_VS_INSERT8 = 1.0


# ---------------------------------------------------------------------------------------- helpers


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def libpq(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


def cpu_seconds(match) -> dict[int, float]:  # noqa: ANN001
    """User+system CPU seconds, by pid, of this machine's processes for which `match(pgid, cmdline)` holds."""
    found = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            cmdline = (stat.parent / "cmdline").read_bytes()
        except OSError:
            continue
        if match(int(fields[2]), cmdline):
            found[int(stat.parent.name)] = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return found


def cpu_used(before: dict[int, float], after: dict[int, float]) -> float:
    """CPU seconds spent between two `cpu_seconds` readings by the processes alive at the second one
    (a process that exited in between takes its share with it: the figure is a lower bound)."""
    return sum(seconds - before.get(pid, 0.0) for pid, seconds in after.items())


def own_cpu_seconds() -> float:
    """CPU of the load generator: this process and the children it waited for (wrk)."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


# Live notifications off, for (f)'s baseline only: the product always notifies.
SILENT_FLAG = "--serve-without-live-notifications"


def serve_without_live_notifications(argv: list[str]) -> None:
    """Run `simvado-console <argv>` in this process with live notifications switched off: nothing is
    collected (console.live.session_changed does nothing), nothing is sent at commit (its
    before_commit hook is removed), and the statement that stores event batches calls no pg_notify.
    Only for a single-process server (`serve-api --workers 1`)."""
    import re

    from sqlalchemy import event
    from sqlalchemy.orm import Session

    import console.live
    from console.cli import main as console_main
    from console.live import publish
    from console.services.ingest import events as ingest_events

    event.remove(Session, "before_commit", publish._send_pending)
    console.live.session_changed = lambda session, change: None
    # The same statement, with its notification never called (the parameter stays, unused).
    silent, found = re.subn(
        r"CASE WHEN coalesce\(counted\.inserted, 0\) > 0 AND target\.done IS NOT TRUE THEN pg_notify\(.*?\) END",
        "CASE WHEN false THEN pg_notify(%(channel)s, '') END",
        ingest_events._LOCK_AND_INSERT,
        flags=re.S,
    )
    if found != 1:
        raise SystemExit("bench/ingest.py: the events statement changed; teach the silent server its new notify")
    ingest_events._LOCK_AND_INSERT = silent
    sys.argv = ["simvado-console", *argv]
    console_main()


def start_server(name: str, args: list[str], env: dict, workdir: Path, *, silent: bool = False) -> Server:
    port = free_port()
    log = workdir / f"{name}.log"
    command = [str(Path(__file__).resolve()), SILENT_FLAG] if silent else ["-m", "console.cli"]
    with open(log, "w") as out:
        process = subprocess.Popen(
            [sys.executable, *command, *args, "--port", str(port)],
            env=env,
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    return Server(name, f"http://127.0.0.1:{port}", process, log)


def wait_healthy(server: Server, seconds: float = 90) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"{server.name} exited:\n{server.log.read_text()[-3000:]}")
        try:
            if httpx.get(f"{server.url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{server.name} did not start:\n{server.log.read_text()[-3000:]}")


def stop_server(server: Server) -> None:
    if server.process.poll() is None:
        os.killpg(server.process.pid, signal.SIGTERM)
        try:
            server.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(server.process.pid, signal.SIGKILL)
            server.process.wait(timeout=10)


# ------------------------------------------------------------------------------------------- setup


@dataclass
class World:
    module_id: str
    player_emails: list[str]
    key: str


def make_world(players: int) -> World:
    from console import unit_of_work
    from console.auth import Actor
    from console.services import api_keys
    from models import Module, Simulation, User
    from models.enums import Difficulty, ModuleStatus, SimulationFormat, SimulationStatus, UserRole

    tag = uuid.uuid4().hex[:8]
    with unit_of_work.transaction() as s:
        sim = Simulation(
            title=f"Bench {tag}",
            slug=f"bench-{tag}",
            difficulty=Difficulty.intermediate,
            format=SimulationFormat.branching_narrative,
            status=SimulationStatus.published,
            scoring_config=SCORING,
        )
        s.add(sim)
        s.flush()
        module = Module(
            simulation_id=sim.id,
            title="Bench module",
            slug=f"bench-module-{tag}",
            status=ModuleStatus.published,
            launch_url="https://play.bench.example/m",
        )
        s.add(module)
        emails = []
        for n in range(players):
            email = f"bench-{tag}-{n}@bench.example"
            s.add(User(email=email, name=f"Bench player {n}", role=UserRole.individual))
            emails.append(email)
        s.flush()
        key = api_keys.create(
            session=s,
            actor=Actor.system("bench"),
            data={"name": f"bench {tag}", "scopes": ["game:write", "game:read"]},
        ).key
        module_id = str(module.id)
    return World(module_id, emails, key)


def start_sessions(server: Server, world: World, count: int) -> list[str]:
    ids = []
    with httpx.Client(headers={"Authorization": f"Bearer {world.key}"}, timeout=30) as client:
        for n in range(count):
            answer = client.post(
                f"{server.url}/api/v1/sessions",
                json={
                    "external_session_id": f"bench-{uuid.uuid4().hex}",
                    "module_id": world.module_id,
                    "player": {"email": world.player_emails[n % len(world.player_emails)]},
                    "started_at": T0.isoformat(),
                },
            )
            answer.raise_for_status()
            ids.append(answer.json()["id"])
    return ids


# ------------------------------------------------------------------------------------ raw limits


def raw_rows(session_id: str, n: int) -> list[tuple]:
    clock = [T0]
    now = datetime.now(UTC)
    data = json.dumps(EVENT_DATA, separators=(",", ":"))
    rows = []
    for event in events(n, clock):
        rows.append((event["id"], session_id, "decision", data, event["timestamp"], now))
    return rows


def measure_copy(url: str, session_id: str, n: int) -> float:
    rows = raw_rows(session_id, n)
    with psycopg.connect(libpq(url)) as conn:
        conn.execute("SET synchronous_commit = on")
        started = time.perf_counter()
        with (
            conn.cursor() as cur,
            cur.copy(
                "COPY game_events (id, session_id, event_type, event_data, timestamp, received_at) FROM STDIN"
            ) as copy,
        ):
            for row in rows:
                copy.write_row(row)
        conn.commit()
        elapsed = time.perf_counter() - started
    return n / elapsed


INSERT_ONE = (
    "INSERT INTO game_events (id, session_id, event_type, event_data, timestamp, received_at) "
    "VALUES (%s, %s, 'decision', %s::jsonb, %s, now())"
)


def measure_inserts(url: str, session_id: str, connections: int, seconds: float) -> float:
    data = json.dumps(EVENT_DATA, separators=(",", ":"))
    counts = [0] * connections
    stop_at = time.perf_counter() + seconds

    def worker(slot: int) -> None:
        with psycopg.connect(libpq(url)) as conn:
            conn.execute("SET synchronous_commit = on")
            conn.commit()
            clock = T0
            while time.perf_counter() < stop_at:
                clock += timedelta(milliseconds=1)
                conn.execute(INSERT_ONE, (uuid.uuid4(), session_id, data, clock))
                conn.commit()
                counts[slot] += 1

    started = time.perf_counter()
    threads = [threading.Thread(target=worker, args=(i,)) for i in range(connections)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sum(counts) / (time.perf_counter() - started)


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def main() -> int:  # noqa: C901, PLR0915
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="Shorter phases; 10k requests for the memory check.")
    parser.add_argument("--engines", type=int, default=64, help="Concurrent engines in the closed-loop phases.")
    parser.add_argument(
        "--client",
        choices=("wrk", "aiohttp"),
        default=None,
        help="Load generator of the closed-loop phases (default: wrk, installed if missing; else aiohttp).",
    )
    parser.add_argument("--seconds", type=float, default=None, help="Length of each load phase.")
    parser.add_argument("--memory-requests", type=int, default=None, help="Requests for the memory check.")
    parser.add_argument(
        "--memory-seconds", type=float, default=240.0, help="Time cap of the memory check (it reports what it did)."
    )
    parser.add_argument(
        "--only-notification-cost", action="store_true", help="Run (f) alone: live notifications' cost to ingest."
    )
    parser.add_argument("--notification-rounds", type=int, default=8, help="Pairs of phases in (f), per batch size.")
    args = parser.parse_args()
    # A TERM (or Ctrl-C) still stops the servers and the database this run started (the finally below).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    seconds = args.seconds or (4.0 if args.quick else 8.0)
    memory_requests = args.memory_requests or (10_000 if args.quick else 100_000)
    engines = max(1, min(args.engines, 128))
    wrk = find_wrk() if args.client in (None, "wrk") else None
    if args.client == "wrk" and wrk is None:
        parser.error("wrk is not installed (apt-get install wrk)")

    from console import db, migrate
    from console.db import to_sqlalchemy_url

    workdir = Path(tempfile.mkdtemp(prefix="svb-", dir="/tmp"))
    pg = None
    running: list[Server] = []
    try:
        if os.environ.get("DATABASE_URL"):
            url = to_sqlalchemy_url(os.environ["DATABASE_URL"])
            where = "DATABASE_URL"
        else:
            import pgserver

            pg = pgserver.get_server(workdir / "pg", cleanup_mode="stop")
            with psycopg.connect(pg.get_uri("postgres"), autocommit=True) as conn:
                conn.execute("CREATE DATABASE bench")
            url = to_sqlalchemy_url(pg.get_uri("bench"))
            where = "embedded PostgreSQL (temp folder)"
        with psycopg.connect(libpq(url)) as conn:
            durable = {
                name: conn.execute(f"SHOW {name}").fetchone()[0]  # noqa: S608 — constant names
                for name in ("fsync", "synchronous_commit", "full_page_writes", "wal_sync_method")
            }
            version = conn.execute("SHOW server_version").fetchone()[0]
        migrate.upgrade(url)
        db.configure(url)
        world = make_world(players=8)
        db.dispose()

        env = {k: v for k, v in os.environ.items() if k not in ("PYTEST_CURRENT_TEST",)}
        env.update(
            DATABASE_URL=url,
            SIMVADO_DATA_DIR=str(workdir / "data"),
            PYTHONPATH=str(ROOT) + os.pathsep + env.get("PYTHONPATH", ""),
        )
        api1 = start_server("serve-api-1w", ["serve-api", "--workers", "1"], env, workdir)
        api2 = start_server("serve-api-2w", ["serve-api", "--workers", "2"], env, workdir)
        console = start_server("serve", ["serve"], env, workdir)
        silent = start_server("serve-api-1w-silent", ["serve-api", "--workers", "1"], env, workdir, silent=True)
        servers = [api1, api2, console]
        running = [*servers, silent]
        for server in running:
            wait_healthy(server)

        print(f"Engine API ingest benchmark — {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {os.cpu_count()} cores")
        print(f"Database: {where}, PostgreSQL {version}, {durable}")
        client_name = "wrk (one thread and connection per engine)" if wrk else "asyncio + aiohttp, bodies made first"
        print(f"Phases of {seconds:.0f} s, {engines} concurrent engines (closed loop), client: {client_name}\n")

        def run_closed(
            server: Server, batch: int, phase: float, sessions: list[str] | None = None
        ) -> tuple[LoadResult, list[float]]:
            """One closed-loop phase on fresh sessions, and the CPU µs per request of client, server, PostgreSQL."""

            def in_server(group: int, _cmdline: bytes, pid: int = server.process.pid) -> bool:
                return group == pid  # the server and its worker processes (their own session)

            def is_postgres(_group: int, cmdline: bytes) -> bool:
                return cmdline.startswith(b"postgres")

            sessions = sessions or start_sessions(server, world, engines * SESSIONS_PER_ENGINE)
            bodies = None if wrk else Bodies(sessions, batch, stock_size(batch, phase, len(sessions)))
            client, served, database = own_cpu_seconds(), cpu_seconds(in_server), cpu_seconds(is_postgres)
            if wrk:
                result = closed_loop_wrk(wrk, server, world.key, sessions, batch, phase)
            else:
                result = run_phase(closed_loop(server, world.key, bodies, phase))
            used = (
                own_cpu_seconds() - client,
                cpu_used(served, cpu_seconds(in_server)),
                cpu_used(database, cpu_seconds(is_postgres)),
            )
            return result, [u / max(1, result.requests) * 1e6 for u in used]

        def check_switch() -> None:
            """The comparison means something only if the shipped server notifies and the other does not."""
            with psycopg.connect(libpq(url), autocommit=True) as spy:
                spy.execute("LISTEN simvado_sessions")
                for server, expected in ((api1, True), (silent, False)):
                    session_id = start_sessions(server, world, 1)[0]
                    body = json.dumps({"session_id": session_id, "events": events(1, [T0])}).encode()
                    answer = httpx.post(
                        f"{server.url}/api/v1/events",
                        content=body,
                        headers={"Authorization": f"Bearer {world.key}", "Content-Type": "application/json"},
                    )
                    answer.raise_for_status()
                    heard = list(spy.notifies(timeout=1.0))
                    if bool(heard) != expected:
                        raise SystemExit(f"{server.name}: {len(heard)} notifications for a start and a batch")

        def notification_cost() -> dict[int, float]:
            """(f): events/s with notifications over events/s without, per batch size.

            Side by side: the two servers take the same load at the same time, half the engines each, and
            the figure is the median of the rounds' ratios. Other tenants of this machine move throughput
            by tens of percent within minutes (seen: the same phase from 0.66 to 1.47 of itself when run
            back to back); side by side, whatever slows one slows the other alike.
            """
            if not wrk:
                print("(f) needs wrk (two load generators at once): skipped\n")
                return {100: float("nan"), 1: float("nan")}
            check_switch()
            rounds = args.notification_rounds
            phase = max(3.0, seconds / 2)
            half = max(1, engines // 2)
            print(
                f"(f) Live notifications' cost: serve-api 1 worker as shipped vs. with notifications off, side by "
                f"side ({half} engines each, closed loop), {rounds} rounds of {phase:.0f} s; the full console "
                "LISTENs throughout"
            )
            ratios: dict[int, float] = {}
            for batch in (100, 1):
                found: dict[str, list[tuple[LoadResult, list[float]]]] = {api1.name: [], silent.name: []}
                for _round in range(rounds):
                    got: dict[str, tuple[LoadResult, list[float]]] = {}
                    count = half * SESSIONS_PER_ENGINE
                    ready = {server.name: start_sessions(server, world, count) for server in (api1, silent)}

                    def load(server: Server, into: dict = got, size: int = batch, ready: dict = ready) -> None:
                        into[server.name] = run_closed(server, size, phase, sessions=ready[server.name])

                    threads = [threading.Thread(target=load, args=(server,)) for server in (api1, silent)]
                    for thread in threads:
                        thread.start()
                    for thread in threads:
                        thread.join()
                    for name, result in got.items():
                        found[name].append(result)
                each = [
                    on.events_per_s / off.events_per_s
                    for (on, _), (off, _) in zip(found[api1.name], found[silent.name], strict=True)
                ]
                ratios[batch] = statistics.median(each)
                for server in (api1, silent):
                    rates = [r.events_per_s for r, _ in found[server.name]]
                    cpu = [per[1] for _, per in found[server.name]]
                    errors = sum(r.errors for r, _ in found[server.name])
                    print(
                        f"    {server.name:20} batch {batch:3}: {statistics.median(rates):9,.0f} events/s (median; "
                        f"rounds {', '.join(f'{x:,.0f}' for x in rates)}), server CPU "
                        f"{statistics.median(cpu):,.0f} µs/request, errors {errors}"
                    )
                print(
                    f"    batch {batch:3}: with / without = {ratios[batch]:.3f} (median of the rounds: "
                    + ", ".join(f"{r:.3f}" for r in each)
                    + ")"
                )
            print()
            return ratios

        if args.only_notification_cost:
            ratios = notification_cost()
            ok = all(r >= BAR_NOTIFY_VS_SILENT for r in ratios.values())
            for batch, ratio in ratios.items():
                print(f"    {verdict(ratio >= BAR_NOTIFY_VS_SILENT)}  notifications, batch {batch}: {ratio:.3f} "
                      f"(bar ≥ {BAR_NOTIFY_VS_SILENT:.2f})")  # fmt: skip
            return 0 if ok else 1

        # (a) raw limits -------------------------------------------------------------------------
        raw_session = start_sessions(api1, world, 1)[0]
        copy_rows = 20_000 if args.quick else 50_000
        copy_rate = max(measure_copy(url, raw_session, copy_rows) for _ in range(2))
        insert1 = measure_inserts(url, raw_session, 1, seconds / 2)
        insert8 = measure_inserts(url, raw_session, 8, seconds / 2)
        print("(a) Raw limits on the same database")
        print(f"    COPY of game_events rows              {copy_rate:10,.0f} rows/s  ({copy_rows:,} rows, best of 2)")
        print(f"    INSERT+commit, 1 connection           {insert1:10,.0f} rows/s")
        print(f"    INSERT+commit, 8 connections          {insert8:10,.0f} rows/s\n")

        # (b) + (d) closed loop ---------------------------------------------------------------------
        results: dict[tuple[str, int], LoadResult] = {}

        def is_postgres(_group: int, cmdline: bytes) -> bool:
            return cmdline.startswith(b"postgres")

        print(
            f"(b) API load, {engines} engines, closed loop, best of 2 rounds; "
            "CPU µs per request of the client, server, PostgreSQL"
        )
        print(
            f"    {'server':14} {'batch':>5} {'events/s':>10} {'requests':>9} {'p50 ms':>8} {'p99 ms':>8}"
            f"  {'client':>6} {'server':>6} {'pg':>6}  errors"
        )
        # Two rounds, servers interleaved, best of the two kept: the machine's other load drifts, and
        # the console-vs-serve-api bar compares phases run minutes apart.
        cpu: dict[tuple[str, int], list[float]] = {}
        for _round in range(2):
            for server in servers:

                def in_server(group: int, _cmdline: bytes, pid: int = server.process.pid) -> bool:
                    return group == pid  # the server and its worker processes (their own session)

                for batch in (100, 1):
                    sessions = start_sessions(server, world, engines * SESSIONS_PER_ENGINE)
                    bodies = None if wrk else Bodies(sessions, batch, stock_size(batch, seconds, engines))
                    client, served, database = own_cpu_seconds(), cpu_seconds(in_server), cpu_seconds(is_postgres)
                    if wrk:
                        result = closed_loop_wrk(wrk, server, world.key, sessions, batch, seconds)
                    else:
                        result = run_phase(closed_loop(server, world.key, bodies, seconds))
                    used = (
                        own_cpu_seconds() - client,
                        cpu_used(served, cpu_seconds(in_server)),
                        cpu_used(database, cpu_seconds(is_postgres)),
                    )
                    best = results.get((server.name, batch))
                    if best is None or result.events_per_s > best.events_per_s:
                        results[(server.name, batch)] = result
                        cpu[(server.name, batch)] = [u / max(1, result.requests) * 1e6 for u in used]
        for server in servers:
            ceiling = run_phase(http_ceiling(server, engines, seconds / 2))
            print(f"    {server.name:14} GET /healthz (no database): {ceiling:,.0f} requests/s")
            for batch in (100, 1):
                result, per = results[(server.name, batch)], cpu[(server.name, batch)]
                print(
                    f"    {server.name:14} {batch:5} {result.events_per_s:10,.0f} {result.requests:9,} "
                    f"{result.p50_ms:8.1f} {result.p99_ms:8.1f}  {per[0]:6,.0f} {per[1]:6,.0f} {per[2]:6,.0f}  "
                    f"{result.errors}" + (f" {result.statuses}" if result.errors else "")
                )
        print()

        # (g) issue 14: one key, 64 play sessions, 16 connections, flat out, limits as shipped ---------
        if wrk:
            sessions = start_sessions(api1, world, 16 * SESSIONS_PER_ENGINE)
            fleet = closed_loop_wrk(wrk, api1, world.key, sessions, 1, seconds)
            throttled = fleet.statuses.get(429, 0)
            print(
                f"(g) One key, {len(sessions)} play sessions on 16 connections posting single events flat out "
                f"[{api1.name}]: {fleet.requests:,} requests, {fleet.events_per_s:,.0f} events/s, "
                f"{throttled:,} answered 429, {fleet.errors - throttled:,} other errors\n"
            )
        else:
            throttled = None
            print("(g) needs wrk: skipped\n")

        # (f) live notifications' cost (here, next to (b), on the same machine state) ---------------
        notify_ratios = notification_cost()

        # (c) open loop at half the saturating rate -------------------------------------------------
        # Each serve-api set-up at half of its own saturating rate from (b); the bars are judged on the
        # default, one worker (see the bars below), two workers printed beside.
        print(
            f"(c) Paced open loop at half the saturating rate, {OPEN_LOOP_ENGINES} engines; "
            f"{OPEN_LOOP_RUNS} runs, the median run's p99 is the figure; client CPU µs per request"
        )
        paced: dict[tuple[str, int], LoadResult] = {}
        for server in (api1, api2):
            for batch in (1, 100):
                saturated_rps = results[(server.name, batch)].events_per_s / batch
                rate = max(1.0, saturated_rps / 2)
                sessions = start_sessions(server, world, OPEN_LOOP_ENGINES)
                runs = sorted(
                    (
                        run_phase(open_loop(server, world.key, sessions, batch, rate, seconds))
                        for _ in range(OPEN_LOOP_RUNS)
                    ),
                    key=lambda r: r.p99_ms,
                )
                paced[(server.name, batch)] = r = runs[len(runs) // 2]
                print(
                    f"    {server.name:14} batch {batch:3}: {rate:7,.0f} req/s offered, {r.events_per_s:9,.0f} ev/s, "
                    f"p50 {r.p50_ms:6.1f} ms, p99 {r.p99_ms:6.1f} ms (runs: "
                    + ", ".join(f"{x.p99_ms:.1f}" for x in runs)
                    + f"), client {r.client_cpu_us:.0f} µs, errors {sum(x.errors for x in runs)}"
                )
        print()

        # (e) memory --------------------------------------------------------------------------------
        mem_session = start_sessions(console, world, 1)[0]
        started = time.perf_counter()
        samples, mem_errors, done = run_phase(
            memory_run(console, world.key, mem_session, memory_requests, args.memory_seconds)
        )
        took = time.perf_counter() - started
        growth = samples[-1] - samples[0]
        print(f"(e) Full console RSS, up to {memory_requests:,} cookie-less GET /api/v1/sessions/{{id}} ({took:.0f} s)")
        print(
            "    RSS MiB: "
            + " → ".join(f"{s:.1f}" for s in samples)
            + f"  (growth {growth:+.1f} MiB, {mem_errors} errors or cookies)\n"
        )

        # Bars ----------------------------------------------------------------------------------------
        print("Bars (issues 3 and 14), ratios within this run, limits as shipped")
        rows = []

        def bar(label: str, value: float, target: str, ok: bool) -> None:
            rows.append((label, value, target, ok))
            print(f"    {verdict(ok)}  {label:58} {value:8.2f}   (bar {target})")

        # Every bar is judged on `serve-api` as it starts by default, one worker: one set-up for all of
        # them. Two workers and the full console are printed beside, and the console has its own bar.
        judged = "serve-api-1w"
        for batch, baseline, label, target in (
            (100, copy_rate, "batches of 100 / COPY rate", BAR_BATCH_VS_COPY),
            (1, insert8, "single events / 8-conn INSERT+commit", BAR_SINGLE_VS_INSERT8),
        ):
            ratios = {
                name: results[(name, batch)].events_per_s / baseline
                for name in ("serve-api-1w", "serve-api-2w", "serve")
            }
            bar(f"{label} [{judged}]", ratios[judged], f"≥ {target:.2f}", ratios[judged] >= target)
            print(f"          (2 workers {ratios['serve-api-2w']:.2f}, full console {ratios['serve']:.2f})")
        p99_bars = ((1, "single events", BAR_P99_SINGLE_MS), (100, "batches of 100", BAR_P99_BATCH_MS))
        for batch, label, target in p99_bars:
            p99 = paced[(judged, batch)].p99_ms
            bar(f"p99 ms, {label} at half saturation [{judged}]", p99, f"≤ {target:.0f}", p99 <= target)
            print(f"          (2 workers {paced[('serve-api-2w', batch)].p99_ms:.1f} ms)")
        for batch in (1, 100):
            ratio = results[("serve", batch)].events_per_s / results[("serve-api-1w", batch)].events_per_s
            bar(
                f"full console / serve-api 1 worker, batch {batch}",
                ratio,
                f"≥ {BAR_CONSOLE_VS_API:.2f}",
                ratio >= BAR_CONSOLE_VS_API,
            )
        for batch in (100, 1):
            ratio = notify_ratios[batch]
            bar(
                f"live notifications: with / without, batch {batch} [{judged}]",
                ratio,
                f"≥ {BAR_NOTIFY_VS_SILENT:.2f}",
                ratio >= BAR_NOTIFY_VS_SILENT,
            )
        if throttled is not None:
            bar("429s to one key's 64 sessions on 16 connections, flat out", throttled, "= 0", throttled == 0)
        allowed = max(BAR_RSS_GROWTH_MIB, 0.05 * samples[0])
        bar(
            f"RSS growth MiB over {done:,} requests [serve]",
            growth,
            f"≤ {allowed:.1f}",
            growth <= allowed,
        )
        failed = [r for r in rows if not r[3]]
        print(f"\n{len(rows) - len(failed)} of {len(rows)} bars passed.")
        return 0
    finally:
        for server in running:
            stop_server(server)
        if pg is not None:
            pg.cleanup()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == SILENT_FLAG:
        serve_without_live_notifications(sys.argv[2:])
    else:
        sys.exit(main())
