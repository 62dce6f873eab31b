"""Routes of the engine API (v1) and how domain errors become JSON errors with status codes.

Each request is a unit of work — authenticate the key, check its scope and rate, call the service —
run by the group committer (console/api/committer.py) in a transaction it may share with other
requests, and answered only after that transaction commits. A 2xx therefore means every accepted
event is committed (with synchronous_commit=on, see console/db.py).
"""

from __future__ import annotations

import logging
import math
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from fastapi import BackgroundTasks, FastAPI, Request, Response, Security
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from limits import parse as parse_rate
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter
from sqlmodel import Session
from starlette._utils import get_route_path
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import Receive, Scope, Send

from console import jobs
from console.api import schemas
from console.api.committer import DatabaseUnavailable, GroupCommitter
from console.api.middleware import ApiGuardMiddleware, DirectRoute
from console.auth import Actor, Permission
from console.config import Settings, get_settings
from console.errors import Conflict, DomainError, NotFound, PermissionDenied, Unauthenticated, ValidationFailed
from console.services import api_keys, ingest, modules
from console.services.api_keys import SCOPE_READ, SCOPE_WRITE

log = logging.getLogger("simvado.api")
T = TypeVar("T")

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
    def __init__(self, retry_after: int) -> None:
        self.retry_after = retry_after


@dataclass(frozen=True)
class _EventsRequest:
    """A POST /events request as the group committer carries it to `record_batches`."""

    presented: str
    batch: ingest.IncomingBatch
    session_id: uuid.UUID | None
    external_session_id: str | None
    limited: list[RateLimited | None] = field(default_factory=list)  # the rate verdict, kept for a rerun


def _err(description: str) -> dict[str, Any]:
    return {"model": schemas.ErrorOut, "description": description}


COMMON_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: _err("Missing, malformed, unknown, revoked or expired API key."),
    403: _err("The key lacks the scope, or the record is outside the key's simulation/organization binding."),
    404: _err("No such record (or not playable)."),
    422: _err("The request is invalid: the details map each field to its problem."),
    429: _err("Too many requests for this key: wait the number of seconds in Retry-After."),
    503: _err("The database could not take the request just now; nothing was stored. Retry after Retry-After."),
}
BATCH_REQUEST_BODY = {
    "required": True,
    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/EventBatchIn"}}},
}
BODY_RESPONSES: dict[int | str, dict[str, Any]] = {
    **COMMON_RESPONSES,
    413: _err("The body is larger than the limit (1 MiB by default)."),
    415: _err("The body is not sent as application/json."),
}

DESCRIPTION = """
The engine API: how game engines (Unreal, Unity, web) start play sessions, report gameplay events and
read module configuration and results back.

**Auth:** `Authorization: Bearer sk_sim_…` on every request (never in the URL). Keys carry scopes:
`game:write` for the POST routes, `game:read` for the GET routes. A key bound to a simulation or an
organization reaches nothing outside it.

**Events** are idempotent on their client-generated `id`: retry a batch as often as you like; the same
id with different content is a 409. A 2xx means the events are committed. A `completion` event completes
the session (final scores, then a debrief a few moments later).

**Errors** are JSON: `{"error": {"code", "message", "details"}}`.
"""


class EngineApi(FastAPI):
    """The engine API's FastAPI app, with its busiest routes served directly (see DirectRoute)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.direct_routes: dict[tuple[str, str], DirectRoute] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            direct = self.direct_routes.get((scope["method"], get_route_path(scope)))
            if direct is not None:
                await direct(scope, receive, send)
                return
        await super().__call__(scope, receive, send)


def refuse_malformed(presented: str | None) -> str:
    """The presented key, or Unauthenticated when it is missing or malformed (checksum included): every
    route calls this first, on the event loop, so garbage never costs a body parse or a database round
    trip."""
    if not presented or not api_keys.looks_valid(presented):
        log.info("engine API key refused (prefix %s)", (presented or "")[: api_keys.PREFIX_LENGTH] or "-")
        raise Unauthenticated(api_keys.INVALID_KEY)
    return presented


def _presented_key(credentials: HTTPAuthorizationCredentials | None) -> str:
    return refuse_malformed(credentials.credentials if credentials is not None else None)


def create_api_app(settings: Settings | None = None) -> EngineApi:
    settings = settings or get_settings()
    app = EngineApi(
        title="Simvado engine API",
        version="1.0.0",
        description=DESCRIPTION,
        openapi_url="/openapi.json",
        docs_url="/docs",
        redoc_url=None,
    )
    app.add_middleware(ApiGuardMiddleware, max_body_bytes=settings.api_max_body_bytes)
    limiter = MovingWindowRateLimiter(MemoryStorage())
    rate = parse_rate(settings.api_rate_limit)
    bearer = HTTPBearer(
        auto_error=False,
        bearerFormat="sk_sim_…",
        description="An engine API key from the console's API keys page or `simvado-console create-api-key`.",
    )

    # ------------------------------------------------------------------------------------ errors

    def error_response(status: int, code: str, message: str, details: dict | None = None, headers=None):  # noqa: ANN001, ANN202
        return JSONResponse(
            {"error": {"code": code, "message": message, "details": details or {}}}, status_code=status, headers=headers
        )

    @app.exception_handler(DomainError)
    async def domain_error(_request: Request, exc: DomainError) -> JSONResponse:
        status = next((s for cls, s in _STATUS.items() if isinstance(exc, cls)), 400)
        headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
        return error_response(status, exc.code, exc.message, _jsonable(exc.details), headers)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(_request: Request, exc: RequestValidationError) -> JSONResponse:
        details: dict[str, str] = {}
        for err in exc.errors():
            loc = [str(p) for p in err.get("loc", ()) if p != "body"]
            details.setdefault(".".join(loc) or "body", str(err.get("msg", "invalid")).removeprefix("Value error, "))
        return error_response(422, "validation_failed", "The request is invalid.", details)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 400:
            # FastAPI's "error parsing the body" (e.g. bytes that are not UTF-8): invalid input, our 422.
            return error_response(422, "validation_failed", "The body is not valid JSON.", {"body": "not valid JSON"})
        return error_response(
            exc.status_code, _HTTP_CODES.get(exc.status_code, "error"), str(exc.detail), headers=exc.headers
        )

    @app.exception_handler(DatabaseUnavailable)
    async def unavailable(_request: Request, _exc: DatabaseUnavailable) -> JSONResponse:
        return error_response(
            503,
            "unavailable",
            "The request could not be stored just now; nothing of it was kept. Retry it (event ids make that safe).",
            headers={"Retry-After": "1"},
        )

    @app.exception_handler(RateLimited)
    async def rate_limited(_request: Request, exc: RateLimited) -> JSONResponse:
        return error_response(
            429,
            "rate_limited",
            "Too many requests for this API key.",
            {"retry_after_seconds": exc.retry_after},
            headers={"Retry-After": str(exc.retry_after)},
        )

    # ---------------------------------------------------------------------------- the boundary

    committer = GroupCommitter()
    app.state.committer = committer  # for tests that need to hold the writer

    async def run(
        presented: str, scope: Permission, op: Callable[[Session, Actor], T], *, lock_order: str | None = None
    ) -> T:
        """Authenticate the presented key (well-formed: see `refuse_malformed`), check scope and rate,
        run `op`; answer only after the commit that holds it.

        The work runs on the group committer's thread, in a transaction it may share with other
        requests (one that fails is run again alone): see console/api/committer.py.
        """
        limited: list[RateLimited | None] = []

        def unit(session: Session) -> T:
            return op(session, admit(session, presented, scope, limited))

        return await committer.run(unit, lock_order=lock_order)

    def admit(session: Session, presented: str, scope: Permission, limited: list[RateLimited | None]) -> Actor:
        """The presented key's context, once it is known, within its rate, and holds `scope`.

        A unit runs again when its group fails: the request is counted against the rate once, and the
        verdict kept in `limited` (one list per request) for the second run.
        """
        try:
            key = api_keys.authenticate(session=session, key=presented)
        except Unauthenticated:
            # The prefix only (SECURITY.md 7): never the key itself.
            log.info("engine API key refused (prefix %s)", presented[: api_keys.PREFIX_LENGTH])
            raise
        if not limited:
            allowed = limiter.hit(rate, str(key.id))
            reset = 0.0 if allowed else limiter.get_window_stats(rate, str(key.id)).reset_time
            limited.append(None if allowed else RateLimited(max(1, math.ceil(reset - time.time()))))
        if limited[0] is not None:
            raise limited[0]
        if not key.can(scope):
            raise PermissionDenied(f"This API key lacks the {scope} scope.")
        return key

    def record_batches(session: Session, requests: list[_EventsRequest]) -> list[ingest.BatchResult]:
        """A group's POST /events requests, one statement for all their batches (see the committer)."""
        reports = [
            ingest.EventReport(
                admit(session, r.presented, SCOPE_WRITE, r.limited),
                r.batch,
                session_id=r.session_id,
                external_session_id=r.external_session_id,
            )
            for r in requests
        ]
        return ingest.record_event_batches(session=session, reports=reports)

    # ---------------------------------------------------------------------------------- routes

    @app.post(
        "/sessions",
        response_model=schemas.SessionOut,
        status_code=201,
        responses={
            200: {"model": schemas.SessionOut, "description": "The session already existed."},
            **BODY_RESPONSES,
            409: _err("The external_session_id is in use for another module or player."),
        },
        summary="Start (or resume) a play session",
        tags=["sessions"],
    )
    async def start_session(
        body: schemas.SessionStartIn,
        response: Response,
        credentials: HTTPAuthorizationCredentials | None = Security(bearer),
    ) -> schemas.SessionOut:
        """Idempotent on external_session_id: 201 when created, 200 with the same session when it exists."""
        data = ingest.SessionStart(
            module_id=body.module_id,
            player=ingest.PlayerRef(**body.player.model_dump()),
            external_session_id=body.external_session_id,
            platform=body.platform,
            launch_url=body.launch_url,
            started_at=body.started_at,
        )

        def start(session: Session, actor: Actor) -> tuple[schemas.SessionOut, bool]:
            play, created = ingest.start_session(session=session, actor=actor, data=data)
            return _session_out(play), created

        out, created = await run(
            _presented_key(credentials),
            SCOPE_WRITE,
            start,
            # Its events may come in the same group, named by external id: same key, arrival order kept.
            lock_order=f"ext:{body.external_session_id}" if body.external_session_id is not None else None,
        )
        response.status_code = 201 if created else 200
        return out

    @app.post(
        "/events",
        response_model=schemas.EventBatchOut,
        responses={
            **BODY_RESPONSES,
            409: _err("An event id is stored with other content, or the session is completed or abandoned."),
        },
        summary="Report a batch of 1–1000 events for one session",
        tags=["events"],
        openapi_extra={"requestBody": BATCH_REQUEST_BODY},
    )
    async def post_events(
        request: Request,
        background: BackgroundTasks,
        credentials: HTTPAuthorizationCredentials | None = Security(bearer),
    ) -> Response:
        """All or nothing: one invalid or conflicting event and no event of the batch is stored."""
        # Served by `accept_events` through the DirectRoute below; declared here for the schema (and
        # answering the same way should a request ever reach it through FastAPI).
        body, after = await accept_events(await request.body(), credentials.credentials if credentials else None)
        if after is not None:
            background.add_task(after)
        return Response(body, media_type="application/json", background=background)

    async def accept_events(raw: bytes, presented: str | None) -> tuple[bytes, Callable[[], Awaitable[None]] | None]:
        """POST /events: the answer's JSON, and the debrief to write once it is sent (after a completion)."""
        presented = refuse_malformed(presented)  # before parsing a body that may be a megabyte
        body = schemas.parse_event_batch(raw)
        if len(body.events) > settings.api_max_batch_events:
            raise ValidationFailed(
                "Too many events in one batch.", details={"events": f"at most {settings.api_max_batch_events}"}
            )
        incoming = ingest.IncomingBatch(  # checked here, on the loop, before it can join a group
            events_json=schemas.events_json(body),
            ids=[e["id"] for e in body.events],
            types=[e["type"] for e in body.events],
            max_data_bytes=settings.api_max_event_data_bytes,
        )
        result = await committer.run_together(
            record_batches,
            _EventsRequest(presented, incoming, body.session_id, body.external_session_id),
            # The play session's row is what the unit locks first (see committer.GROUP_LOCK_TIMEOUT).
            lock_order=f"id:{body.session_id}" if body.session_id is not None else f"ext:{body.external_session_id}",
        )
        out = schemas.EventBatchOut(
            accepted=result.accepted,
            duplicates=result.duplicates,
            session_id=result.session_id,
            session_status=result.session_status,
        )
        after = None
        if result.completed_now:
            # After the commit and after the answer; the job queued with the completion is the safety net.
            async def after() -> None:
                await run_in_threadpool(jobs.write_debrief_now, result.session_id)

        # Serialized here (pydantic, in Rust) rather than revalidated by FastAPI's response_model,
        # which stays on the route for the schema.
        return out.model_dump_json().encode(), after

    app.direct_routes[("POST", "/events")] = DirectRoute(
        accept_events, max_body_bytes=settings.api_max_body_bytes, exception_handlers=app.exception_handlers
    )

    @app.get(
        "/sessions/{session_id}",
        response_model=schemas.SessionOut,
        responses=COMMON_RESPONSES,
        summary="A session's status, final scores and debrief",
        tags=["sessions"],
    )
    async def get_session(
        session_id: uuid.UUID, credentials: HTTPAuthorizationCredentials | None = Security(bearer)
    ) -> schemas.SessionOut:
        return await run(
            _presented_key(credentials),
            SCOPE_READ,
            lambda s, k: _session_out(ingest.get_session(session=s, actor=k, session_id=session_id)),
        )

    @app.get(
        "/modules/{module_id}",
        response_model=schemas.ModuleOut,
        responses=COMMON_RESPONSES,
        summary="What an engine needs to run a module",
        tags=["modules"],
    )
    async def get_module(
        module_id: uuid.UUID, credentials: HTTPAuthorizationCredentials | None = Security(bearer)
    ) -> schemas.ModuleOut:
        return await run(
            _presented_key(credentials),
            SCOPE_READ,
            lambda s, k: _module_out(ingest.get_module(session=s, actor=k, module_id=module_id)),
        )

    def openapi() -> dict[str, Any]:
        # The batch body is parsed by pydantic straight from the bytes (see schemas.parse_event_batch),
        # so FastAPI does not see its model: put its schema where the route's $ref points.
        if app.openapi_schema is None:
            spec = FastAPI.openapi(app)
            components = spec.setdefault("components", {}).setdefault("schemas", {})
            for name, schema in schemas.event_batch_json_schemas().items():
                components.setdefault(name, schema)
        return app.openapi_schema

    app.openapi = openapi
    return app


def _module_out(found: ingest.ModuleConfig) -> schemas.ModuleOut:
    # The same view the studio's "Preview as engine" shows: one function decides what engines get.
    return schemas.ModuleOut.model_validate(modules.engine_view(found.module, found.simulation))


def _session_out(play) -> schemas.SessionOut:  # noqa: ANN001
    return schemas.SessionOut(
        id=play.id,
        external_session_id=play.external_session_id,
        module_id=play.module_id,
        status=play.status,
        platform=play.platform,
        started_at=play.started_at,
        completed_at=play.completed_at,
        total_duration_seconds=play.total_duration_seconds,
        final_scores=play.final_scores,
        debrief_text=play.debrief_text,
        debrief_generated_at=play.debrief_generated_at,
    )


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return str(value)
