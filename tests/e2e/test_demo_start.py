"""The quick start: `serve --demo` on an empty data folder prints a login per role, and the platform
admin it prints can log in and browse the demo catalogue in a real browser."""

import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from tests.e2e.conftest import _free_port, screenshot
from tests.support import stop_embedded_postgres


def test_serve_demo_prints_logins_that_work(browser):
    root = Path(tempfile.mkdtemp(prefix="svq-", dir="/tmp"))
    env = {k: v for k, v in os.environ.items() if k not in ("PYTEST_CURRENT_TEST", "DATABASE_URL")}
    env["SIMVADO_DATA_DIR"] = str(root)
    port = _free_port()
    out = open(root / "out.log", "w+")  # noqa: SIM115
    process = subprocess.Popen(
        [sys.executable, "-m", "console.cli", "serve", "--demo", "--port", str(port)],
        env=env,
        stdout=out,
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
                time.sleep(0.3)
        else:
            log = (root / "out.log").read_text()
            raise AssertionError(f"the demo console did not answer /healthz within 90 s:\n{log}")
        output = (root / "out.log").read_text()
        logins = {role: (email, pw) for role, email, pw in re.findall(r"^(\w+)\s+(\S+@\S+)\s+(\S+)$", output, re.M)}
        assert set(logins) == {
            "platform_admin",
            "studio_creator",
            "enterprise_admin",
            "enterprise_participant",
            "individual",
        }, output
        email, password = logins["platform_admin"]
        context = browser.new_context(viewport={"width": 1400, "height": 900})
        page = context.new_page()
        page.set_default_timeout(15_000)
        page.goto(f"{url}/login")
        page.get_by_label("Email").fill(email)
        page.get_by_label("Password").fill(password)
        page.get_by_label("Password").press("Enter")
        page.get_by_text("Simulations by status").wait_for()
        screenshot(page, "04-demo-dashboard")
        page.goto(f"{url}/simulations")
        page.get_by_text("5 simulations").wait_for()
        assert page.locator("tbody tr").count() == 5
        page.get_by_text("Activist Investor Showdown").wait_for()
        screenshot(page, "05-demo-simulations")
        context.close()
    finally:
        process.terminate()
        process.wait(timeout=20)
        out.close()
        stop_embedded_postgres(root / "pg")
        shutil.rmtree(root, ignore_errors=True)
