"""The engine API's request limits, the same for every process that serves it (SECURITY.md 4 and 27).

Three limits, each a count of requests per fixed window (its rate's period: `200/second` counts per
second), checked on the event loop before a request costs a transaction:
- per API key: a ceiling sized for a popular build's thousands of players (`api_rate_limit`);
- per play session (the session id or external id a request names): one abusive session is throttled
  while the key's other sessions go on (`api_session_rate_limit`);
- per client address, against one host's flood (`api_address_rate_limit`).

Shared through PostgreSQL, cheaply: each process counts in memory and, every SYNC_SECONDS while it
has traffic, adds its new counts to `api_rate_counts` (UNLOGGED; one row per scope and window) in one
UPSERT that returns every process's total of the scopes it watches. A request is refused when the
last total heard plus what this process counted since passes the limit. So every `--workers` process
and every `serve-api` host shares one ceiling, at the cost of one small statement per process per
SYNC_SECONDS (not per request); the price is that processes learn of each other's counts up to
SYNC_SECONDS late: a burst can pass a ceiling by what the other processes accept in that time.
Windows older than a minute are deleted as the counts are written.
"""

from __future__ import annotations

import logging
import math
import sys
import threading
import time
from dataclasses import dataclass

from limits import parse as parse_rate

from console import db

log = logging.getLogger("simvado.api")
SYNC_SECONDS = 0.1
IDLE_SYNCS = 50  # syncs with nothing to do before the thread ends (5 s)
KEEP_WINDOWS_SECONDS = 60

_SYNC = """
    WITH counted AS (
        INSERT INTO api_rate_counts (scope, "window", hits)
        SELECT * FROM unnest(%(scopes)s::text[], %(windows)s::bigint[], %(hits)s::int[])
        ON CONFLICT (scope, "window") DO UPDATE SET hits = api_rate_counts.hits + excluded.hits
        RETURNING scope, "window", hits
    )
    SELECT scope, "window", hits FROM counted
    UNION ALL  -- the scopes it only watches (nothing new here): read, not written
    SELECT scope, "window", hits FROM api_rate_counts
    WHERE (scope, "window") IN (SELECT * FROM unnest(%(watched)s::text[], %(watched_windows)s::bigint[]))
"""
_PRUNE = 'DELETE FROM api_rate_counts WHERE "window" * %(period)s < %(before)s AND scope LIKE %(kind)s'


def unheard_budget(limit: Limit) -> int:
    """What a process accepts for a scope in a window before it has heard the other processes' count:
    one sync's worth of the rate. So a process new to a scope cannot take a whole window's ceiling
    that others have used already; a request past this waits for the next sync (a few such waits per
    window at most, and none at all for a scope this process keeps serving)."""
    return max(1, math.ceil(limit.amount * SYNC_SECONDS / limit.period))


@dataclass(frozen=True)
class Limit:
    """One limit: `kind` names its scopes ("key", "session", "address"), `amount` per `period` seconds."""

    kind: str
    amount: int
    period: int

    @classmethod
    def parse(cls, kind: str, rate: str) -> Limit:
        item = parse_rate(rate)
        return cls(kind, item.amount, max(1, int(item.get_expiry())))


class Refusal(int):
    """Seconds to wait (an int, as `hit` answers), and which limit said so: "key", "session" or "address"."""

    kind: str

    def __new__(cls, seconds: int, kind: str) -> Refusal:
        made = super().__new__(cls, seconds)
        made.kind = kind
        return made


class SharedLimits:
    """Counts hits per scope and window in this process and shares them through PostgreSQL (see above)."""

    def __init__(self, limits: list[Limit]) -> None:
        self.limits = {limit.kind: limit for limit in limits}
        self._lock = threading.Lock()
        self._pending: dict[tuple[str, int], int] = {}  # counted here, not yet written
        # Counted here and being written by the sync under way: still this process's own until the total
        # read back holds them (a request checked meanwhile missed them and passed a ceiling by one).
        self._writing: dict[tuple[str, int], int] = {}
        self._known: dict[tuple[str, int], int] = {}  # every process's total, as last read
        self._thread: threading.Thread | None = None
        self._last_prune = 0.0

    def hit(self, scopes: dict[str, str | None], *, waited: bool = False) -> int | None:
        """Count a request against each named scope ({kind: value}); None if every limit allows it, else
        the seconds until the window that refused it ends (nothing is counted then), or 0: "not known
        yet, ask again after SYNC_SECONDS" (see `unheard_budget`; `waited`: it was asked enough, go by
        what this process knows — the database may be away)."""
        now = time.time()
        keys = []
        with self._lock:
            for kind, value in scopes.items():
                limit = self.limits.get(kind)
                if limit is None or value is None:
                    continue
                window = int(now // limit.period)
                key = (f"{kind}:{value}", window)
                pending = self._pending.get(key, 0) + self._writing.get(key, 0)
                known = self._known.get(key)
                if known is None and not waited and pending >= unheard_budget(limit):
                    return 0
                if (known or 0) + pending >= limit.amount:
                    return Refusal(max(1, math.ceil((window + 1) * limit.period - now)), kind)
                keys.append(key)
            for key in keys:
                self._pending[key] = self._pending.get(key, 0) + 1
        self._start()
        return None

    # ------------------------------------------------------------------------------- sharing

    def _start(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            with self._lock:
                if self._thread is None or not self._thread.is_alive():
                    self._thread = threading.Thread(target=self._run, name="simvado rate limits", daemon=True)
                    self._thread.start()

    def _run(self) -> None:
        idle = 0
        while idle < IDLE_SYNCS:  # a process without traffic keeps no thread (the next hit starts one)
            time.sleep(SYNC_SECONDS)
            try:
                idle = 0 if self.sync() else idle + 1
            except Exception as exc:  # noqa: BLE001 — the database may be away a moment: counts stay local
                idle = 0
                # RuntimeError: no database configured (the process is stopping): nothing to tell.
                quiet = isinstance(exc, RuntimeError) or sys.is_finalizing()
                log.log(
                    logging.DEBUG if quiet else logging.WARNING, "rate limit counts not shared (%s)", type(exc).__name__
                )

    def sync(self) -> bool:
        """Write this process's new counts and read every process's totals of the current windows;
        False when there was nothing to write or read."""
        now = time.time()
        with self._lock:
            pending, self._pending = self._pending, {}
            self._writing = pending
            current = {kind: int(now // limit.period) for kind, limit in self.limits.items()}
            # Forget windows that ended; keep reading the totals of the current ones.
            self._known = {k: v for k, v in self._known.items() if k[1] >= current[k[0].split(":", 1)[0]]}
            watched = [k for k in self._known if k not in pending]
        if not pending and not watched:
            return False
        try:
            with db.get_engine().connect() as connection:
                driver = connection.connection.driver_connection
                connection.rollback()  # nothing begun: each statement below commits on its own
                driver.autocommit = True
                try:
                    found = self._write(driver, pending, watched, now)
                finally:
                    driver.autocommit = False
        except Exception:
            with self._lock:  # written nowhere: counted again at the next sync
                for key, hits in pending.items():
                    self._pending[key] = self._pending.get(key, 0) + hits
                self._writing = {}
            raise
        with self._lock:
            for scope, window, hits in found:
                # What was counted here meanwhile is still pending: the total read already holds the rest.
                self._known[(scope, window)] = hits
            self._writing = {}
        return True

    def _write(self, driver, pending: dict, watched: list, now: float) -> list:  # noqa: ANN001
        found = driver.execute(
            _SYNC,
            {
                "scopes": [k[0] for k in pending],
                "windows": [k[1] for k in pending],
                "hits": list(pending.values()),
                "watched": [k[0] for k in watched],
                "watched_windows": [k[1] for k in watched],
            },
        ).fetchall()
        if now - self._last_prune > KEEP_WINDOWS_SECONDS / 2:
            self._last_prune = now
            before = int(now) - KEEP_WINDOWS_SECONDS
            for kind, limit in self.limits.items():
                driver.execute(_PRUNE, {"period": limit.period, "before": before, "kind": f"{kind}:%"})
        return found
