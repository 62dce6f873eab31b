"""A real OpenID Connect provider for the SSO tests: oidc-provider-mock in a subprocess on 127.0.0.1.

Its issuer is the URL it is reached at (`http://127.0.0.1:<port>`); it accepts any client id and
secret; `PUT /users/<sub>` sets a person's claims; its authorization form takes `sub` (or
`action=deny`). It does not check PKCE (the console sends S256 all the same; test_sso.py shows it).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass(frozen=True)
class MockProvider:
    issuer: str

    def set_user(self, sub: str, **claims) -> None:
        httpx.put(f"{self.issuer}/users/{sub}", json=claims, timeout=5).raise_for_status()

    def authorize(self, authorization_url: str, *, sub: str | None = None, deny: bool = False) -> dict[str, str]:
        """Submit the provider's form as a person would; the query it sends the browser back with."""
        data = {"action": "deny"} if deny else {"sub": sub}
        answer = httpx.post(authorization_url, data=data, follow_redirects=False, timeout=5)
        assert answer.status_code in (302, 303), answer.text[:500]
        return {k: v[0] for k, v in parse_qs(urlsplit(answer.headers["location"]).query).items()}


@pytest.fixture(scope="module")
def oidc_provider() -> Iterator[MockProvider]:
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k != "PYTEST_CURRENT_TEST"}
    process = subprocess.Popen(
        [sys.executable, "-m", "oidc_provider_mock", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    issuer = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                if httpx.get(f"{issuer}/.well-known/openid-configuration", timeout=0.5).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or process.poll() is not None:
                pytest.fail("oidc-provider-mock did not start")
            time.sleep(0.1)
        yield MockProvider(issuer)
    finally:
        process.terminate()
        process.wait(timeout=10)
