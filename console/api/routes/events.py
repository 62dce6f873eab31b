"""Gameplay events: an engine reports a batch of them for one play session. The busiest route by far,
served by a DirectRoute (console/api/middleware.py) in front of FastAPI's layers; the FastAPI route
stays declared for the OpenAPI schema (see README, "Engine API performance")."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from fastapi import APIRouter, BackgroundTasks, Request, Response, Security
from fastapi.security import HTTPAuthorizationCredentials
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool

from console import jobs
from console.api import batches, schemas
from console.api.errors import BODY_RESPONSES, RateLimited, error_doc
from console.api.gate import Gate, refuse_malformed
from console.api.middleware import DirectRoute
from console.config import Settings
from console.errors import ValidationFailed
from console.services import ingest
from console.services.api_keys import SCOPE_WRITE

# The batch body is read straight from the bytes (console/api/batches.py), so FastAPI does not see its
# model: the app puts the schema where this $ref points (create_api_app's openapi).
BATCH_REQUEST_BODY = {
    "required": True,
    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/EventBatchIn"}}},
}


@dataclass(frozen=True)
class _EventsRequest:
    """A POST /events request as the group committer carries it to `record_batches`."""

    presented: str
    batch: ingest.IncomingBatch
    session_id: uuid.UUID | None
    external_session_id: str | None
    limited: list[RateLimited | None] = field(default_factory=list)  # the rate verdict, kept for a rerun


def events_router(gate: Gate, settings: Settings, exception_handlers: dict) -> tuple[APIRouter, DirectRoute]:
    """POST /events: the router that declares it (for the schema) and the DirectRoute that serves it,
    answering failures with `exception_handlers` (the app's own dict, so exactly as through FastAPI)."""
    # Bound once here, not looked up on the gate per request: this is the hot path.
    committer = gate.committer
    admit = gate.admit
    router = APIRouter()

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

    @router.post(
        "/events",
        response_model=schemas.EventBatchOut,
        responses={
            **BODY_RESPONSES,
            409: error_doc("An event id is stored with other content, or the session is completed or abandoned."),
        },
        summary="Report a batch of 1–1000 events for one session",
        tags=["events"],
        openapi_extra={"requestBody": BATCH_REQUEST_BODY},
    )
    async def post_events(
        request: Request,
        background: BackgroundTasks,
        credentials: HTTPAuthorizationCredentials | None = Security(gate.bearer),
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
        body = batches.read(raw)
        await gate.check_rate(presented, body.session_id or body.external_session_id)  # key, session, address
        if len(body.ids) > settings.api_max_batch_events:
            raise ValidationFailed(
                "Too many events in one batch.", details={"events": f"at most {settings.api_max_batch_events}"}
            )
        incoming = body.incoming(settings.api_max_event_data_bytes)  # checked on the loop, before it can join a group
        result = await committer.run_together(
            record_batches,
            _EventsRequest(presented, incoming, body.session_id, body.external_session_id),
            # The play session's row is what the unit locks first (see committer.GROUP_LOCK_TIMEOUT).
            lock_order=f"id:{body.session_id}" if body.session_id is not None else f"ext:{body.external_session_id}",
            weight=len(body.ids),  # a batch of many events may be stored beside another group (see the committer)
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

    direct = DirectRoute(
        accept_events, max_body_bytes=settings.api_max_body_bytes, exception_handlers=exception_handlers
    )
    return router, direct
