"""Every page answers with the console's Content-Security-Policy (console/auth/web.py), and media keep
their own stricter one. Chromium runs every page under it without a violation:
tests/e2e/test_content_security_policy.py."""

from __future__ import annotations

import re

import pytest
from nicegui import app as nicegui_app
from nicegui.testing import User

from console import unit_of_work
from console.services import media
from models.enums import UserRole
from tests import media_samples as samples
from tests.factories import PASSWORD, make_module, make_org, make_simulation, make_user
from tests.support import sign_in, sign_out

KEYWORDS = {"'self'", "'none'", "'unsafe-inline'", "'unsafe-eval'"}


def policy(header: str) -> dict[str, set[str]]:
    """A CSP header as {directive: {sources}}."""
    directives: dict[str, set[str]] = {}
    for part in header.split(";"):
        name, *sources = part.split()
        assert name not in directives, f"{name} given twice in {header!r}"
        directives[name] = set(sources)
    return directives


def assert_console_policy(where: str, header: str | None) -> None:
    assert header, f"{where}: no Content-Security-Policy"
    csp = policy(header)
    missing = {
        "default-src",
        "script-src",
        "style-src",
        "img-src",
        "connect-src",
        "object-src",
        "base-uri",
        "form-action",
        "frame-ancestors",
    } - set(csp)
    assert not missing, f"{where}: no {sorted(missing)} in {header!r}"
    assert csp["default-src"] in ({"'none'"}, {"'self'"}), where
    # Scripts and styles come from this origin only: no host, no scheme, no wildcard, no data:.
    for name in ("script-src", "style-src"):
        assert "'self'" in csp[name] and csp[name] <= KEYWORDS - {"'none'"}, f"{where}: {name} {csp[name]}"
    assert csp["img-src"] <= {"'self'", "data:", "blob:"}, f"{where}: img-src {csp['img-src']}"
    assert csp["connect-src"] == {"'self'"}, f"{where}: connect-src {csp['connect-src']}"
    assert csp["object-src"] == {"'none'"}, where
    assert csp["base-uri"] in ({"'none'"}, {"'self'"}), where
    assert csp["form-action"] == {"'self'"}, where
    assert csp["frame-ancestors"] == {"'none'"}, where
    for name, sources in csp.items():  # nothing anywhere names another host or allows any
        assert all(s in KEYWORDS or s in ("data:", "blob:") for s in sources), f"{where}: {name} {sources}"


@pytest.fixture
def world(database_url, tmp_path, monkeypatch):
    monkeypatch.setenv("SIMVADO_MEDIA_ROOT", str(tmp_path / "media"))
    with unit_of_work.transaction() as session:
        admin = make_user(session, role=UserRole.platform_admin)
        org = make_org(session)
        sim = make_simulation(session, author=admin)
        module = make_module(session, sim)
        asset = media.prepare(module_id=module.id, filename="portrait.png", data=samples.png())
        media.store(session=session, asset=asset, data=samples.png(), storage=media.get_storage())
    return {"admin": admin, "sim": sim, "asset": asset, "org": org}


def concrete_paths(world) -> list[str]:
    """Every HTTP route of NiceGUI's app (the pages, login, logout, media, favicon), ids filled in,
    except the file served at /media/{name} (it has its own policy)."""
    fill = {
        "simulation_id": str(world["sim"].id),
        "slug": world["org"].slug,
        "token": "an-unknown-invitation",
        "user_id": str(world["admin"].id),
        "session_id": "00000000-0000-4000-8000-000000000000",  # none: the not-found page has the policy too
        "key_id": "00000000-0000-4000-8000-000000000000",  # none as well
    }
    paths = []
    # Route contexts since FastAPI 0.141 (not starlette Routes): each has the route's full path.
    for route in nicegui_app._iter_http_routes():
        if route.path.startswith("/_nicegui") or route.path == "/media/{name}":
            continue
        names = re.findall(r"{(\w+)(?::\w+)?}", route.path)
        unknown = set(names) - set(fill)
        assert not unknown, f"{route.path}: teach this test an id for {unknown}"
        paths.append(re.sub(r"{(\w+)(?::\w+)?}", lambda m: fill[m.group(1)], route.path))
    return sorted(set(paths))


async def test_every_page_sends_the_strict_content_security_policy(user: User, world):
    pages = concrete_paths(world)
    assert {"/", "/login", "/simulations", f"/simulations/{world['sim'].id}", "/my", "/auth/login"} <= set(pages)
    for path in pages:  # signed out: the login page itself, and the redirects to it
        response = await user.http_client.get(path, follow_redirects=False)
        assert_console_policy(
            f"GET {path} signed out ({response.status_code})", response.headers.get("content-security-policy")
        )
    await sign_in(user.http_client, world["admin"].email, PASSWORD)
    for path in pages:
        response = await user.http_client.get(path, follow_redirects=False)
        assert_console_policy(f"GET {path} ({response.status_code})", response.headers.get("content-security-policy"))
    # The login and logout posts answer with it too.
    response = await sign_out(user.http_client)
    assert_console_policy("POST /auth/logout", response.headers.get("content-security-policy"))
    response = await sign_in(user.http_client, world["admin"].email, PASSWORD)
    assert_console_policy("POST /auth/login", response.headers.get("content-security-policy"))


async def test_media_keep_their_sandboxing_policy(user: User, world):
    await sign_in(user.http_client, world["admin"].email, PASSWORD)
    response = await user.http_client.get(world["asset"].url)
    assert response.status_code == 200 and response.content == samples.png()
    assert response.headers["content-security-policy"] == "default-src 'none'; sandbox"
