"""Downloading a finished export: `GET /exports/{token}` (pages/components/exporting.py links to it).

Mounted on NiceGUI's app, behind the auth middleware, so an anonymous request is sent to sign in and
never reaches it. The export itself ran from the page (through the service, in the viewer's scope,
audited); this route only hands its file to the same person, once, while they still hold the
export's permission (a role changed or a login ended since the export: 404, like an unknown token), and
removes the file once sent. Every answer is an attachment with `nosniff` and a sandboxing CSP: an
export is never a page of the console's origin.
"""

from __future__ import annotations

from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, JSONResponse, Response
from starlette.background import BackgroundTask

from console.services.export_files import FILES

EXPORT_PATH = "/exports/{token}"
HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; sandbox",
    "Cross-Origin-Resource-Policy": "same-origin",
}


def export_router() -> APIRouter:
    router = APIRouter()

    @router.get(EXPORT_PATH, include_in_schema=False)
    async def download_export(request: Request, token: str) -> Response:
        actor = getattr(request.state, "actor", None)
        not_found = JSONResponse({"error": {"code": "not_found", "message": "Not found."}}, status_code=404)
        if actor is None or len(token) > 64:
            return not_found
        # The owner must still hold the export's permission (managing an organization for assignments,
        # reading sessions for sessions' exports).
        found = FILES.take(token, actor.user_id, may=actor.can)
        if found is None or not found[0].is_file():
            return not_found
        path, filename, media_type = found
        disposition = f"attachment; filename=\"{filename}\"; filename*=UTF-8''{quote(filename, safe='')}"
        return FileResponse(
            path,
            media_type=media_type,
            headers={**HEADERS, "Content-Disposition": disposition},
            background=BackgroundTask(path.unlink, missing_ok=True),  # sent once, then gone
        )

    return router
