"""Event-to-screen benchmark: from the engine API's 2xx to the event on open pages, in Chromium.

    python bench/live.py                      # 20 pages, 50 sessions, about 3 minutes
    python bench/live.py --seconds 30 --pages 10

One run, one embedded PostgreSQL in a temp folder (or DATABASE_URL), and three kinds of process, as in
production: the console (`simvado-console serve`), the engine API (`simvado-console serve-api`, one
worker) and a Chromium. The console holds the pages; the events go to serve-api, so every update
crosses processes through PostgreSQL's NOTIFY.

- 20 pages open in Chromium, signed in as a platform admin: /live and, when the sessions pages exist,
  /sessions/{id} of some of the sessions (else the dashboard, which shows no event: it is load only).
- 50 play sessions receive events through serve-api: each one an event every `--interval` seconds
  (±25 %, jittered), for `--seconds`. Each event is a milestone whose label carries a token of its own.
- In every page a MutationObserver (installed before the page's scripts run) records `Date.now()` the
  first time each token appears in the page's text. Event-to-screen is that moment minus the moment
  serve-api's 2xx came back (`time.time()` here; the same machine clock). The DOM is written by then;
  the screen is painted at the next frame (16 ms at 60 Hz), which is not counted.
- A /live page shows each session's latest event: one superseded within the page's throttle window
  (0.2 s) may never be drawn, and is counted as such, not as a latency. A session page shows its own
  session's events.

Chromium runs with background-tab throttling off (20 tabs in one window: a person watches one; the
browser would otherwise delay the others' timers and rendering).

Prints p50, p95, p99 and max per kind of page and overall, the bar (p95 < 1 s, issue 13) and the CPU
the console, serve-api and PostgreSQL spent per second of load.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import secrets
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

import httpx
import psycopg

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

BAR_P95_MS = 1000.0
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run",
    # 20 tabs in one window: keep the ones not in front running as a person's one visible tab would.
    "--disable-background-timer-throttling", "--disable-renderer-backgrounding",
    "--disable-backgrounding-occluded-windows",
]  # fmt: skip
SCORING = {
    "dimensions": [
        {"key": "financial", "label": "Financial", "weight": 60, "min": 0, "max": 100},
        {"key": "reputational", "label": "Reputational", "weight": 40, "min": 0, "max": 100},
    ],
    "pass_mark": 60,
}
# Records when each event's token first shows up in the page's text (set before any page script runs).
OBSERVER = r"""
window.__seen = {};
(() => {
  const TOKEN = /ev-[0-9a-f]{12}/g;
  const scan = (text) => {
    if (!text) return;
    const now = Date.now();
    for (const m of text.matchAll(TOKEN)) if (!(m[0] in window.__seen)) window.__seen[m[0]] = now;
  };
  new MutationObserver((records) => {
    for (const r of records) {
      if (r.type === 'characterData') scan(r.target.data);
      else for (const n of r.addedNodes) scan(n.textContent);
    }
  }).observe(document, { subtree: true, childList: true, characterData: true });
})();
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


@dataclass
class Proc:
    name: str
    url: str
    process: subprocess.Popen
    log: Path


def start(name: str, args: list[str], env: dict, workdir: Path) -> Proc:
    port = free_port()
    log = workdir / f"{name}.log"
    with open(log, "w") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "console.cli", *args, "--port", str(port)],
            env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    proc = Proc(name, f"http://127.0.0.1:{port}", process, log)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{name} exited:\n{log.read_text()[-3000:]}")
        try:
            if httpx.get(f"{proc.url}/healthz", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{name} did not start:\n{log.read_text()[-3000:]}")


def stop(proc: Proc) -> None:
    if proc.process.poll() is None:
        os.killpg(proc.process.pid, signal.SIGTERM)
        try:
            proc.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.process.pid, signal.SIGKILL)


def cpu_seconds(*, prefix: bytes | None = None, group: int | None = None, under: int | None = None) -> float:
    """User+system CPU seconds of the processes in a process group, whose command line starts so (and,
    with `under`, that descend from that process: this run's Chromium, not another one on the machine)."""
    table = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            cmdline = (stat.parent / "cmdline").read_bytes()
        except OSError:
            continue
        table[int(stat.parent.name)] = (int(fields[1]), int(fields[2]), cmdline, int(fields[11]) + int(fields[12]))
    total = 0.0
    for parent, pgroup, cmdline, ticks in table.values():
        if under is not None:
            ancestor = parent
            while ancestor not in (0, 1, under) and ancestor in table:
                ancestor = table[ancestor][0]
            if ancestor != under:
                continue
        if (group is not None and pgroup == group) or (prefix is not None and cmdline.startswith(prefix)):
            total += ticks / os.sysconf("SC_CLK_TCK")
    return total


# ------------------------------------------------------------------------------------------- world


@dataclass
class World:
    module_id: str
    emails: list[str]
    key: str


def make_world(players: int) -> World:
    from console import unit_of_work
    from console.auth import Actor
    from console.services import api_keys
    from models import Module, Simulation, User
    from models.enums import Difficulty, ModuleStatus, SimulationFormat, SimulationStatus, UserRole

    tag = uuid.uuid4().hex[:8]
    with unit_of_work.transaction() as s:
        simulation = Simulation(
            title="Harbor Crisis", slug=f"harbor-{tag}", difficulty=Difficulty.intermediate,
            format=SimulationFormat.branching_narrative, status=SimulationStatus.published, scoring_config=SCORING,
        )  # fmt: skip
        s.add(simulation)
        s.flush()
        module = Module(simulation_id=simulation.id, title="Act One", slug=f"act-one-{tag}",
                        status=ModuleStatus.published, launch_url="https://play.bench.example/m")  # fmt: skip
        s.add(module)
        emails = [f"player-{n}-{tag}@bench.example" for n in range(players)]
        for n, email in enumerate(emails):
            s.add(User(email=email, name=f"Player {n}", role=UserRole.individual))
        s.flush()
        key = api_keys.create(session=s, actor=Actor.system("bench"), data={"name": "bench", "scopes": ["game:write"]})
        return World(str(module.id), emails, key.key)


def start_sessions(api: Proc, world: World) -> list[str]:
    with httpx.Client(base_url=api.url, headers={"Authorization": f"Bearer {world.key}"}, timeout=30) as client:
        ids = []
        for email in world.emails:
            answer = client.post("/api/v1/sessions", json={
                "external_session_id": f"live-{uuid.uuid4().hex}", "module_id": world.module_id,
                "player": {"email": email}, "platform": "web"})  # fmt: skip
            answer.raise_for_status()
            ids.append(answer.json()["id"])
    return ids


# -------------------------------------------------------------------------------------------- load


def milestone(token: str) -> dict:
    return {"id": str(uuid.uuid4()), "type": "milestone",
            "timestamp": (datetime.now(UTC) - timedelta(milliseconds=50)).isoformat(),
            "data": {"milestone_id": f"m-{token}", "label": f"Reached {token}"}}  # fmt: skip


async def play(api: Proc, key: str, sessions: list[str], seconds: float, interval: float) -> dict[str, tuple]:
    """Every session posts a milestone every `interval` s (jittered) for `seconds`: token → (session, 2xx ms)."""
    acknowledged: dict[str, tuple[str, float]] = {}
    failures = 0
    limits = httpx.Limits(max_connections=len(sessions), max_keepalive_connections=len(sessions))
    async with httpx.AsyncClient(base_url=api.url, headers={"Authorization": f"Bearer {key}"}, timeout=30,
                                 limits=limits) as client:  # fmt: skip
        stop_at = time.monotonic() + seconds

        async def engine(session_id: str) -> None:
            nonlocal failures
            await asyncio.sleep(random.uniform(0, interval))  # spread the sessions over the interval
            while time.monotonic() < stop_at:
                token = f"ev-{secrets.token_hex(6)}"
                try:
                    answer = await client.post("/api/v1/events", json={"session_id": session_id,
                                                                       "events": [milestone(token)]})  # fmt: skip
                except httpx.HTTPError:
                    answer = None
                if answer is not None and answer.status_code == 200:
                    acknowledged[token] = (session_id, time.time() * 1000)
                else:
                    failures += 1
                await asyncio.sleep(interval * random.uniform(0.75, 1.25))

        await asyncio.gather(*(engine(s) for s in sessions))
    if failures:
        print(f"    {failures} posts failed")
    return acknowledged


# -------------------------------------------------------------------------------------------- main


def main() -> int:  # noqa: C901, PLR0915
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=int, default=20)
    parser.add_argument("--sessions", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=60.0, help="How long the sessions post events.")
    parser.add_argument("--interval", type=float, default=2.0, help="Seconds between a session's events.")
    parser.add_argument("--session-pages", type=int, default=6, help="How many of the pages are /sessions/{id}.")
    args = parser.parse_args()

    from playwright.sync_api import sync_playwright

    from console import db, migrate
    from console.db import to_sqlalchemy_url

    workdir = Path(tempfile.mkdtemp(prefix="svl-", dir="/tmp"))
    pg = None
    procs: list[Proc] = []
    try:
        if os.environ.get("DATABASE_URL"):
            url = to_sqlalchemy_url(os.environ["DATABASE_URL"])
        else:
            import pgserver

            pg = pgserver.get_server(workdir / "pg", cleanup_mode="stop")
            with psycopg.connect(pg.get_uri("postgres"), autocommit=True) as conn:
                conn.execute("CREATE DATABASE bench")
            url = to_sqlalchemy_url(pg.get_uri("bench"))
        migrate.upgrade(url)
        db.configure(url)
        world = make_world(args.sessions)
        db.dispose()
        password = secrets.token_urlsafe(12)
        env = {k: v for k, v in os.environ.items() if k != "PYTEST_CURRENT_TEST"}
        env.update(DATABASE_URL=url, SIMVADO_DATA_DIR=str(workdir / "data"), SIMVADO_API_RATE_LIMIT="100000/second",
                   SIMVADO_LOGIN_FAILURE_DELAY_SECONDS="0", PYTHONPATH=str(ROOT))  # fmt: skip
        subprocess.run(
            [sys.executable, "-m", "console.cli", "create-user", "--email", "watcher@bench.example", "--name",
             "Wanda Watcher", "--role", "platform_admin", "--password", password],
            env=env, cwd=ROOT, check=True, capture_output=True,
        )  # fmt: skip
        console = start("serve", ["serve"], env, workdir)
        api = start("serve-api", ["serve-api", "--workers", "1"], env, workdir)
        procs = [console, api]
        sessions = start_sessions(api, world)

        print(f"Event-to-screen benchmark — {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {os.cpu_count()} cores, "
              f"load average before the run {os.getloadavg()[0]:.1f} (the machine is shared)")  # fmt: skip
        print(
            f"console (serve) and serve-api (1 worker) as separate processes; {args.sessions} sessions, an event "
            f"each every {args.interval:g} s (±25 %) for {args.seconds:g} s; {args.pages} pages in Chromium"
        )

        executable = os.environ.get("SIMVADO_CHROMIUM", shutil.which("chromium") or "/usr/bin/chromium")
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
            context = browser.new_context(viewport={"width": 1400, "height": 900})
            context.add_init_script(OBSERVER)
            first = context.new_page()
            first.set_default_timeout(60_000)
            first.goto(f"{console.url}/login")
            first.get_by_label("Email").fill("watcher@bench.example")
            first.get_by_label("Password").fill(password)
            first.get_by_label("Password").press("Enter")
            first.wait_for_url(lambda u: "/login" not in u)
            cookies = {c["name"]: c["value"] for c in context.cookies()}
            probe = httpx.get(f"{console.url}/sessions/{sessions[0]}", cookies=cookies, follow_redirects=False)
            has_session_pages = probe.status_code == 200
            session_pages = min(args.session_pages, args.pages - 1) if has_session_pages else 0
            plan: list[tuple[str, str | None]] = []  # (path, the session it follows or None for all)
            for n in range(args.pages):
                if n < args.pages - session_pages:
                    plan.append(("/live", None) if has_session_pages or n % 3 else ("/", None))
                else:
                    sid = sessions[n % len(sessions)]
                    plan.append((f"/sessions/{sid}", sid))
            counted: dict[str, int] = {}
            for path, follows in plan:
                kind = "/sessions/{id}" if follows else path
                counted[kind] = counted.get(kind, 0) + 1
            print("pages: " + ", ".join(f"{n} × {kind}" for kind, n in counted.items()))

            pages = []
            console_problems: list[str] = []
            for n, (path, _) in enumerate(plan):
                page = first if n == 0 else context.new_page()
                page.set_default_timeout(60_000)
                page.goto(f"{console.url}{path}")
                page.on("console", lambda message, n=n: console_problems.append(f"page {n}: {message.text[:600]}")
                        if message.type in ("error", "warning") else None)  # fmt: skip
                pages.append(page)
            navigations: dict[str, int] = {}

            def navigated(frame) -> None:  # noqa: ANN001
                if frame.parent_frame is None and measuring:
                    navigations[frame.url] = navigations.get(frame.url, 0) + 1

            measuring = False
            for page in pages:
                page.on("framenavigated", navigated)
            for page, (path, _) in zip(pages, plan, strict=True):
                if path == "/live":
                    page.wait_for_function("n => document.querySelectorAll('tr[data-session]').length >= n",
                                           arg=len(sessions))  # fmt: skip
                else:
                    page.wait_for_load_state("networkidle")

            # Warm-up: one event per session, so every page has drawn every row once. (In a thread: Playwright's
            # sync API keeps an event loop of its own running in this one.)
            warm = threading.Thread(target=lambda: asyncio.run(play(api, world.key, sessions, 0.1, 0.1)))
            warm.start()
            while warm.is_alive():
                first.wait_for_timeout(200)
            first.wait_for_timeout(3000)

            postmaster = int((workdir / "pg" / "postmaster.pid").read_text().split()[0]) if pg is not None else None

            def postgres_cpu() -> float:
                """This run's PostgreSQL (its postmaster and backends); NaN on an external server."""
                if postmaster is None:
                    return float("nan")
                return cpu_seconds(prefix=b"postgres", under=postmaster) + cpu_seconds(group=postmaster)

            groups = {"console": console.process.pid, "serve-api": api.process.pid}
            cpu_before = {name: cpu_seconds(group=pid) for name, pid in groups.items()}
            cpu_before["postgres"] = postgres_cpu()
            cpu_before["chromium"] = cpu_seconds(prefix=b"/usr/lib/chromium", under=os.getpid())
            holder: dict = {}
            loader = threading.Thread(
                target=lambda: holder.update(acked=asyncio.run(play(api, world.key, sessions, args.seconds,
                                                                    args.interval))))  # fmt: skip
            measuring = True
            started = time.monotonic()
            loader.start()
            while loader.is_alive():
                first.wait_for_timeout(500)  # keeps Playwright's own connection served meanwhile
            elapsed = time.monotonic() - started
            cpu_after = {name: cpu_seconds(group=pid) for name, pid in groups.items()}
            cpu_after["postgres"] = postgres_cpu()
            cpu_after["chromium"] = cpu_seconds(prefix=b"/usr/lib/chromium", under=os.getpid())
            first.wait_for_timeout(3000)  # the last events' way to the screen
            acked: dict[str, tuple[str, float]] = holder["acked"]
            seen_by_page = []
            for page, (path, _) in zip(pages, plan, strict=True):
                try:
                    seen_by_page.append(page.evaluate("() => window.__seen"))
                except Exception as exc:  # noqa: BLE001 — reported, and the page counts as having seen nothing
                    print(f"    a {path} page could not be read ({type(exc).__name__}); it is at {page.url}")
                    seen_by_page.append({})
            if console_problems:
                print(f"    the pages logged {len(console_problems)} errors or warnings; the first ones:")
                for line in dict.fromkeys(console_problems[:200]).keys().__iter__():
                    print("      " + line.replace("\n", " | ")[:600])
                    if line == console_problems[min(4, len(console_problems) - 1)]:
                        break
            reloads = sum(navigations.values())
            if reloads:
                print(f"    {reloads} page loads during the run (a page must never reload): {dict(navigations)}")
            browser.close()

        by_kind: dict[str, list[float]] = {}
        missed: dict[str, int] = {}
        expected: dict[str, int] = {}
        for seen, (path, follows) in zip(seen_by_page, plan, strict=True):
            if path == "/":
                continue  # the dashboard shows no events: it is load only
            kind = "/live" if path == "/live" else "/sessions/{id}"
            for token, (session_id, ack_ms) in acked.items():
                if follows is not None and session_id != follows:
                    continue
                expected[kind] = expected.get(kind, 0) + 1
                if token in seen:
                    by_kind.setdefault(kind, []).append(seen[token] - ack_ms)
                else:
                    missed[kind] = missed.get(kind, 0) + 1

        print(f"\n{len(acked):,} events acknowledged by serve-api in {elapsed:.0f} s "
              f"({len(acked) / elapsed:.1f}/s)")  # fmt: skip
        print(f"{'page':16} {'measured':>9} {'not drawn':>9} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'max ms':>8}")
        every: list[float] = []
        for kind in sorted(by_kind):
            values = by_kind[kind]
            every += values
            print(f"{kind:16} {len(values):9,} {missed.get(kind, 0):9,} {pct(values, 0.5):8.0f} "
                  f"{pct(values, 0.95):8.0f} {pct(values, 0.99):8.0f} {max(values):8.0f}")  # fmt: skip
        p95 = pct(every, 0.95)
        print(f"{'all pages':16} {len(every):9,} {sum(missed.values()):9,} {pct(every, 0.5):8.0f} {p95:8.0f} "
              f"{pct(every, 0.99):8.0f} {max(every):8.0f}")  # fmt: skip
        if every:
            print(f"mean {statistics.mean(every):.0f} ms; below 0: {sum(1 for v in every if v < 0)} "
                  "(the DOM before the 2xx reached the load generator)")  # fmt: skip
        print(f"load average at the end {os.getloadavg()[0]:.1f} (this run's own threads count too)")
        print("CPU seconds per second of load: " + ", ".join(
            f"{name} {(cpu_after[name] - cpu_before[name]) / elapsed:.2f}" for name in cpu_after))  # fmt: skip
        ok = p95 < BAR_P95_MS
        print(f"\n{'PASS' if ok else 'FAIL'}  event-to-screen p95 {p95:.0f} ms (bar < {BAR_P95_MS:.0f} ms)")
        return 0 if ok else 1
    finally:
        for proc in procs:
            stop(proc)
            problems = [line for line in proc.log.read_text(errors="replace").splitlines()
                        if any(word in line for word in ("WARNING", "ERROR", "Traceback", "Error"))]  # fmt: skip
            kept = Path(tempfile.gettempdir()) / f"bench-live-{proc.name}.log"
            shutil.copy(proc.log, kept)
            if problems:
                print(f"\n{proc.name} logged {len(problems)} warnings or errors (whole log: {kept}); the last ones:")
                print("\n".join(problems[-15:]))
        if pg is not None:
            pg.cleanup()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
