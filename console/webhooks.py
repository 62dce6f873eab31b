"""What every signed webhook route shares (Clerk: console/identity_routes.py; Stripe:
console/billing_routes.py). Each route checks its own headers and signature; around that:

- `read_body`: the body read up to a limit while it streams (413 past it, the rest never read);
- `parse_object`: JSON parsed only after the signature held, and an object (400 otherwise);
- `apply`: the delivery applied in one unit of work off the event loop; 200 with its outcome (a
  duplicate too), 422 for a delivery we refuse, 500 for anything else — the unit of work rolled back,
  so nothing of it was kept and the sender retries it;
- `error`: every refusal in one JSON shape. Nothing here logs a body, a header or a secret.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect

from console.errors import DomainError, TooLarge
from console.media_routes import read_capped

log = logging.getLogger(__name__)


def error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status)


async def read_body(request: Request, limit: int) -> bytes | Response:
    """The raw body (for the signature check), or the answer when it is too large or cut off."""
    try:
        return await read_capped(request, limit, TooLarge("Too large."))
    except TooLarge:
        return error(413, "too_large", f"The body is larger than {limit} bytes.")
    except ClientDisconnect:
        return Response(status_code=400)


def parse_object(body: bytes) -> dict | Response:
    """The signed body as a JSON object, or the 400 that says why it is not one."""
    try:
        event = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError):
        return error(400, "bad_json", "The body is not JSON.")
    if not isinstance(event, dict):
        return error(400, "bad_json", "The body is not a JSON object.")
    return event


async def apply(sender: str, work: Callable[[], Any]) -> Response:
    """Run `work` (one unit of work returning an outcome with a `status`) and answer as `sender` expects."""
    try:
        outcome = await run_in_threadpool(work)
    except DomainError as exc:
        log.info("%s delivery refused: %s", sender, exc.code)
        return error(422, exc.code, exc.message)
    except Exception:
        # Nothing of it was kept (the unit of work rolled back): a 5xx makes the sender retry it.
        log.exception("%s delivery failed", sender)
        return error(500, "internal", "The delivery could not be applied; it will be retried.")
    return JSONResponse({"status": outcome.status})
