"""The engine API (v1): a FastAPI app of its own, mounted at /api/v1 on the console's root app.

A separate app (not a router on NiceGUI's app) so engine requests never pass through NiceGUI's page
machinery, session cookie or per-request storage, and so `serve-api` can serve exactly the same app
alone. Its OpenAPI schema is at /api/v1/openapi.json and its docs page at /api/v1/docs.
"""

from fastapi import FastAPI
from fastapi.responses import JSONResponse

from console.api.app import create_api_app
from console.config import Settings


def create_api_root(settings: Settings | None = None) -> FastAPI:
    """The engine API alone (no NiceGUI), as `serve-api` runs it behind a load balancer."""
    root = FastAPI(title="Simvado engine API", docs_url=None, redoc_url=None, openapi_url=None)

    @root.get("/healthz", include_in_schema=False)
    def healthz() -> JSONResponse:
        return JSONResponse({"status": "ok"})

    root.mount("/api/v1", create_api_app(settings))
    return root


__all__ = ["create_api_app", "create_api_root"]
