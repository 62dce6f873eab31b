"""Builds the application: a FastAPI root (health, engine API, webhooks) with NiceGUI attached.

Plain routes live on the FastAPI root and never pass through NiceGUI's page machinery, session
cookie or per-request storage; the console's pages, their auth middleware and the login routes live
on NiceGUI's own app, mounted under the root by `ui.run_with`.
"""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.responses import JSONResponse
from nicegui import app as nicegui_app
from nicegui import ui

from console import db, live
from console.assignment_routes import assignment_router
from console.auth.web import AuthMiddleware, auth_router
from console.billing_routes import billing_router
from console.config import Settings, get_settings
from console.export_routes import export_router
from console.identity_routes import identity_router
from console.media_routes import media_router
from console.people_routes import people_router
from console.services.export_files import FILES as export_files


def _start_live() -> None:
    live.start(db.get_engine().url.render_as_string(hide_password=False))


def create_app(settings: Settings | None = None, *, run_jobs: bool = False) -> FastAPI:
    """The console's root app; with run_jobs, a procrastinate worker runs in-process (embedded mode)."""
    settings = settings or get_settings()
    root = FastAPI(title="Simvado Console", docs_url=None, redoc_url=None, openapi_url=None)

    @root.get("/healthz", include_in_schema=False)
    def healthz() -> JSONResponse:
        # Cheap on purpose: load balancers call it often. Database health is a separate concern.
        return JSONResponse({"status": "ok"})

    from console.api import PREFIX, create_api_app

    # Mounted before NiceGUI (which takes "/"), so engine requests never reach NiceGUI's middleware;
    # served through console.api.serving_app, they do not pass through the root app's stack either.
    root.mount(PREFIX, create_api_app(settings))
    # Webhooks (Clerk, Stripe) and the SSO sign-in routes: no page machinery, no NiceGUI session (identity_routes).
    root.include_router(identity_router(settings))
    root.include_router(billing_router(settings))  # POST /webhooks/stripe

    import pages  # the one place that wires pages in

    pages.register_all()
    # FastAPI wraps the app's lifespan in another layer on every include_router, and NiceGUI's app
    # lives as long as the process: each create_app (every page test starts one) would nest it deeper
    # until the stack runs out. Our routers have no lifespan of their own, so the app's is put back.
    lifespan = nicegui_app.router.lifespan_context
    nicegui_app.include_router(auth_router(settings))
    # Media on NiceGUI's app, so the auth middleware guards it like a page.
    nicegui_app.include_router(media_router())
    nicegui_app.include_router(people_router())
    nicegui_app.include_router(export_router())
    nicegui_app.include_router(assignment_router())
    nicegui_app.router.lifespan_context = lifespan
    nicegui_app.add_middleware(AuthMiddleware, secure_cookies=settings.production)
    # One LISTEN connection per process, on the loop that serves the pages: open pages hear of play
    # sessions changing, whichever process stored the change (console/live, docs/live.md). Stopped with
    # the app, so a test that starts the app many times never leaves a connection behind.
    nicegui_app.on_startup(_start_live)
    nicegui_app.on_shutdown(live.stop)
    nicegui_app.on_shutdown(db.dispose)
    nicegui_app.on_shutdown(export_files.close)  # no export file outlives the process
    if run_jobs:
        from nicegui import background_tasks

        from console import jobs

        nicegui_app.on_startup(lambda: background_tasks.create(jobs.run_worker(jobs.make_app()), name="jobs"))

    ui.run_with(
        root,
        title="Simvado Console",
        favicon="🎯",
        language="en-US",  # sets <html lang>: screen readers pick their voice and pronunciation by it
        storage_secret=settings.resolve_storage_secret(),
        session_middleware_kwargs={
            "max_age": settings.session_max_age_seconds,
            "same_site": "lax",
            "https_only": settings.production,
        },
        show_welcome_message=False,
    )
    return root
