"""Deny by default: every page declares who may open it, and nothing else is served.

`secured_page` marks a page function with its path and permission; `register_pages` hands the marked
functions of the page modules to NiceGUI, wrapped in a check of the signed-in actor. Public pages
are declared too (`public=True`), so a test can enumerate NiceGUI's routes and fail on any page that
never said who may use it. (Marks live on the functions, not in an import-time registry, because the
test fixture re-runs the main file while Python keeps page modules imported.)
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType

from fastapi import Request
from nicegui import ui

from console.auth import Actor, Permission
from console.auth.web import COOKIE_NAME
from pages.components import calls


@dataclass(frozen=True)
class PageSpec:
    path: str
    title: str
    permission: Permission | None  # None only with public=True
    public: bool
    func: Callable


# The pages registered by the last `register_pages` call, by path.
PAGES: dict[str, PageSpec] = {}


def secured_page(path: str, *, title: str, permission: Permission | None = None, public: bool = False):
    """Declare a page. The function receives the actor first (None on public pages)."""
    if permission is None and not public:
        raise ValueError(f"page {path} must declare a permission or be explicitly public")

    def decorator(func: Callable) -> Callable:
        func.__page_spec__ = PageSpec(path=path, title=title, permission=permission, public=public, func=func)
        return func

    return decorator


def register_pages(modules: list[ModuleType]) -> None:
    PAGES.clear()
    for module in modules:
        for value in vars(module).values():
            spec = getattr(value, "__page_spec__", None)
            if spec is not None:
                PAGES[spec.path] = spec
                ui.page(spec.path, title=f"{spec.title} · Simvado Console")(_guarded(spec))


def current_actor(request: Request) -> Actor | None:
    return getattr(request.state, "actor", None)


def _guarded(spec: PageSpec) -> Callable:
    params = list(inspect.signature(spec.func).parameters.values())[1:]  # drop the actor

    async def page(request: Request, **kwargs):
        actor = current_actor(request)
        if not spec.public:
            if actor is None:
                # The middleware redirects anonymous users; reaching here means it was bypassed.
                ui.navigate.to("/login")
                return
            if not actor.can(spec.permission):
                from pages.layout import not_found

                not_found(actor)
                return
            # Every later action of this page is checked against this login again (calls.py).
            path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            calls.remember_access(calls.PageAccess(request.cookies.get(COOKIE_NAME), spec.permission, path))
        try:
            result = spec.func(actor, **kwargs)
            if inspect.isawaitable(result):
                await result
        except calls.AccessRevoked:
            pass  # signed out while the page was being drawn: the browser is on its way to /login

    request_param = inspect.Parameter("request", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=Request)
    page.__signature__ = inspect.Signature([request_param, *params])
    page.__name__ = spec.func.__name__
    # NiceGUI's test reset re-imports the modules of registered page functions: name the page's own.
    page.__module__ = spec.func.__module__
    return page
