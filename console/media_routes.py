"""Serving media files to signed-in viewers (SECURITY.md 22).

Mounted on NiceGUI's app, behind the auth middleware: anonymous requests never reach it. Each
request checks the viewer's scope through the media service (out of scope: 404, like a missing
file), and every answer says exactly what it is: the type from the stored extension (decided by
content at upload), `nosniff`, a Content-Disposition, and a sandboxing CSP so nothing served here
can act as a page of the console's origin.
"""

from __future__ import annotations

import logging
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from console import unit_of_work
from console.errors import NotFound
from console.services import media
from models.enums import MediaType

log = logging.getLogger(__name__)

MEDIA_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; sandbox",
    "Cross-Origin-Resource-Policy": "same-origin",
}


def _disposition(asset) -> str:  # noqa: ANN001
    # Documents download; images, audio and video show inline (the console's previews use them).
    kind = "attachment" if asset.type == MediaType.document else "inline"
    ascii_name = "".join(c if c.isascii() and c.isprintable() and c not in '"\\;' else "_" for c in asset.filename)
    return f"{kind}; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(asset.filename, safe='')}"


def _find(actor, name: str):  # noqa: ANN001
    with unit_of_work.read_only() as session:
        return media.asset_for_url(session=session, actor=actor, name=name)


def media_router() -> APIRouter:
    router = APIRouter()

    @router.get("/media/{name}", include_in_schema=False)
    async def serve_media(request: Request, name: str) -> Response:
        actor = getattr(request.state, "actor", None)
        not_found = JSONResponse({"error": {"code": "not_found", "message": "Not found."}}, status_code=404)
        if actor is None:
            return not_found
        try:
            asset = await run_in_threadpool(_find, actor, name)
        except NotFound:
            return not_found
        storage = media.get_storage()
        key = media.storage_key(asset)
        headers = {**MEDIA_HEADERS, "Content-Disposition": _disposition(asset)}
        path = storage.path(key)
        if path is not None:
            if not path.is_file():
                return not_found
            # FileResponse answers Range requests, so audio and video can seek.
            return FileResponse(path, media_type=media.mime_of(asset), headers=headers)
        try:
            data = await run_in_threadpool(storage.get, key)
        except Exception:  # missing object or an unreachable store: not something to leak details of
            log.exception("could not read media %s", key)
            return not_found
        return Response(data, media_type=media.mime_of(asset), headers=headers)

    return router
