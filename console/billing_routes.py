"""The web boundary of billing: `POST /webhooks/stripe` (SECURITY.md 8–12, docs/billing.md).

On the FastAPI root beside the Clerk webhook: a delivery needs no page session or cookie. The
`Stripe-Signature` header must be present (else 400 before a byte is read); the body is read up to
`stripe_webhook_max_body_bytes` (413 past it, the rest never read); Stripe's own
`WebhookSignature.verify_header` checks the HMAC of those exact bytes and that its timestamp is
within 300 s (400 otherwise) before anything parses them; then one unit of work applies the event as
the one actor "Stripe webhook" (services/billing/events.py). Success is 200 (a duplicate too); any
failure is non-2xx, so Stripe retries. The secret and the body are never logged.
"""

from __future__ import annotations

import json
import logging

import stripe
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect

from console import unit_of_work
from console.config import Settings
from console.errors import DomainError, TooLarge
from console.media_routes import read_capped
from console.services.billing import events

log = logging.getLogger(__name__)

STRIPE_WEBHOOK_PATH = "/webhooks/stripe"
TOLERANCE_SECONDS = 300  # Stripe's own default: a replay older than five minutes is refused


def _error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status)


def _apply(event: dict) -> events.Outcome:
    with unit_of_work.transaction() as session:
        return events.apply_event(session=session, actor=events.WEBHOOK_ACTOR, event=event)


def billing_router(settings: Settings) -> APIRouter:
    router = APIRouter()

    @router.post(STRIPE_WEBHOOK_PATH, include_in_schema=False)
    async def stripe_webhook(request: Request) -> Response:
        secret = settings.stripe_webhook_secret
        if not secret:
            log.warning("a Stripe delivery arrived but SIMVADO_STRIPE_WEBHOOK_SECRET is not set")
            return _error(503, "not_configured", "The Stripe webhook is not configured.")
        signature = request.headers.get("stripe-signature", "")
        if not signature or len(signature) > 2000:
            return _error(400, "bad_signature", "Missing or malformed Stripe-Signature header.")
        limit = settings.stripe_webhook_max_body_bytes
        try:
            body = await read_capped(request, limit, TooLarge("Too large."))
        except TooLarge:
            return _error(413, "too_large", f"The body is larger than {limit} bytes.")
        except ClientDisconnect:
            return Response(status_code=400)
        try:
            stripe.WebhookSignature.verify_header(body.decode("utf-8"), signature, secret, TOLERANCE_SECONDS)
        except (stripe.SignatureVerificationError, UnicodeDecodeError):
            log.info("Stripe delivery refused: bad signature or timestamp")
            return _error(400, "bad_signature", "The signature does not verify.")
        try:
            event = json.loads(body)
        except json.JSONDecodeError:
            return _error(400, "bad_json", "The body is not JSON.")
        if not isinstance(event, dict):
            return _error(400, "bad_json", "The body is not a JSON object.")
        try:
            outcome = await run_in_threadpool(_apply, event)
        except DomainError as exc:
            log.info("Stripe delivery refused: %s", exc.code)
            return _error(422, exc.code, exc.message)
        except Exception:
            # Nothing of it was kept (the unit of work rolled back): a 5xx makes Stripe send it again.
            log.exception("Stripe delivery failed")
            return _error(500, "internal", "The event could not be applied; it will be retried.")
        return JSONResponse({"status": outcome.status})

    return router
