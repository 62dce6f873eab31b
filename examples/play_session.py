#!/usr/bin/env python3
"""Play one scripted session against a running Simvado Console, the way a game engine would.

Standard library only, so it runs anywhere Python does:

    SIMVADO_API_KEY=sk_sim_… python examples/play_session.py \\
        --base-url http://127.0.0.1:8080 --player solo0@mail.example

(`simvado-console serve --demo` prints a key; `solo0@mail.example` is one of the demo's players.)
Without --module it plays the first module the key may play (GET /api/v1/modules).
It reads the module (briefing, scoring dimensions), starts a session, reports decisions and
milestones in batches (retrying a batch is safe: events are deduplicated by their id), completes the
session and waits for the final scores and the debrief.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import urllib.error
import urllib.request
import uuid
from datetime import UTC, datetime, timedelta


class Api:
    def __init__(self, base_url: str, key: str) -> None:
        if not base_url.startswith(("http://", "https://")):
            raise SystemExit("--base-url must be an http(s) URL")
        self.base = base_url.rstrip("/") + "/api/v1"
        self.key = key

    def call(self, method: str, path: str, body: dict | None = None, *, attempts: int = 5) -> tuple[int, dict]:
        data = json.dumps(body).encode() if body is not None else None
        for attempt in range(attempts):
            request = urllib.request.Request(self.base + path, data=data, method=method)  # noqa: S310
            request.add_header("Authorization", f"Bearer {self.key}")  # never in the URL
            if data is not None:
                request.add_header("Content-Type", "application/json")
            try:
                with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 (our own base URL)
                    return response.status, json.loads(response.read())
            except urllib.error.HTTPError as exc:
                payload = json.loads(exc.read() or b"{}")
                if exc.code == 429:  # wait as told, then retry the same request
                    time.sleep(float(exc.headers.get("Retry-After", "1")))
                    continue
                if exc.code >= 500 and attempt + 1 < attempts:
                    time.sleep(0.5 * 2**attempt)
                    continue
                return exc.code, payload
            except (urllib.error.URLError, TimeoutError):
                # The network failed: we cannot know whether the server stored the batch, so send
                # the very same batch again. Same event ids → counted as duplicates, never twice.
                if attempt + 1 == attempts:
                    raise
                time.sleep(0.5 * 2**attempt)
        raise RuntimeError("gave up")


def script(dimensions: list[str], started: datetime) -> list[dict]:
    """A short, fixed story: three decisions, a milestone, a score update, then completion."""
    # Impacts name the module's own dimensions only (any other key is refused): none when it has none.
    first, second = (dimensions + dimensions)[:2] if dimensions else (None, None)

    def impacts(**by_place: int) -> dict[str, int]:
        named = {"first": first, "second": second}
        return {named[place]: delta for place, delta in by_place.items() if named[place] is not None}

    steps = [
        (
            "decision",
            40,
            {
                "decision_id": "open",
                "choice_id": "listen",
                "label": "Listen to the board first",
                "time_to_decide_ms": 21000,
                "impacts": impacts(first=12, second=4),
            },
        ),
        ("milestone", 60, {"milestone_id": "act-1", "label": "Act 1 complete"}),
        (
            "decision",
            130,
            {
                "decision_id": "press",
                "choice_id": "no-comment",
                "label": "Say no comment to the press",
                "time_to_decide_ms": 6000,
                "impacts": impacts(second=-15),
            },
        ),
        (
            "decision",
            220,
            {
                "decision_id": "deal",
                "choice_id": "renegotiate",
                "label": "Renegotiate the deal",
                "time_to_decide_ms": 48000,
                "impacts": impacts(first=8, second=10),
            },
        ),
        ("custom", 230, {"camera": "wide", "fps": 60}),
        ("completion", 300, {"outcome": "deal saved"}),
    ]
    return [
        {
            "id": str(uuid.uuid4()),
            "type": kind,
            "timestamp": (started + timedelta(seconds=at)).isoformat(),
            "data": data,
        }
        for kind, at, data in steps
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-url", default="http://127.0.0.1:8080", help="the console's address (its origin)")
    parser.add_argument("--key", default=os.environ.get("SIMVADO_API_KEY"), help="or set SIMVADO_API_KEY")
    parser.add_argument("--module", help="module id (default: the first the key may play)")
    parser.add_argument("--player", default="solo0@mail.example", help="the player's email (default: a demo player)")
    parser.add_argument("--wait", type=float, default=20, help="seconds to wait for the debrief")
    args = parser.parse_args()
    if not args.key:
        parser.error("an API key is needed: --key or SIMVADO_API_KEY")
    api = Api(args.base_url, args.key)

    if args.module is None:
        status, listed = api.call("GET", "/modules")
        if status != 200 or not listed.get("modules"):
            print(f"no module to play: {status} {listed}", file=sys.stderr)
            return 1
        args.module = listed["modules"][0]["id"]
    status, module = api.call("GET", f"/modules/{args.module}")
    if status != 200:
        print(f"cannot read the module: {status} {module}", file=sys.stderr)
        return 1
    dimensions = [d["key"] for d in (module.get("scoring") or {}).get("dimensions", [])]
    print(
        f"Module: {module['title']} (build {module.get('build_version') or '-'}); "
        f"dimensions: {', '.join(dimensions) or 'none'}"
    )

    started = datetime.now(UTC).replace(microsecond=0)
    status, play = api.call(
        "POST",
        "/sessions",
        {
            "external_session_id": str(uuid.uuid4()),  # unique across the platform: a UUID
            "module_id": args.module,
            "player": {"email": args.player},
            "platform": "other",
            "started_at": started.isoformat(),
        },
    )
    if status not in (200, 201):
        print(f"cannot start a session: {status} {play}", file=sys.stderr)
        return 1
    print(f"Session {play['id']} ({'new' if status == 201 else 'resumed'})")

    events = script(dimensions, started)
    for batch in (events[:3], events[3:]):
        status, result = api.call("POST", "/events", {"session_id": play["id"], "events": batch})
        if status != 200:
            print(f"events refused: {status} {result}", file=sys.stderr)
            return 1
        print(f"Sent {len(batch)} events: {result['accepted']} accepted, {result['duplicates']} duplicates")
    # Retrying is always safe: the same batch again is all duplicates.
    status, result = api.call("POST", "/events", {"session_id": play["id"], "events": events[3:]})
    print(f"Retried the last batch: {result['accepted']} accepted, {result['duplicates']} duplicates")

    deadline = time.monotonic() + args.wait
    while True:
        status, final = api.call("GET", f"/sessions/{play['id']}")
        if final.get("debrief_text") or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    print(f"Status: {final['status']}, duration {final['total_duration_seconds']} s")
    print("Final scores: " + json.dumps(final["final_scores"]))
    print()
    print(final.get("debrief_text") or "(no debrief yet)")
    return 0 if final["status"] == "completed" else 1


if __name__ == "__main__":
    sys.exit(main())
