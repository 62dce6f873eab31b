"""The engine API app (v1), wired together: the guards in front, the error answers, the gate every
request goes through and the routers per resource.

Where each part lives: console/api/errors.py (failures → JSON errors with status codes),
console/api/gate.py (key, rate and scope checks; the group committer), console/api/routes/ (one
module per resource), console/api/middleware.py (415/413 guards and DirectRoute).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import fastapi_offline
from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from starlette._utils import get_route_path
from starlette.types import Receive, Scope, Send

from console.api import schemas
from console.api.errors import install_error_handlers
from console.api.gate import CLIENT_ADDRESS, Gate
from console.api.known_keys import KnownKeys
from console.api.middleware import ApiGuardMiddleware, DirectRoute
from console.api.rejections import RejectionRecorder, RejectionWriter
from console.api.routes import events_router, modules_router, sessions_router
from console.config import Settings, get_settings

DESCRIPTION = """
The engine API: how game engines (Unreal, Unity, web) start play sessions, report gameplay events and
read module configuration and results back.

**Auth:** `Authorization: Bearer sk_sim_…` on every request (never in the URL). Keys carry scopes:
`game:write` for the POST routes, `game:read` for the GET routes. A key bound to a simulation or an
organization reaches nothing outside it.

**Events** are idempotent on their client-generated `id`: retry a batch as often as you like; the same
id with different content is a 409. A 2xx means the events are committed. A `completion` event completes
the session (final scores, then a debrief a few moments later).

**Sessions** are idempotent on `external_session_id` (required; make it a UUID): the same start again
returns the same session (200); the same id with other fields, or used by another key or organization,
is a 409 that says which.

**Nothing in a 2xx is ignored:** dimension keys in `impacts` and `scores` must be the module's own,
exactly (`GET /modules` lists them), scores within their range; no route takes query parameters.

**Errors** are JSON: `{"error": {"code", "message", "details"}}`; the details name each field by its
path in the body as sent (`events[0].timestamp`).
"""


class EngineApi(FastAPI):
    """The engine API's FastAPI app, with its busiest routes served directly (see DirectRoute)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.direct_routes: dict[tuple[str, str], DirectRoute] = {}
        self.recorder: RejectionRecorder | None = None
        self.known_keys = KnownKeys()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            client = scope.get("client")
            CLIENT_ADDRESS.set(client[0] if client else None)
        await self.known_keys(scope, receive, send, self._recorded)

    async def _recorded(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.recorder is not None:
            await self.recorder(scope, receive, send, self._serve)
        else:
            await self._serve(scope, receive, send)

    async def _serve(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            direct = self.direct_routes.get((scope["method"], get_route_path(scope)))
            if direct is not None:
                await direct(scope, receive, send)
                return
        await super().__call__(scope, receive, send)


def create_api_app(settings: Settings | None = None) -> EngineApi:
    """The engine API app, configured by `settings` (from the environment when not given)."""
    settings = settings or get_settings()
    app = EngineApi(
        title="Simvado engine API",
        version="1.0.0",
        description=DESCRIPTION,
        openapi_url="/openapi.json",
        # A trailing slash was a 307 to the slash-less route, with an absolute http:// Location: engine
        # clients that drop the Authorization header on a redirect, or cannot follow one for a POST,
        # failed on it. Now a 404 that says which route was meant (errors.http_error).
        redirect_slashes=False,
        docs_url=None,  # served below, from files of our own rather than a CDN
        redoc_url=None,
    )
    _serve_docs_offline(app)
    app.add_middleware(ApiGuardMiddleware, max_body_bytes=settings.api_max_body_bytes)
    install_error_handlers(app)
    app.recorder = RejectionRecorder(
        RejectionWriter(
            keep=settings.api_rejections_per_key,
            days=settings.api_rejections_days,
            per_key_second=settings.api_rejections_per_key_second,
        ),
        excerpt_bytes=settings.api_rejection_excerpt_bytes,
    )
    gate = Gate(
        rate_limit=settings.api_rate_limit,
        session_rate_limit=settings.api_session_rate_limit,
        address_rate_limit=settings.api_address_rate_limit,
        writers=settings.api_writer_connections,
    )
    app.state.committer = gate.committer  # for tests that need to hold the writer
    app.include_router(sessions_router(gate))
    events, app.direct_routes[("POST", "/events")] = events_router(gate, settings, app.exception_handlers)
    app.include_router(events)
    app.include_router(modules_router(gate))

    def openapi() -> dict[str, Any]:
        # The batch body is parsed by pydantic straight from the bytes (see schemas.parse_event_batch),
        # so FastAPI does not see its model: put its schema where the route's $ref points.
        if app.openapi_schema is None:
            spec = FastAPI.openapi(app)
            components = spec.setdefault("components", {}).setdefault("schemas", {})
            for name, schema in schemas.event_batch_json_schemas().items():
                components.setdefault(name, schema)
        return app.openapi_schema

    app.openapi = openapi
    return app


DOCS_STATIC = "/docs-static"


def _serve_docs_offline(app: FastAPI) -> None:
    """The docs page (Swagger UI) at /docs with its script and styles served by the API itself, from the
    fastapi-offline package: FastAPI's own page loads them from a CDN, which a studio's build machine or
    an air-gapped install may not reach (and which would see every visit)."""
    app.mount(DOCS_STATIC, StaticFiles(directory=Path(fastapi_offline.__file__).parent / "static"), name="docs")

    @app.get("/docs", include_in_schema=False)
    async def docs(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        return get_swagger_ui_html(
            openapi_url=f"{root}{app.openapi_url}",
            title=f"{app.title} – docs",
            swagger_js_url=f"{root}{DOCS_STATIC}/swagger-ui-bundle.js",
            swagger_css_url=f"{root}{DOCS_STATIC}/swagger-ui.css",
            swagger_favicon_url=f"{root}{DOCS_STATIC}/favicon.png",
        )
