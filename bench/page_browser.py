"""The browser part of bench/pages.py: the real console on a benchmark database, driven by Chromium.

For each main page and a role that opens it: the median of five navigations, from the start of the
navigation to the page's data on screen, split by the Navigation Timing API into server (request sent
→ first byte: the page's services run while NiceGUI builds the page), transfer (first → last byte)
and browser (last byte → data drawn: Vue and Quasar rendering).
"""

from __future__ import annotations

import os
import shutil
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]  # fmt: skip
# role → [(path, a selector that appears once the data is drawn)]
PAGES = {
    "platform_admin": [
        ("/", "canvas"),
        ("/simulations", "tbody tr"),
        ("/audit", "tbody tr"),
        ("/api-keys", "tbody tr"),
    ],
    "umbrella_admin": [("/", "canvas"), ("/audit", "tbody tr")],
    "umbrella_participant": [("/my", "tbody tr")],
}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def navigation_timings(url: str, logins: dict, workdir: Path) -> dict[str, tuple[float, float, float, float]]:
    from playwright.sync_api import sync_playwright

    workdir.mkdir(parents=True, exist_ok=True)
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k != "PYTEST_CURRENT_TEST"}
    env.update(DATABASE_URL=url, SIMVADO_DATA_DIR=str(workdir), SIMVADO_LOGIN_FAILURE_DELAY_SECONDS="0")
    log = open(workdir / "server.log", "w")  # noqa: SIM115
    server = subprocess.Popen([sys.executable, "-m", "console.cli", "serve", "--port", str(port)], env=env,
                              stdout=log, stderr=subprocess.STDOUT)  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    out: dict[str, tuple[float, float, float, float]] = {}
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        executable = os.environ.get("SIMVADO_CHROMIUM", shutil.which("chromium") or "/usr/bin/chromium")
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
            for role, pages in PAGES.items():
                context = browser.new_context(viewport={"width": 1400, "height": 900})
                page = context.new_page()
                page.set_default_timeout(30_000)
                email, password = logins[role]
                page.goto(f"{base}/login")
                page.get_by_label("Email").fill(email)
                page.get_by_label("Password").fill(password)
                page.get_by_label("Password").press("Enter")
                page.wait_for_url(lambda u: "/login" not in u)
                for path, selector in pages:
                    runs = []
                    for _ in range(6):
                        page.goto(f"{base}{path}", wait_until="commit")
                        try:
                            page.wait_for_selector(selector, state="visible")
                        except Exception:
                            shot = workdir / f"timeout-{role}-{path.strip('/') or 'home'}.png"
                            page.screenshot(path=str(shot))
                            raise RuntimeError(f"{path} as {role}: no {selector!r} on screen (see {shot})") from None
                        runs.append(page.evaluate(
                            """() => { const n = performance.getEntriesByType('navigation')[0];
                                       const visible = performance.now();
                                       return [visible, n.responseStart - n.requestStart,
                                               n.responseEnd - n.responseStart, visible - n.responseEnd]; }"""
                        ))  # fmt: skip
                    runs = runs[1:]  # the first warms the server's caches
                    out[f"{path} ({role.replace('umbrella_', 'org ')})"] = tuple(
                        statistics.median(r[i] for r in runs) for i in range(4)
                    )
                context.close()
            browser.close()
    finally:
        server.terminate()
        server.wait(timeout=20)
        log.close()
    return out
