"""Serving media files to signed-in viewers (SECURITY.md 22), and taking uploads in as they stream.

Mounted on NiceGUI's app, behind the auth middleware: anonymous requests never reach it. Each
request checks the viewer's scope through the media service (out of scope: 404, like a missing
file), and every answer says exactly what it is: the type from the stored extension (decided by
content at upload), `nosniff`, a Content-Disposition, and a sandboxing CSP so nothing served here
can act as a page of the console's origin.

Uploads (`POST /media/upload?module=<id>`, the media tab's uploader) come one file per request as the
raw body, so nothing parses a multipart form: the file name is in `X-Filename` (URI-encoded), the page's
CSRF token in `X-CSRF-Token`. Access is checked before a byte is read; the bytes go through
`media.Intake`, which stops reading at the limit the file's kind allows (413), and are spooled to disk
past 1 MiB; the library then checks the whole file, the module's file count and the storage quotas in
the transaction that inserts it.
"""

from __future__ import annotations

import logging
import uuid
from urllib.parse import quote, unquote

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, JSONResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect

from console import unit_of_work
from console.auth import csrf
from console.errors import Conflict, DomainError, NotFound, PermissionDenied, TooLarge, ValidationFailed
from console.services import media, modules, simulations
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


UPLOAD_PATH = "/media/upload"
_STATUS = [(NotFound, 404), (PermissionDenied, 403), (TooLarge, 413), (ValidationFailed, 422), (Conflict, 409)]


def _refused(exc: DomainError) -> JSONResponse:
    status = next((code for kind, code in _STATUS if isinstance(exc, kind)), 400)
    body = {"error": {"code": exc.code, "message": exc.message, "details": exc.details}}
    return JSONResponse(body, status_code=status)


def _check_editable(actor, module_id: uuid.UUID) -> None:  # noqa: ANN001
    with unit_of_work.read_only() as session:
        module = modules.get(session=session, actor=actor, module_id=module_id)
        simulations.get_editable(session=session, actor=actor, simulation_id=module.simulation_id)


def _store(actor, module_id: uuid.UUID, filename: str, file) -> dict:  # noqa: ANN001
    with unit_of_work.transaction() as session:
        asset = media.upload(session=session, actor=actor, module_id=module_id, filename=filename, data=file)
        return {"id": str(asset.id), "filename": asset.filename, "url": asset.url, "size_bytes": asset.size_bytes}


def _declared_size(request: Request) -> int | None:
    try:
        return int(request.headers["content-length"])
    except (KeyError, ValueError):
        return None


async def read_capped(request: Request, limit: int, too_large: TooLarge) -> bytes:
    """The whole body of a small upload (a CSV), refusing with `too_large` as soon as it is past
    `limit` — by its declared length before a byte is read, else by the bytes read so far: the rest is
    never taken in. (Media streams to storage instead: `media.Intake`.)"""
    declared = _declared_size(request)
    if declared is not None and declared > limit:
        raise too_large
    received = bytearray()
    async for chunk in request.stream():
        received += chunk
        if len(received) > limit:
            raise too_large
    return bytes(received)


def media_router() -> APIRouter:
    router = APIRouter()

    @router.post(UPLOAD_PATH, include_in_schema=False)
    async def upload_media(request: Request, module: str = "") -> Response:
        actor = request.state.actor  # the auth middleware answers 401 to anyone signed out
        if not csrf.is_genuine(request, request.headers.get("x-csrf-token")):
            return _refused(PermissionDenied("This upload did not come from the console's page: reload it."))
        try:
            module_id = uuid.UUID(module)
            await run_in_threadpool(_check_editable, actor, module_id)  # before a byte of the file is read
            intake = media.Intake(declared_size=_declared_size(request))
        except ValueError:
            return _refused(NotFound("Module not found."))
        except DomainError as exc:
            return _refused(exc)
        filename = unquote(request.headers.get("x-filename", ""))[:1000]
        try:
            async for chunk in request.stream():
                intake.feed(chunk)  # raises, and reading stops, once the file cannot be accepted
            stored = await run_in_threadpool(_store, actor, module_id, filename, intake.finish())
        except DomainError as exc:
            return _refused(exc)
        except ClientDisconnect:
            return Response(status_code=400)
        finally:
            intake.close()
        return JSONResponse(stored, status_code=201)

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
