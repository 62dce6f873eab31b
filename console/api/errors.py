"""How the engine API answers a failure: the status code of each domain error, the one JSON error shape
`{"error": {"code", "message", "details"}}`, and the error answers each route documents in OpenAPI.

Domain errors carry no HTTP (console/errors.py); this is the one place that gives them status codes.
The handlers serve FastAPI's routes and DirectRoute alike (it calls them through the app's
`exception_handlers`), so a failure is answered the same way on every path.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from console.api import schemas
from console.api.committer import DatabaseUnavailable
from console.errors import Conflict, DomainError, NotFound, PermissionDenied, Unauthenticated, ValidationFailed

_STATUS = {Unauthenticated: 401, PermissionDenied: 403, NotFound: 404, Conflict: 409, ValidationFailed: 422}
_HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_failed",
    429: "rate_limited",
}


class RateLimited(Exception):
    """A limit refused the request (console/api/limits.py): answered 429 with Retry-After, naming which."""

    def __init__(self, retry_after: int, limit: str = "key") -> None:
        self.retry_after = retry_after
        self.limit = limit  # "key", "session" or "address"


# What a 429 says, by the limit that refused: so an engine knows whether to slow one session or all.
RATE_MESSAGES = {
    "key": "Too many requests for this API key: the key is over its limit for all its players together.",
    "session": "Too many requests for this play session: slow this session down; the key's other sessions go on.",
    "address": "Too many requests from this client address.",
}


# ------------------------------------------------------------------------ what OpenAPI documents


def error_doc(description: str) -> dict[str, Any]:
    """An error answer as a route's `responses` documents it: the JSON error shape and why it happens."""
    return {"model": schemas.ErrorOut, "description": description}


COMMON_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: error_doc("Missing, malformed, unknown, revoked or expired API key."),
    403: error_doc("The key lacks the scope the route needs."),
    404: error_doc(
        "No such record: it does not exist or is outside the key's binding (`not_found`, the same answer for "
        "both), or it is a module within the key's reach that is not published or is archived "
        "(`module_not_playable`, with the simulation's and the module's status)."
    ),
    422: error_doc("The request is invalid: the details map each field to its problem."),
    429: error_doc("Too many requests for this key: wait the number of seconds in Retry-After."),
    503: error_doc("The database could not take the request just now; nothing was stored. Retry after Retry-After."),
}
BODY_RESPONSES: dict[int | str, dict[str, Any]] = {
    **COMMON_RESPONSES,
    413: error_doc("The body is larger than the limit (1 MiB by default)."),
    415: error_doc("The body is not sent as application/json."),
}


# ------------------------------------------------------------------------------- the answers


def error_response(
    status: int, code: str, message: str, details: dict | None = None, headers: Mapping[str, str] | None = None
) -> JSONResponse:
    return JSONResponse(
        {"error": {"code": code, "message": message, "details": details or {}}}, status_code=status, headers=headers
    )


async def domain_error(_request: Request, exc: DomainError) -> JSONResponse:
    status = next((s for cls, s in _STATUS.items() if isinstance(exc, cls)), 400)
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return error_response(status, exc.code, exc.message, _jsonable(exc.details), headers)


_EVENT_TYPES = frozenset({"decision", "milestone", "score_update", "completion", "custom"})
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def json_path(loc: Sequence[Any]) -> str:
    """A pydantic error location as the path into the body the client sent: `events[0].data.impacts.f`.

    Left out: the leading "body", and the tag pydantic adds after an event's index for the event type it
    validated against (`events.0.decision.timestamp` named no field the client wrote). A key that is no
    plain name is quoted (`impacts["a b"]`); "[key]" (the error is the dict key's own) is said in the message.
    """
    path = ""
    parts = list(loc)
    if parts and parts[0] == "body":
        parts = parts[1:]
    for i, part in enumerate(parts):
        if part == "[key]":
            continue
        if isinstance(part, int):
            path += f"[{part}]"
        elif i >= 2 and parts[i - 2] == "events" and isinstance(parts[i - 1], int) and part in _EVENT_TYPES:
            continue  # the discriminated union's tag
        elif _NAME.fullmatch(str(part)):
            path += f".{part}" if path else str(part)
        else:
            path += f"[{json.dumps(str(part))}]"
    return path or "body"


async def invalid_request(_request: Request, exc: RequestValidationError) -> JSONResponse:
    details: dict[str, str] = {}
    for err in exc.errors():
        if err.get("type") == "json_invalid":
            reason = str(err.get("ctx", {}).get("error", err.get("msg")))
            if "hex escape" in reason:
                # jiter's words for a lone surrogate escape ("\ud800" with no low half), the one
                # escape JSON's grammar allows and no text can hold.
                reason += " (a \\uD800–\\uDFFF escape must be one half of a surrogate pair, written together)"
            details.setdefault("body", f"not valid JSON: {reason}")
            continue
        loc = err.get("loc", ())
        message = str(err.get("msg", "invalid")).removeprefix("Value error, ")
        if "[key]" in loc:
            message = f"the key: {message}"
        details.setdefault(json_path(loc), message)
    return error_response(422, "validation_failed", "The request is invalid.", details)


async def http_error(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
    if exc.status_code == 400:
        # FastAPI's "error parsing the body" (e.g. bytes that are not UTF-8): invalid input, our 422.
        return error_response(422, "validation_failed", "The body is not valid JSON.", {"body": "not valid JSON"})
    message = str(exc.detail)
    if exc.status_code == 404 and message == "Not Found" and _request is not None:
        # No route at this path (a record that is not found says so in its own words).
        path = _request.url.path
        message = f"No route at {path}: the routes are listed at /api/v1/docs."
        if path.endswith("/") and len(path) > 1:
            message = f"No route at {path}: the routes take no trailing slash ({path.rstrip('/')})."
    if exc.status_code == 405 and exc.headers and exc.headers.get("Allow"):
        message = f"This route takes {exc.headers['Allow']} only."
    return error_response(exc.status_code, _HTTP_CODES.get(exc.status_code, "error"), message, headers=exc.headers)


async def unavailable(_request: Request, _exc: DatabaseUnavailable) -> JSONResponse:
    return error_response(
        503,
        "unavailable",
        "The request could not be stored just now; nothing of it was kept. Retry it (event ids make that safe).",
        headers={"Retry-After": "1"},
    )


async def rate_limited(_request: Request, exc: RateLimited) -> JSONResponse:
    return error_response(
        429,
        "rate_limited",
        RATE_MESSAGES.get(exc.limit, RATE_MESSAGES["key"]),
        {"retry_after_seconds": exc.retry_after, "limit": exc.limit},
        headers={"Retry-After": str(exc.retry_after)},
    )


def install_error_handlers(app: FastAPI) -> None:
    """Answer every failure on `app` in the JSON error shape, FastAPI's own (422, 404, 405, …) included."""
    app.add_exception_handler(DomainError, domain_error)
    app.add_exception_handler(RequestValidationError, invalid_request)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(DatabaseUnavailable, unavailable)
    app.add_exception_handler(RateLimited, rate_limited)


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return str(value)
