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

import logging

import stripe
from fastapi import APIRouter, Request
from fastapi.responses import Response

from console import unit_of_work, webhooks
from console.config import Settings
from console.services.billing import events

log = logging.getLogger(__name__)

STRIPE_WEBHOOK_PATH = "/webhooks/stripe"
TOLERANCE_SECONDS = 300  # Stripe's own default: a replay older than five minutes is refused


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
            return webhooks.error(503, "not_configured", "The Stripe webhook is not configured.")
        signature = request.headers.get("stripe-signature", "")
        if not signature or len(signature) > 2000:
            return webhooks.error(400, "bad_signature", "Missing or malformed Stripe-Signature header.")
        body = await webhooks.read_body(request, settings.stripe_webhook_max_body_bytes)
        if isinstance(body, Response):
            return body
        try:
            stripe.WebhookSignature.verify_header(body.decode("utf-8"), signature, secret, TOLERANCE_SECONDS)
        except (stripe.SignatureVerificationError, UnicodeDecodeError):
            log.info("Stripe delivery refused: bad signature or timestamp")
            return webhooks.error(400, "bad_signature", "The signature does not verify.")
        event = webhooks.parse_object(body)
        if isinstance(event, Response):
            return event
        return await webhooks.apply("Stripe", lambda: _apply(event))

    return router
