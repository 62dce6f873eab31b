"""The engine API (v1): a FastAPI app of its own, mounted at /api/v1 on the console's root app.

A separate app (not a router on NiceGUI's app) so engine requests never pass through NiceGUI's page
machinery, session cookie or per-request storage, and so `serve-api` can serve exactly the same app
alone. Its OpenAPI schema is at /api/v1/openapi.json and its docs page at /api/v1/docs.
"""

import gc
import sys

from fastapi import FastAPI
from fastapi.responses import JSONResponse
from starlette.routing import Mount
from starlette.types import ASGIApp, Receive, Scope, Send

from console.api.app import create_api_app
from console.config import Settings

PREFIX = "/api/v1"


class ApiFirst:
    """Hands engine API requests straight to the mounted API app, ahead of the root app.

    The root app would route them to the same place, but only after its own middleware stack and
    router (and, in the full console, NiceGUI's): measured here, about a fifth of the server's CPU
    for a single-event post. Everything else — pages, health, lifespan — goes to the root as before,
    and the scope the API app sees is the one Starlette's Mount would have given it.
    """

    def __init__(self, root: FastAPI) -> None:
        self.root = root
        mounts = [r for r in root.routes if isinstance(r, Mount) and r.path == PREFIX]
        if len(mounts) != 1:
            raise ValueError(f"the root app has no mount at {PREFIX}")
        self.api = mounts[0].app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith(PREFIX + "/") and not scope.get("root_path"):
            scope = {**scope, "app_root_path": "", "root_path": PREFIX}
            await self.api(scope, receive, send)
            return
        await self.root(scope, receive, send)


def serving_app(root: FastAPI) -> ASGIApp:
    """What uvicorn serves: the root app, with engine API requests sent to the API app directly.

    Called once, when the process is built and about to serve, it also tunes the interpreter for
    serving. It moves every object made so far (modules, apps, pages) out of the garbage collector's
    sight (gc.freeze, as CPython's docs suggest for servers): they live as long as the process, yet
    each full collection walked them all, and engine requests allocate enough to trigger collections
    often; measured here, that was a fifth of the server's CPU for a batch of 100 events in the full
    console.
    """
    gc.collect()
    gc.freeze()
    # The group committer's thread waits on PostgreSQL, then needs the GIL back to answer; by default
    # it may wait 5 ms for the event loop thread to yield it, which showed as tens of milliseconds at
    # p99 for single events. Half a millisecond costs little throughput.
    sys.setswitchinterval(0.0005)
    return ApiFirst(root)


def create_api_root(settings: Settings | None = None) -> FastAPI:
    """The engine API alone (no NiceGUI), as `serve-api` runs it behind a load balancer."""
    root = FastAPI(title="Simvado engine API", docs_url=None, redoc_url=None, openapi_url=None)

    @root.get("/healthz", include_in_schema=False)
    def healthz() -> JSONResponse:
        return JSONResponse({"status": "ok"})

    root.mount(PREFIX, create_api_app(settings))
    return root


__all__ = ["PREFIX", "ApiFirst", "create_api_app", "create_api_root", "serving_app"]
