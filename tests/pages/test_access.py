"""Deny by default: every page route declares who may open it; each role reaches only its pages."""

import pytest
from nicegui import app as nicegui_app
from nicegui.testing import User
from starlette.routing import Route

from console import unit_of_work
from console.auth import ROLE_PERMISSIONS
from models.enums import UserRole
from pages import access
from tests.factories import PASSWORD, make_user
from tests.support import sign_in

# NiceGUI's own routes (static assets, websocket) and the login form's endpoints.
FRAMEWORK_PREFIXES = ("/_nicegui",)
AUTH_ENDPOINTS = {"/auth/login", "/auth/logout"}


async def test_every_page_route_declares_who_may_use_it(user: User, database_url):
    paths = {route.path for route in nicegui_app._iter_http_routes() if isinstance(route, Route)}
    paths = {p for p in paths if not p.startswith(FRAMEWORK_PREFIXES)} - AUTH_ENDPOINTS - {"/favicon.ico"}
    undeclared = paths - set(access.PAGES)
    assert not undeclared, f"pages without a declared permission: {sorted(undeclared)}"
    for spec in access.PAGES.values():
        assert spec.public or spec.permission is not None
    # Public: signing in, and setting a password from an invitation link (the token is the credential).
    assert {p for p, s in access.PAGES.items() if s.public} == {"/login", "/invite/{token}"}


def test_a_page_cannot_be_declared_without_a_permission():
    with pytest.raises(ValueError):
        access.secured_page("/oops", title="Oops")


@pytest.mark.parametrize("role", list(UserRole))
async def test_each_role_opens_exactly_the_pages_its_permissions_allow(user: User, database_url, role):
    with unit_of_work.transaction() as session:
        account = make_user(session, role=role)
    await sign_in(user.http_client, account.email, PASSWORD)
    for path, spec in access.PAGES.items():
        if spec.public or "{" in path:
            continue
        await user.open(path)
        if spec.permission in ROLE_PERMISSIONS[role]:
            await user.should_not_see(marker="not-found")
        else:
            await user.should_see(marker="not-found")
