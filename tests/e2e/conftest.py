"""End-to-end setup: the real `simvado-console serve` in a subprocess, driven by a real Chromium."""

from __future__ import annotations

import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.support import stop_embedded_postgres

ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@dataclass
class Account:
    email: str
    password: str
    name: str


@dataclass
class Console:
    url: str
    admin: Account
    creator: Account
    env: dict  # the server's environment: CLI commands run with it reach the same database

    def cli(self, *args: str) -> str:
        """Run a `simvado-console` command against this console's database; its standard output."""
        done = subprocess.run(
            [sys.executable, "-m", "console.cli", *args], env=self.env, check=True, capture_output=True, text=True
        )
        return done.stdout


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _cli(env: dict, *args: str) -> None:
    subprocess.run([sys.executable, "-m", "console.cli", *args], env=env, check=True, capture_output=True)


@dataclass
class Served:
    url: str
    root: Path  # the data folder: database, demo logins
    output: Path  # what the server printed
    env: dict


@contextmanager
def serving(*args: str, prepare: Callable[[dict], None] | None = None) -> Iterator[Served]:
    """`simvado-console serve <args>` on a fresh data folder, until the block ends; `prepare(env)` runs
    first (CLI commands against the same database)."""
    root = Path(tempfile.mkdtemp(prefix="sve-", dir="/tmp"))
    env = {k: v for k, v in os.environ.items() if k not in ("PYTEST_CURRENT_TEST", "DATABASE_URL")}
    env["SIMVADO_DATA_DIR"] = str(root)
    env["SIMVADO_LOGIN_FAILURE_DELAY_SECONDS"] = "0"
    if prepare is not None:
        prepare(env)
    port = _free_port()
    output = root / "server.log"
    log = open(output, "w")  # noqa: SIM115
    process = subprocess.Popen(
        [sys.executable, "-m", "console.cli", "serve", "--port", str(port), *args],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        else:
            raise RuntimeError("the console did not start:\n" + output.read_text())
        yield Served(url=url, root=root, output=output, env=env)
    finally:
        process.terminate()
        process.wait(timeout=20)
        log.close()
        stop_embedded_postgres(root / "pg")
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def console_server() -> Iterator[Console]:
    admin = Account("admin@e2e.example", secrets.token_urlsafe(12), "Erin Admin")
    creator = Account("creator@e2e.example", secrets.token_urlsafe(12), "Cleo Creator")

    def accounts(env: dict) -> None:
        for account, role in ((admin, "platform_admin"), (creator, "studio_creator")):
            _cli(env, "create-user", "--email", account.email, "--name", account.name, "--role", role,
                 "--password", account.password)  # fmt: skip

    with serving(prepare=accounts) as served:
        yield Console(url=served.url, admin=admin, creator=creator, env=served.env)


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    executable = os.environ.get("SIMVADO_CHROMIUM", "/usr/bin/chromium")
    with sync_playwright() as playwright:
        kwargs = {"args": CHROMIUM_ARGS}
        if executable != "playwright":
            kwargs["executable_path"] = executable
        browser = playwright.chromium.launch(**kwargs)
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()


def screenshot(page, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    # Let Quasar's tab and dialog animations end: a picture mid-slide shows two panels at once.
    page.wait_for_function("() => !document.querySelector('[class*=\"q-transition--\"]')", timeout=5000)
    page.screenshot(path=str(path), full_page=True)
    return path


@dataclass
class DemoConsole:
    url: str
    logins: dict[str, Account]  # role → its demo login, as written to <data dir>/demo-logins.txt
    api_key: str = ""  # the demo engine key printed with them (game:write, game:read)


def read_demo_logins(path: Path) -> dict[str, Account]:
    """The logins `serve --demo` writes to <data dir>/demo-logins.txt: `role  email  password` lines."""
    lines = re.findall(r"^(\w+)\s+(\S+@\S+)\s+(\S+)$", path.read_text(), re.M)
    return {role: Account(email, password, role) for role, email, password in lines}


@pytest.fixture(scope="session")
def demo_console() -> Iterator[DemoConsole]:
    """`simvado-console serve --demo` on an empty data folder: the demo catalogue and a login per role."""
    with serving("--demo") as served:
        written = served.root / "demo-logins.txt"
        key = re.search(r"Engine API key \(game:write, game:read\): (\S+)", written.read_text())
        yield DemoConsole(url=served.url, logins=read_demo_logins(written), api_key=key.group(1) if key else "")
