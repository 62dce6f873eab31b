"""Taking a members CSV in as it streams: `POST /people/import/upload?organization=<id>` (the import page's uploader).

The same shape as media uploads (console/media_routes.py): the raw body is the file, its name in
`X-Filename` (URI-encoded), the page's CSRF token in `X-CSRF-Token`. The login (the auth middleware
answers 401 to anyone signed out), the token and the actor's reach over the organization are checked
before a byte is read; reading stops past 2 MiB (413); the file is then checked by content and kept
for its dry run (`csv_import.stage`), answered 201 {"import_id": ...}.
"""

from __future__ import annotations

import uuid
from urllib.parse import unquote

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect

from console import unit_of_work
from console.auth import Permission, csrf
from console.errors import DomainError, NotFound, PermissionDenied, TooLarge
from console.media_routes import _refused, read_capped
from console.services.people import csv_import, scope

IMPORT_PATH = "/people/import/upload"
TOO_LARGE = TooLarge("The file is larger than 2 MiB.", details={"file": "at most 2 MiB"})


def _check_reach(actor, organization_id: uuid.UUID) -> uuid.UUID:  # noqa: ANN001
    actor.require(Permission.manage_organization)
    with unit_of_work.read_only() as session:
        return scope.organization(session, actor, organization_id).id


def _stage(actor, organization_id: uuid.UUID, filename: str, content: bytes) -> dict:  # noqa: ANN001
    with unit_of_work.transaction() as session:
        imported = csv_import.stage(
            session=session, actor=actor, organization_id=organization_id, filename=filename, content=content
        )
        return {"import_id": str(imported.id), "filename": imported.filename}


def people_router() -> APIRouter:
    router = APIRouter()

    @router.post(IMPORT_PATH, include_in_schema=False)
    async def import_members(request: Request, organization: str = "") -> Response:
        actor = request.state.actor  # the auth middleware answers 401 to anyone signed out
        if not csrf.is_genuine(request, request.headers.get("x-csrf-token")):
            return _refused(PermissionDenied("This upload did not come from the console's page: reload it."))
        try:
            organization_id = await run_in_threadpool(_check_reach, actor, uuid.UUID(organization))
        except ValueError:
            return _refused(NotFound(scope.ORG_NOT_FOUND))
        except DomainError as exc:
            return _refused(exc)
        try:
            received = await read_capped(request, csv_import.MAX_BYTES, TOO_LARGE)
            filename = unquote(request.headers.get("x-filename", ""))[:1000]
            staged = await run_in_threadpool(_stage, actor, organization_id, filename, received)
        except DomainError as exc:
            return _refused(exc)
        except ClientDisconnect:
            return Response(status_code=400)
        return JSONResponse(staged, status_code=201)

    return router
