"""The one place the console talks to Stripe: a `stripe.StripeClient` configured by settings, and the few
calls billing makes, answering plain dicts.

The secret key comes from `SIMVADO_STRIPE_API_KEY` only and is never logged: a failed call is logged
and raised as `StripeUnavailable` with Stripe's error code, never with the request (which carries the
key in its headers) or the raw body. `SIMVADO_STRIPE_API_BASE` points the client at a
Stripe-compatible server (localstripe in the tests).
"""

from __future__ import annotations

import logging
from typing import Any

import stripe

from console.config import get_settings
from console.errors import DomainError

log = logging.getLogger(__name__)


class StripeUnavailable(DomainError):
    """Stripe is not configured, cannot be reached, or refused the call (nothing was changed here)."""

    code = "stripe_unavailable"


def configured() -> bool:
    return bool(get_settings().stripe_api_key)


def _client() -> stripe.StripeClient:
    settings = get_settings()
    if not settings.stripe_api_key:
        raise StripeUnavailable("Stripe is not configured (SIMVADO_STRIPE_API_KEY).")
    base = {"api": settings.stripe_api_base.rstrip("/")} if settings.stripe_api_base else None
    return stripe.StripeClient(
        settings.stripe_api_key,
        base_addresses=base,
        max_network_retries=1,
        http_client=stripe.HTTPXClient(timeout=settings.stripe_timeout_seconds, allow_sync_methods=True),
    )


def _call(what: str, fn, *args: Any, **kwargs: Any) -> dict:  # noqa: ANN001
    try:
        return fn(*args, **kwargs).to_dict()
    except stripe.StripeError as exc:
        code = getattr(exc, "code", None) or type(exc).__name__
        log.warning("Stripe refused %s: %s (HTTP %s)", what, code, getattr(exc, "http_status", None))
        message = "Stripe could not be reached." if isinstance(exc, stripe.APIConnectionError) else exc.user_message
        raise StripeUnavailable(f"Stripe: {message or code}", details={"stripe": str(code)}) from None


def create_customer(*, name: str, metadata: dict[str, str]) -> dict:
    c = _client()
    return _call("a new customer", c.v1.customers.create, params={"name": name, "metadata": metadata})


def retrieve_customer(customer_id: str) -> dict:
    return _call("a customer", _client().v1.customers.retrieve, customer_id)


def create_subscription(*, customer_id: str, price_id: str, quantity: int, metadata: dict[str, str]) -> dict:
    c = _client()
    item = {"plan" if price_id.startswith("plan_") else "price": price_id, "quantity": quantity}
    return _call(
        "a new subscription",
        c.v1.subscriptions.create,
        params={"customer": customer_id, "items": [item], "metadata": metadata},
    )


def retrieve_subscription(subscription_id: str) -> dict:
    return _call("a subscription", _client().v1.subscriptions.retrieve, subscription_id)


def change_subscription(*, subscription_id: str, item_id: str, price_id: str, quantity: int) -> dict:
    """Set the one item's plan and quantity (Stripe prorates by default)."""
    c = _client()
    item = {"id": item_id, "plan" if price_id.startswith("plan_") else "price": price_id, "quantity": quantity}
    return _call("a subscription change", c.v1.subscriptions.update, subscription_id, params={"items": [item]})


def list_invoices(*, customer_id: str, limit: int = 12) -> list[dict]:
    c = _client()
    page = _call("invoices", c.v1.invoices.list, params={"customer": customer_id, "limit": limit})
    return list(page.get("data") or [])


def list_subscriptions(*, limit: int = 100) -> list[dict]:
    """Every subscription (all statuses), page by page."""
    c = _client()
    out: list[dict] = []
    params: dict[str, Any] = {"status": "all", "limit": limit}
    while True:
        page = _call("subscriptions", c.v1.subscriptions.list, params=params)
        data = list(page.get("data") or [])
        out += data
        if not page.get("has_more") or not data:
            return out
        params["starting_after"] = data[-1]["id"]
