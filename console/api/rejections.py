"""Keeping the engine API's refusals for each key's inbox (console/services/rejections.py), off the
accepted path.

`RejectionRecorder` wraps the whole engine API app (the direct events route included). For a request
whose bearer token is a well-formed key it keeps a reference to the body's chunks as they are read
(no copy) and watches the answer's status; an answer under 400 costs nothing more. A refusal's answer
body (our JSON error) is read for its code, message and details, and the refusal is handed to one
writer thread per process, which stores it in a transaction of its own once the answer is sent. An
accepted request never waits for it, and a refused one is never rolled back with its request.

Bounds before the database: at most `api_rejections_per_key_second` refusals per key per second are
queued by a process (counted per key by hash, in memory), and the queue holds at most QUEUE_SIZE; past
either, a refusal is dropped and counted in the log once a minute.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
import time
from collections.abc import Awaitable, Callable

from starlette.types import Message, Receive, Scope, Send

from console import unit_of_work
from console.api.known_keys import KEY_IN_SCOPE
from console.services import api_keys, rejections

log = logging.getLogger("simvado.api")
QUEUE_SIZE = 1000
_ANSWER_BYTES = 16 * 1024  # of an error answer read for its code and message (ours are far smaller)


class RejectionWriter:
    """One daemon thread storing refusals in order; `flush()` waits until the queue is empty (tests)."""

    def __init__(self, *, keep: int, days: int, per_key_second: int) -> None:
        self.keep, self.days, self.per_key_second = keep, days, per_key_second
        # Each item makes its Refusal on the writer's thread: parsing a refused body is not the loop's work.
        self._queue: queue.Queue[Callable[[], rejections.Refusal]] = queue.Queue(QUEUE_SIZE)
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._window = 0
        self._counts: dict[str, int] = {}
        self.dropped = 0
        self._dropped_logged = 0.0

    def admit(self, key_hash: str) -> bool:
        """Whether this key's refusal may be queued now (its per-second budget in this process)."""
        now = int(time.time())
        with self._lock:
            if now != self._window:
                self._window, self._counts = now, {}
            seen = self._counts.get(key_hash, 0)
            if seen >= self.per_key_second:
                self._drop()
                return False
            self._counts[key_hash] = seen + 1
            return True

    def submit(self, refusal: Callable[[], rejections.Refusal]) -> None:
        self._start()
        try:
            self._queue.put_nowait(refusal)
        except queue.Full:
            with self._lock:
                self._drop()

    def flush(self, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while self._queue.unfinished_tasks and time.monotonic() < deadline:
            time.sleep(0.01)

    def _drop(self) -> None:
        self.dropped += 1
        if time.monotonic() - self._dropped_logged > 60:
            self._dropped_logged = time.monotonic()
            log.warning("engine API refusals not kept (over the per-key or queue bound): %d so far", self.dropped)

    def _start(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            with self._lock:
                if self._thread is None or not self._thread.is_alive():
                    self._thread = threading.Thread(target=self._run, name="simvado rejections", daemon=True)
                    self._thread.start()

    def _run(self) -> None:
        while True:
            make = self._queue.get()
            try:
                refusal = make()
                with unit_of_work.transaction() as session:
                    rejections.record(session=session, refusal=refusal, keep=self.keep, days=self.days)
            except Exception:  # noqa: BLE001 — the inbox is a courtesy: never stop the thread
                log.exception("could not keep an engine API refusal (prefix %s)", "-")
            finally:
                self._queue.task_done()


class RejectionRecorder:
    """The ASGI wrapper in front of the engine API app (see the module docstring)."""

    def __init__(self, writer: RejectionWriter, *, excerpt_bytes: int) -> None:
        self.writer = writer
        self.excerpt_bytes = excerpt_bytes

    async def __call__(
        self, scope: Scope, receive: Receive, send: Send, app: Callable[[Scope, Receive, Send], Awaitable[None]]
    ) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        token = scope.get(KEY_IN_SCOPE)  # a well-formed key (console/api/known_keys.py checked it)
        if token is None:
            await app(scope, receive, send)  # no key to file it under (garbage is only logged)
            return
        chunks: list[bytes] = []
        status = 0
        answer: list[bytes] = []

        async def receiving() -> Message:
            message = await receive()
            if message["type"] == "http.request" and message.get("body"):
                chunks.append(message["body"])
            return message

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            elif status >= 400 and message["type"] == "http.response.body" and sum(map(len, answer)) < _ANSWER_BYTES:
                answer.append(message.get("body", b""))
            await send(message)

        try:
            await app(scope, receiving, sending)
        finally:
            if status >= 400:
                self._keep(scope, token, status, b"".join(chunks), b"".join(answer))

    def _keep(self, scope: Scope, token: str, status: int, body: bytes, answer: bytes) -> None:
        key_hash = api_keys.hash_key(token)
        if not self.writer.admit(key_hash):
            return
        method, path, client = scope.get("method", ""), scope.get("path", ""), scope.get("client")
        limit = self.excerpt_bytes

        def refusal() -> rejections.Refusal:
            try:
                error = json.loads(answer).get("error") or {}
            except (ValueError, AttributeError):
                error = {}
            details = error.get("details") if isinstance(error.get("details"), dict) else None
            excerpt, session_ref = rejections.excerpt_of(body, details, limit)
            if session_ref is None and "/sessions/" in path:
                session_ref = path.rsplit("/", 1)[-1]
            # A key pasted into a body or a URL is kept as its prefix only, as in the logs: in what was
            # sent, in the session it named and in the answer that named it. And text the database
            # cannot store (a lone surrogate, sent as "\ud800") is kept with U+FFFD in its place.
            if details is not None:
                details = json.loads(api_keys.redact_keys(json.dumps(rejections.storable(details))))
            return rejections.Refusal(
                key_hash=key_hash,
                method=method,
                path=_storable(path),
                status=status,
                code=_storable(str(error.get("code") or f"http_{status}")),
                message=_storable(str(error.get("message") or "")),
                details=details,
                excerpt=_storable(excerpt),
                session_ref=None if session_ref is None else _storable(session_ref),
                client_address=client[0] if client else None,
            )

        self.writer.submit(refusal)


def _storable(text: str) -> str:
    """`text` as it may be kept: any engine API key cut to its prefix, what PostgreSQL cannot store
    replaced (rejections.storable)."""
    return api_keys.redact_keys(rejections.storable(text))
