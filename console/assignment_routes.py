"""Reading a CSV of people to assign as it streams: `POST /assignments/emails/upload?organization=<id>`
(the assign dialog's uploader).

The same checks as the members import (console/people_routes.py): the login (the auth middleware
answers 401 to anyone signed out), the page's CSRF token and the actor's reach over the organization
before a byte is read; reading stops past 512 KiB (413). Nothing is stored: the answer is the addresses
the file names and the lines that are not addresses, 200 {"emails": [...], "problems": [...]}; the
dialog shows them and the assign service checks every address against the organization again.
"""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect

from console.auth import csrf
from console.errors import DomainError, NotFound, PermissionDenied, TooLarge
from console.media_routes import _refused, read_capped
from console.people_routes import _check_reach
from console.services.assignments import assigning
from console.services.people import scope

EMAILS_PATH = "/assignments/emails/upload"
TOO_LARGE = TooLarge("The file is larger than 512 KiB.", details={"file": "at most 512 KiB"})


def assignment_router() -> APIRouter:
    router = APIRouter()

    @router.post(EMAILS_PATH, include_in_schema=False)
    async def read_emails(request: Request, organization: str = "") -> Response:
        actor = request.state.actor
        if not csrf.is_genuine(request, request.headers.get("x-csrf-token")):
            return _refused(PermissionDenied("This upload did not come from the console's page: reload it."))
        try:
            await run_in_threadpool(_check_reach, actor, uuid.UUID(organization))
        except ValueError:
            return _refused(NotFound(scope.ORG_NOT_FOUND))
        except DomainError as exc:
            return _refused(exc)
        try:
            received = await read_capped(request, assigning.MAX_CSV_BYTES, TOO_LARGE)
            emails, problems = assigning.emails_from_csv(received)
        except DomainError as exc:
            return _refused(exc)
        except ClientDisconnect:
            return Response(status_code=400)
        shown = problems[:200]
        return JSONResponse({"emails": emails, "problems": shown, "more_problems": len(problems) - len(shown)})

    return router
