"""localstripe (a fake, stateful Stripe) on 127.0.0.1 in a thread of the test run, for the billing tests.

localstripe keeps its objects in one module-level store and writes them to /tmp/localstripe.pickle on
every write, a file other runs on this machine may share: the dump is turned off here (nothing of this
run needs it back), and `reset()` empties the store between tests.
"""

from __future__ import annotations

import asyncio
import socket
import threading
from dataclasses import dataclass

import httpx
import stripe


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class StripePeer:
    url: str
    loop: asyncio.AbstractEventLoop

    def reset(self) -> None:
        httpx.delete(f"{self.url}/_config/data", timeout=5).raise_for_status()

    def send_webhooks_to(self, url: str, secret: str, hook_id: str = "console") -> None:
        """localstripe signs each event with `secret` and posts it to `url` (about a second later)."""
        answer = httpx.post(f"{self.url}/_config/webhooks/{hook_id}", data={"url": url, "secret": secret}, timeout=5)
        answer.raise_for_status()


_running: StripePeer | None = None


def start() -> StripePeer:
    """localstripe for this test process: started once (its aiohttp app is one module-level object,
    bound to the first event loop that runs it), shared by every module that asks; `reset()` between."""
    global _running
    if _running is None:
        _running = _start()
    return _running


def _start() -> StripePeer:
    from aiohttp import web
    from localstripe import resources
    from localstripe.server import app

    resources.store.dump_to_disk = lambda *a, **k: None  # never the machine-wide pickle file
    port = free_port()
    loop = asyncio.new_event_loop()
    ready = threading.Event()

    async def serve() -> None:
        runner = web.AppRunner(app)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        ready.set()

    def run() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(serve())
        loop.run_forever()

    threading.Thread(target=run, name="localstripe", daemon=True).start()
    if not ready.wait(10):
        raise RuntimeError("localstripe did not start")
    return StripePeer(url=f"http://127.0.0.1:{port}", loop=loop)


KEY = "sk_test_simvado_billing"
WEBHOOK_SECRET = "whsec_simvado_billing_test"
PLANS = {"plan_standard": 2000, "plan_enterprise": 3500}


def configure(peer: StripePeer, monkeypatch) -> stripe.StripeClient:  # noqa: ANN001
    """localstripe emptied, with the plans the console sells; the console's settings pointed at it."""
    peer.reset()
    for name, value in {
        "SIMVADO_STRIPE_API_KEY": KEY,
        "SIMVADO_STRIPE_API_BASE": peer.url,
        "SIMVADO_STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET,
        "SIMVADO_STRIPE_PRICE_STANDARD": "plan_standard",
        "SIMVADO_STRIPE_PRICE_ENTERPRISE": "plan_enterprise",
    }.items():
        monkeypatch.setenv(name, value)
    from console.config import get_settings

    get_settings.cache_clear()
    api = stripe.StripeClient(KEY, base_addresses={"api": peer.url})
    product = api.v1.products.create(params={"name": "Simvado seats"})
    for plan, amount in PLANS.items():
        api.v1.plans.create(
            params={"id": plan, "amount": amount, "currency": "usd", "interval": "month", "product": product.id}
        )
    return api


def customer_with_card(api: stripe.StripeClient, name: str = "Acme") -> str:
    """A Stripe customer with a test card, as sales would set one up (localstripe charges it)."""
    card = {"number": "4242424242424242", "exp_month": 12, "exp_year": 2030, "cvc": "123"}
    method = api.v1.payment_methods.create(params={"type": "card", "card": card})
    customer = api.v1.customers.create(
        params={"name": name, "payment_method": method.id, "invoice_settings": {"default_payment_method": method.id}}
    )
    return customer.id


def quantity(api: stripe.StripeClient, subscription_id: str) -> int:
    return api.v1.subscriptions.retrieve(subscription_id)["items"].data[0].quantity
