"""The load generators of bench/ingest.py, and what they send: engines posting event batches in a
closed loop (wrk, or asyncio + aiohttp), a paced open loop (PacedLoad: ready-made requests written from
timer and protocol callbacks, latency from the scheduled send time), the HTTP stack's ceiling and the
memory check's cookie-less GETs. Each returns what it measured; bench/ingest.py judges it.
"""

from __future__ import annotations

import asyncio
import gc
import json
import os
import shutil
import subprocess
import time
import uuid
from collections.abc import Coroutine
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import aiohttp
import uvloop

T = TypeVar("T")
T0 = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
EVENT_DATA = {"decision_id": "d1", "choice_id": "c2", "time_to_decide_ms": 5200, "impacts": {"financial": 1}}
# Each closed-loop engine posts to this many play sessions in turn: one session posting flat out is
# what the per-session limit (100 writes/s by default) is there to stop, so the load is spread the way
# real traffic is (many sessions, each a few posts a second) and the limits stay as shipped.
SESSIONS_PER_ENGINE = 4


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def events(n: int, clock: list[datetime]) -> list[dict]:
    out = []
    for _ in range(n):
        clock[0] += timedelta(milliseconds=10)
        out.append({"id": str(uuid.uuid4()), "type": "decision", "timestamp": clock[0].isoformat(), "data": EVENT_DATA})
    return out


@dataclass
class Server:
    name: str
    url: str
    process: subprocess.Popen
    log: Path


@dataclass
class LoadResult:
    events_per_s: float
    requests: int
    p50_ms: float
    p99_ms: float
    errors: int
    statuses: dict[int, int] = field(default_factory=dict)
    client_cpu_us: float = 0.0  # the load generator's CPU per request while the clock ran, when measured


def _body(session_id: str, batch: int, clock: list[datetime]) -> bytes:
    return json.dumps({"session_id": session_id, "events": events(batch, clock)}).encode()


class Bodies:
    """Request bodies made before the clock starts, so the load generator spends its CPU on sending
    (it shares the machine with the server); made on the fly only if a phase outruns the stock."""

    def __init__(self, sessions: list[str], batch: int, per_session: int) -> None:
        self.batch = batch
        self.clocks = {s: [T0] for s in sessions}
        self.stock = {s: [_body(s, batch, self.clocks[s]) for _ in range(per_session)] for s in sessions}

    def next(self, session_id: str) -> bytes:
        stock = self.stock[session_id]
        return stock.pop() if stock else _body(session_id, self.batch, self.clocks[session_id])


def stock_size(batch: int, seconds: float, engines: int) -> int:
    """Bodies per engine: a generous bound on the whole phase's requests on this kind of machine, shared
    by the engines (a phase that outruns it makes the rest on the fly)."""
    requests_per_second = 600 if batch >= 100 else 6000
    return int(requests_per_second * seconds / engines) + 10


def _client(server: Server, key: str, connections: int) -> aiohttp.ClientSession:
    # aiohttp, not httpx: measured here at about 70 µs of client CPU per request against httpx's 1.3 ms,
    # and the load generator shares the 2 cores with the server and PostgreSQL.
    return aiohttp.ClientSession(
        base_url=server.url,
        headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
        connector=aiohttp.TCPConnector(limit=connections),
        timeout=aiohttp.ClientTimeout(total=30),
    )


async def closed_loop(server: Server, key: str, bodies: Bodies, seconds: float) -> LoadResult:
    """Each engine (one per session of `bodies`) posts its next batch as soon as the previous one is
    answered, for `seconds`."""
    sessions = list(bodies.stock)
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    accepted = 0
    errors = 0
    async with _client(server, key, len(sessions)) as client:
        stop_at = time.perf_counter() + seconds

        async def engine(session_id: str) -> None:
            nonlocal accepted, errors
            while time.perf_counter() < stop_at:
                body = bodies.next(session_id)
                sent = time.perf_counter()
                try:
                    async with client.post("/api/v1/events", data=body) as answer:
                        payload = await answer.json()
                        status = answer.status
                except aiohttp.ClientError:
                    errors += 1
                    continue
                latencies.append(time.perf_counter() - sent)
                statuses[status] = statuses.get(status, 0) + 1
                if status == 200:
                    accepted += payload["accepted"]
                else:
                    errors += 1

        started = time.perf_counter()
        await asyncio.gather(*(engine(s) for s in sessions))
        elapsed = time.perf_counter() - started
    return LoadResult(
        accepted / elapsed, len(latencies), pct(latencies, 0.5) * 1000, pct(latencies, 0.99) * 1000, errors, statuses
    )


WRK_SCRIPT = Path(__file__).resolve().parent / "wrk_events.lua"


def find_wrk() -> str | None:
    """Debian's wrk (C, epoll): installed on first use where apt-get can (the bench runs as root here)."""
    if shutil.which("wrk") is None and shutil.which("apt-get") is not None and os.geteuid() == 0:
        print("Installing Debian's wrk (the load generator) …", flush=True)
        subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], capture_output=True, check=False)  # noqa: S607
    return shutil.which("wrk")


def closed_loop_wrk(wrk: str, server: Server, key: str, sessions: list[str], batch: int, seconds: float) -> LoadResult:
    """The closed loop with wrk: one thread and one connection per engine, each posting to its
    SESSIONS_PER_ENGINE sessions in turn (`sessions` holds that many for each engine)."""
    per = SESSIONS_PER_ENGINE if len(sessions) >= SESSIONS_PER_ENGINE else 1
    engines = len(sessions) // per
    env = {
        **os.environ,
        "SESSIONS": ",".join(sessions),
        "PER": str(per),
        "BATCH": str(batch),
        "KEY": key,
        "RUN": os.urandom(4).hex(),
    }
    command = [wrk, f"-t{engines}", f"-c{engines}", f"-d{seconds:.0f}s", "--timeout", "30s", "-s", str(WRK_SCRIPT)]
    out = subprocess.run(
        [*command, server.url], env=env, capture_output=True, text=True, timeout=seconds + 60, check=True
    ).stdout
    line = next(x for x in out.splitlines() if x.startswith("RESULT "))
    got = json.loads(line.removeprefix("RESULT "))
    errors = got["errors"] + got["socket_errors"]
    return LoadResult(
        got["accepted"] / got["seconds"],
        got["requests"],
        got["p50_us"] / 1000,
        got["p99_us"] / 1000,
        errors,
        statuses={429: got["throttled"]} if got["throttled"] else {},
    )


async def http_ceiling(server: Server, connections: int, seconds: float) -> float:
    """Requests/s of GET /healthz (no database, no body) from the same client: the HTTP stack's limit."""
    done = 0
    async with _client(server, "-", connections) as client:
        stop_at = time.perf_counter() + seconds

        async def worker() -> None:
            nonlocal done
            while time.perf_counter() < stop_at:
                async with client.get("/healthz") as answer:
                    await answer.read()
                done += 1

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(connections)))
        return done / (time.perf_counter() - started)


def raw_post(host: str, port: int, key: str, path: str, body: bytes) -> bytes:
    """A whole HTTP/1.1 POST as bytes, made before the clock starts."""
    return (
        f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\nAuthorization: Bearer {key}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode() + body


class _PacedConnection(asyncio.Protocol):
    """One engine's keep-alive HTTP/1.1 connection: a request written, its answer read (Content-Length)."""

    def __init__(self, load: PacedLoad) -> None:
        self.load = load
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.due = 0.0
        self.busy = False
        self.closed = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        end = self.buffer.find(b"\r\n\r\n")
        if end < 0:
            return
        head = bytes(self.buffer[:end]).lower()
        at = head.find(b"content-length:")
        length = int(head[at + 15 :].split(b"\r\n", 1)[0]) if at >= 0 else 0
        if len(self.buffer) < end + 4 + length:
            return
        status, body = int(head[9:12]), bytes(self.buffer[end + 4 : end + 4 + length])
        del self.buffer[: end + 4 + length]
        self.busy = False
        self.load.answered(self, status, body)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self.busy:
            self.busy = False
            self.load.failed()


class PacedLoad:
    """Requests sent on a fixed schedule whatever the answers (an open loop), each on an idle keep-alive
    connection (another is opened when none is idle); latency counted from each request's scheduled
    time, so a slow answer cannot hide the requests queued behind it.

    Callbacks only: a timer sends what is due, the connection's `data_received` records the answer; no
    task, future or timeout per request. The load generator shares the machine's cores with the server,
    and this costs it a few tens of µs per request where a task-per-request client took 110–150 µs.
    """

    def __init__(self, url: str, requests: list[bytes], rate_rps: float, connections: int) -> None:
        self.host, port = url.removeprefix("http://").split(":")
        self.port = int(port)
        self.requests = requests
        self.rate = rate_rps
        self.connections = connections
        self.idle: list[_PacedConnection] = []
        self.latencies: list[float] = []
        self.statuses: dict[int, int] = {}
        self.accepted = 0
        self.errors = 0
        self.sent = 0
        self.finished = 0

    async def run(self, timeout: float) -> LoadResult:
        self.loop = asyncio.get_running_loop()
        for _ in range(self.connections):  # the engines connect before the clock starts
            self.idle.append(await self._connect())
        self.done = self.loop.create_future()
        cpu = time.process_time()
        self.started = self.loop.time()
        self.loop.call_at(self.started, self._tick)
        try:
            await asyncio.wait_for(asyncio.shield(self.done), timeout)
        except TimeoutError:
            self.errors += len(self.requests) - self.finished  # never answered
        elapsed = self.loop.time() - self.started
        cpu = time.process_time() - cpu
        for connection in self.idle:
            connection.transport.close()
        return LoadResult(
            self.accepted / elapsed,
            len(self.latencies),
            pct(self.latencies, 0.5) * 1000,
            pct(self.latencies, 0.99) * 1000,
            self.errors,
            self.statuses,
            cpu / max(1, len(self.latencies)) * 1e6,
        )

    async def _connect(self) -> _PacedConnection:
        _, connection = await self.loop.create_connection(lambda: _PacedConnection(self), self.host, self.port)
        return connection

    def _tick(self) -> None:
        now = self.loop.time()
        while self.sent < len(self.requests):
            due = self.started + self.sent / self.rate
            if due > now:
                # uvloop's timers count whole milliseconds: a shorter wait would spin. A request sent
                # up to 1 ms after its time has that counted in its latency.
                self.loop.call_at(max(due, now + 0.001), self._tick)
                return
            self._send(self.requests[self.sent], due)
            self.sent += 1

    def _send(self, raw: bytes, due: float) -> None:
        while self.idle and self.idle[-1].closed:  # closed by the server's keep-alive timeout
            self.idle.pop()
        if self.idle:
            self._write(self.idle.pop(), raw, due)
        else:  # every connection busy: one more engine connects (its wait counts, from `due`)
            self.loop.create_task(self._send_on_new(raw, due))

    async def _send_on_new(self, raw: bytes, due: float) -> None:
        try:
            self._write(await self._connect(), raw, due)
        except OSError:
            self.failed()

    def _write(self, connection: _PacedConnection, raw: bytes, due: float) -> None:
        connection.due, connection.busy = due, True
        connection.transport.write(raw)

    def answered(self, connection: _PacedConnection, status: int, body: bytes) -> None:
        self.latencies.append(self.loop.time() - connection.due)
        self.statuses[status] = self.statuses.get(status, 0) + 1
        if status == 200:
            self.accepted += json.loads(body)["accepted"]
        else:
            self.errors += 1
        self.idle.append(connection)
        self._finish_one()

    def failed(self) -> None:
        self.errors += 1
        self._finish_one()

    def _finish_one(self) -> None:
        self.finished += 1
        if self.finished == len(self.requests) and not self.done.done():
            self.done.set_result(None)


async def open_loop(
    server: Server, key: str, sessions: list[str], batch: int, rate_rps: float, seconds: float
) -> LoadResult:
    """A paced open loop: `rate_rps` requests a second for `seconds`, round-robin over the sessions."""
    total = max(1, int(rate_rps * seconds))
    bodies = Bodies(sessions, batch, total // len(sessions) + 1)
    host, port = server.url.removeprefix("http://").split(":")
    requests = [
        raw_post(host, int(port), key, "/api/v1/events", bodies.next(sessions[n % len(sessions)])) for n in range(total)
    ]
    return await PacedLoad(server.url, requests, rate_rps, len(sessions)).run(timeout=seconds + 60)


async def memory_run(
    server: Server, key: str, session_id: str, requests: int, max_seconds: float, concurrency: int = 16
) -> tuple[list[float], int, int]:
    """RSS (MiB) before and after `requests` cookie-less GET /api/v1/sessions/{id}, sampled 4 times."""
    samples = []
    errors = 0
    done = 0
    stop_at = time.perf_counter() + max_seconds
    # A cookie jar that keeps nothing: no cookie is ever sent back, even if one were set.
    async with aiohttp.ClientSession(
        base_url=server.url,
        headers={"Authorization": f"Bearer {key}"},
        cookie_jar=aiohttp.DummyCookieJar(),
        connector=aiohttp.TCPConnector(limit=concurrency),
    ) as client:
        path = f"/api/v1/sessions/{session_id}"
        # Warm-up: caches, pools and lazy imports settle before the "before" figure.
        warm = iter(range(min(2000, requests)))

        async def warm_worker() -> None:
            for _ in warm:
                async with client.get(path) as answer:
                    await answer.read()

        await asyncio.gather(*(warm_worker() for _ in range(concurrency)))
        samples.append(rss_mib(server.process.pid))
        quarter = requests // 4
        for _ in range(4):
            part = iter(range(quarter))

            async def part_worker(it=part) -> None:  # noqa: ANN001
                nonlocal errors, done
                for _ in it:
                    if time.perf_counter() > stop_at:
                        return
                    done += 1
                    try:
                        async with client.get(path) as answer:
                            await answer.read()
                            if answer.status != 200 or "set-cookie" in answer.headers:
                                errors += 1
                    except aiohttp.ClientError:
                        errors += 1

            await asyncio.gather(*(part_worker() for _ in range(concurrency)))
            samples.append(rss_mib(server.process.pid))
    return samples, errors, done


def run_phase(phase: Coroutine[Any, Any, T]) -> T:
    """Run one load phase with the load generator's garbage collector paused.

    A full collection in this process stalls every simulated engine at once, and the open loop counts
    that stall as the server's latency (it measures from the scheduled send time): seen here as p99
    jumping from under 10 ms to 50–80 ms between otherwise identical runs. A phase is short and its
    garbage bounded, so it is collected once the phase is over.
    """
    gc.collect()
    gc.freeze()
    gc.disable()
    try:
        with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:  # the server's loop too
            return runner.run(phase)
    finally:
        gc.enable()
        gc.unfreeze()
        gc.collect()
