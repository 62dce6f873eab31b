"""Play sessions: an engine starts (or resumes) one, and reads its status, scores and debrief back."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Response, Security
from sqlmodel import Session

from console.api import schemas
from console.api.errors import BODY_RESPONSES, COMMON_RESPONSES, error_doc
from console.api.gate import Gate
from console.auth import Actor
from console.services import ingest
from console.services.api_keys import SCOPE_READ, SCOPE_WRITE
from models import PlaySession


def sessions_router(gate: Gate) -> APIRouter:
    """POST /sessions and GET /sessions/{session_id}."""
    router = APIRouter()

    @router.post(
        "/sessions",
        response_model=schemas.SessionOut,
        status_code=201,
        responses={
            200: {"model": schemas.SessionOut, "description": "The session already existed."},
            **BODY_RESPONSES,
            409: error_doc(
                "The external_session_id is already used: by a session another key or organization started, or "
                "by one started with another module, player, platform, launch_url or started_at (the details "
                "name each field that differs). Make external_session_id a UUID."
            ),
            422: error_doc(
                "The request is invalid: the details map each field to its problem. A refused "
                "`player.launch_token` has its own code: `launch_token_invalid` (not the console's, or "
                "altered), `launch_token_expired` (have the player launch again from the console), "
                "`launch_token_wrong_module`, or `launch_token_not_allowed` (the person may not play "
                "this module now: deactivated, no longer assigned, or a free plan and not a free demo)."
            ),
        },
        summary="Start (or resume) a play session",
        tags=["sessions"],
    )
    async def start_session(
        body: schemas.SessionStartIn,
        response: Response,
        key: str = Security(gate.key),
    ) -> schemas.SessionOut:
        """Idempotent on external_session_id: 201 when created, 200 with the same session when it exists.

        Name the player by user_id, clerk_id, email, or the `launch_token` the console put in the
        module's launch URL (`?simvado_launch=…`): the key's own binding applies either way.
        """
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
            return _session_out(session, play), created

        out, created = await gate.run(
            key,
            SCOPE_WRITE,
            start,
            # Its events may come in the same group, named by external id: same key, arrival order kept.
            lock_order=f"ext:{body.external_session_id}",
            session_ref=body.external_session_id,
        )
        response.status_code = 201 if created else 200
        return out

    @router.get(
        "/sessions/{session_id}",
        response_model=schemas.SessionOut,
        responses=COMMON_RESPONSES,
        summary="A session's status, final scores and debrief",
        tags=["sessions"],
    )
    async def get_session(session_id: uuid.UUID, key: str = Security(gate.key)) -> schemas.SessionOut:
        return await gate.run(
            key,
            SCOPE_READ,
            lambda s, k: _session_out(s, ingest.get_session(session=s, actor=k, session_id=session_id)),
        )

    return router


def _session_out(session: Session, play: PlaySession) -> schemas.SessionOut:
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
        passed=ingest.passed(session=session, play=play),
        debrief_text=play.debrief_text,
        debrief_generated_at=play.debrief_generated_at,
    )
