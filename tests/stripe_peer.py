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


def start() -> StripePeer:
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
