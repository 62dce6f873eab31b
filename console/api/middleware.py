"""ASGI guards in front of the engine API: content type (415) and body size (413) before any parsing,
and DirectRoute, which serves the busiest route with the same guards and no FastAPI layers.

Pure ASGI rather than BaseHTTPMiddleware: it costs next to nothing per request and sees the body
stream, so a client that lies about (or omits) Content-Length is still cut off at the limit.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from fastapi.security.utils import get_authorization_scheme_param
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from console.api.gate import refuse_malformed, refuse_query
from console.errors import Unauthenticated

log = logging.getLogger("simvado.api")
_BODY_METHODS = {"POST", "PUT", "PATCH"}
_COMMON_HEADERS = [
    (b"content-type", b"application/json"),
    (b"cache-control", b"no-store"),
    (b"x-content-type-options", b"nosniff"),
]


def too_large(limit: int) -> str:
    return f"The request body is larger than {limit} bytes."


class BodyTooLarge(HTTPException):
    """Raised from inside `receive` when the streamed body passes the limit.

    An HTTPException so FastAPI's body reader passes it through (it turns any other error into 400).
    """

    def __init__(self, limit: int) -> None:
        super().__init__(status_code=413, detail=too_large(limit))


async def send_error(send: Send, status: int, code: str, message: str, headers: list | None = None) -> None:
    body = json.dumps({"error": {"code": code, "message": message, "details": {}}}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [*_COMMON_HEADERS, (b"content-length", str(len(body)).encode()), *(headers or [])],
        }
    )
    await send({"type": "http.response.body", "body": body})


def first_headers(scope: Scope) -> dict[bytes, bytes]:
    """The request's headers by ASGI's lower-case names; of a repeated header the first, as Starlette reads it."""
    return dict(reversed(scope["headers"]))


async def refused_by_headers(headers: Mapping[bytes, bytes], max_body_bytes: int, send: Send) -> bool:
    """Answer 415 (not JSON) or 413 (declared larger than the limit) from the headers alone; True if so.

    `headers` by ASGI's lower-case names.
    """
    media_type = headers.get(b"content-type", b"").split(b";", 1)[0].strip().lower()
    if media_type != b"application/json":
        await send_error(send, 415, "unsupported_media_type", "Send the body as JSON (Content-Type: application/json).")
        return True
    declared = headers.get(b"content-length", b"")
    if declared.isdigit() and int(declared) > max_body_bytes:
        await send_error(send, 413, "payload_too_large", too_large(max_body_bytes))
        return True
    return False


class ApiGuardMiddleware:
    def __init__(self, app: ASGIApp, *, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                names = {name.lower() for name, _ in headers}
                for name, value in _COMMON_HEADERS[1:]:
                    if name not in names:
                        headers.append((name, value))
                message = {**message, "headers": headers}
            await send(message)

        if scope["method"] not in _BODY_METHODS:
            await self.app(scope, receive, send_with_headers)
            return
        headers = first_headers(scope)
        if await refused_by_headers(headers, self.max_body_bytes, send):
            return
        try:
            # Before the body is read: FastAPI parses JSON before any dependency runs, so without this
            # a stranger's bad body got a 422 (telling the schema) where the key's 401 belongs.
            refuse_malformed(bearer_token(headers.get(b"authorization")))
        except Unauthenticated as exc:
            await send_error(send, 401, exc.code, exc.message, [(b"www-authenticate", b"Bearer")])
            return

        received = 0
        limit = self.max_body_bytes

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(limit)
            return message

        await self.app(scope, limited_receive, send_with_headers)


def bearer_token(authorization: bytes | None) -> str | None:
    """The token of an `Authorization: Bearer <token>` header, or None, as FastAPI's HTTPBearer reads it."""
    scheme, token = get_authorization_scheme_param(authorization.decode("latin-1") if authorization else None)
    return token if token and scheme.lower() == "bearer" else None


class DirectRoute:
    """One busy route served straight from ASGI, in front of FastAPI's routing and request machinery.

    Engines post events many times a second; for a single event FastAPI's layers (middleware stack,
    routing, dependency solving, request object) were about a fifth of the server's CPU. This runs the
    same checks as ApiGuardMiddleware (415, 413 on the declared and on the streamed size), hands the
    body and the Authorization header to `handle`, which is the route's own code, and turns its
    exceptions into responses with the app's own exception handlers, so answers are the same as
    through FastAPI. The route stays declared on the FastAPI app for the OpenAPI schema.

    `handle(body, bearer_token)` returns the JSON body to answer with 200 and an optional coroutine
    function to run after the answer is sent (as FastAPI's background tasks do).
    """

    def __init__(
        self,
        handle: Callable[[bytes, str | None], Awaitable[tuple[bytes, Callable[[], Awaitable[None]] | None]]],
        *,
        max_body_bytes: int,
        exception_handlers: Mapping[Any, Callable],
    ) -> None:
        self.handle = handle
        self.max_body_bytes = max_body_bytes
        self.exception_handlers = exception_handlers

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = first_headers(scope)
        if await refused_by_headers(headers, self.max_body_bytes, send):
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return  # the engine went away before sending its body: nothing to answer
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body_bytes:
                await send_error(send, 413, "payload_too_large", too_large(self.max_body_bytes))
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        try:
            presented = bearer_token(headers.get(b"authorization"))
            if scope.get("query_string"):
                refuse_malformed(presented)  # a stranger hears the key's 401 first
                refuse_query(scope["query_string"])
            body, after = await self.handle(b"".join(chunks), presented)
        except Exception as exc:  # noqa: BLE001 — every error becomes the app's own answer for it
            await self._error(exc, scope, receive, send)
            return
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [*_COMMON_HEADERS, (b"content-length", str(len(body)).encode())],
            }
        )
        await send({"type": "http.response.body", "body": body})
        if after is not None:
            await after()

    async def _error(self, exc: Exception, scope: Scope, receive: Receive, send: Send) -> None:
        handler = next((self.exception_handlers[c] for c in type(exc).__mro__ if c in self.exception_handlers), None)
        if handler is None:
            log.exception("engine API request failed")
            await send_error(send, 500, "internal_error", "Something went wrong on our side; nothing was stored.")
            return
        response = await handler(None, exc)
        response.headers.setdefault("cache-control", "no-store")
        response.headers.setdefault("x-content-type-options", "nosniff")
        await response(scope, receive, send)
