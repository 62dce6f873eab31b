"""The engine API (v1): a FastAPI app of its own, mounted at /api/v1 on the console's root app.

A separate app (not a router on NiceGUI's app) so engine requests never pass through NiceGUI's page
machinery, session cookie or per-request storage, and so `serve-api` can serve exactly the same app
alone. Its OpenAPI schema is at /api/v1/openapi.json and its docs page at /api/v1/docs.
"""

from console.api.app import create_api_app

__all__ = ["create_api_app"]
