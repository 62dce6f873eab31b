"""The web boundary of login: the auth middleware, the login/logout routes and security headers.

Login is a plain form POST to `/auth/login` (not a websocket event), so the response can set a fresh
HttpOnly cookie and redirect: a new login session on every login, cleared at logout.
"""

from __future__ import annotations

import asyncio
import logging
import re
from urllib.parse import quote, urlsplit

from fastapi import APIRouter, Form, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.middleware.base import BaseHTTPMiddleware, RequestResponseEndpoint

from console import unit_of_work
from console.auth import csrf
from console.config import Settings
from console.services import accounts

log = logging.getLogger(__name__)

COOKIE_NAME = "simvado_session"
PUBLIC_PATHS = {"/login", "/auth/login", "/auth/logout", "/favicon.ico", "/healthz"}
# /invite/<token>: a new member sets their password there before they have one (the token is the
# credential; pages/people/invite.py).
PUBLIC_PREFIXES = ("/_nicegui/", "/invite/")

# The strictest Content-Security-Policy NiceGUI 3 runs under (tests/pages/test_security_headers.py reads
# it on every page; tests/e2e/test_content_security_policy.py opens every page of every role in Chromium
# and fails on any violation). Everything comes from this origin: NiceGUI serves its scripts, styles and
# fonts from /_nicegui/, media come from /media/ (S3 too), the websocket is same-origin.
# - default-src 'none': whatever is not named below (manifests, prefetches, …) is refused.
# - script-src 'self' 'unsafe-inline' 'unsafe-eval': NiceGUI's page template is inline scripts (the
#   import map, the page's elements and the app start-up) built per page, with no nonce or hash support;
#   Vue compiles component templates at run time and nicegui.js evaluates props, handlers and
#   run_javascript (eval / new Function). No other host may serve a script.
# - style-src 'self' 'unsafe-inline': the template's own <style> (it @imports /_nicegui/ sheets),
#   Tailwind's runtime and ui.add_css add <style> elements; Quasar and Vue set style attributes.
#   Remote sheets (an `@import` from user text) are refused.
# - img-src 'self' data: blob:: pictures from /media/ and /_nicegui/; data: for the favicon (NiceGUI
#   makes the emoji an SVG data URL); blob: for the uploader's previews of picked files.
# - font-src 'self': NiceGUI's own fonts and icon fonts under /_nicegui/.
# - media-src 'self': audio and video previews from /media/.
# - connect-src 'self': socket.io (polling and the websocket: 'self' covers ws:/wss: of this origin),
#   uploads and NiceGUI's dynamic resources.
# - worker-src 'none', frame-src 'none', object-src 'none': nothing here runs workers, frames or plugins.
# - base-uri 'none': no <base> can move relative URLs elsewhere.
# - form-action 'self': the login and logout forms post here only.
# - frame-ancestors 'none': no other site frames the console (clickjacking; X-Frame-Options for old browsers).
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "; ".join(
        (
            "default-src 'none'",
            "script-src 'self' 'unsafe-inline' 'unsafe-eval'",
            "style-src 'self' 'unsafe-inline'",
            "img-src 'self' data: blob:",
            "font-src 'self'",
            "media-src 'self'",
            "connect-src 'self'",
            "worker-src 'none'",
            "frame-src 'none'",
            "object-src 'none'",
            "base-uri 'none'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        )
    ),
}


def safe_next(target: str | None) -> str:
    """Where to go after login: only a path on this site, never another origin or a script URL."""
    if not target:
        return "/"
    target = target.strip()
    if any(ord(c) < 32 for c in target) or "\\" in target:
        return "/"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return "/"
    if parts.path in ("/login", "/auth/login", "/auth/logout"):
        return "/"
    return target


# Endpoints that take files into the server: signed-in viewers only, answered 401 (not a redirect to
# the login page) so the uploader can say why. Ours is /media/upload (console/media_routes.py); NiceGUI's
# own upload endpoints sit under its public prefix and would read a whole form before any handler runs,
# which is why no page uses `ui.upload`.
_UPLOAD = re.compile(
    r"^(/_nicegui/client/[^/]+/upload/[^/]+|/media/upload|/people/import/upload|/assignments/emails/upload)$"
)


def _is_upload(path: str) -> bool:
    return _UPLOAD.match(path) is not None


def _is_public(path: str) -> bool:
    return path in PUBLIC_PATHS or (path.startswith(PUBLIC_PREFIXES) and not _is_upload(path))


def _resolve(token: str | None):
    with unit_of_work.read_only() as session:
        return accounts.actor_for_token(session=session, token=token)


class AuthMiddleware(BaseHTTPMiddleware):
    """Attaches the signed-in actor to each request and sends anonymous users to /login."""

    def __init__(self, app, *, secure_cookies: bool = False) -> None:  # noqa: ANN001
        super().__init__(app)
        self.secure_cookies = secure_cookies

    async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
        path = request.url.path
        token = request.cookies.get(COOKIE_NAME)
        request.state.actor = await run_in_threadpool(_resolve, token) if token else None
        if request.state.actor is None and _is_upload(path):
            response: Response = JSONResponse(
                {"error": {"code": "unauthorized", "message": "Sign in to upload files."}}, status_code=401
            )
        elif request.state.actor is None and not _is_public(path):
            target = path + (f"?{request.url.query}" if request.url.query else "")
            response = RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)
            if token:  # expired or revoked: stop sending it
                response.delete_cookie(COOKIE_NAME, path="/")
        else:
            response = await call_next(request)
            csrf.issue_cookie(request, response, secure=self.secure_cookies)  # if its page drew a form
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        if not path.startswith("/_nicegui/"):
            response.headers["Cache-Control"] = "no-store"
        return response


def set_login_cookie(response: Response, token: str, settings: Settings) -> None:
    """The signed-in session's cookie, however the person signed in (password, SSO): one place for
    its lifetime and flags."""
    response.set_cookie(
        COOKIE_NAME,
        token,
        max_age=settings.session_max_age_seconds,
        httponly=True,
        samesite="lax",
        secure=settings.production,
        path="/",
    )


def auth_router(settings: Settings) -> APIRouter:
    router = APIRouter()
    throttle = accounts.LoginThrottle(settings.login_max_failures, settings.login_failure_window_seconds)

    def _login(email: str, password: str):
        with unit_of_work.transaction() as session:
            result = accounts.authenticate(session=session, email=email, password=password, throttle=throttle)
            token = None
            if result.user is not None:
                token = accounts.start_login_session(
                    session=session,
                    user_id=result.user.id,
                    lifetime_seconds=settings.session_max_age_seconds,
                    method="password",
                )
            return result, token

    @router.post("/auth/login", include_in_schema=False)
    async def login(
        request: Request,
        email: str = Form(default="", max_length=255),
        password: str = Form(default="", max_length=256),
        next: str = Form(default="/", max_length=2000),  # noqa: A002
        token: str = Form(default="", max_length=100, alias=csrf.FIELD_NAME),
    ) -> Response:
        target = safe_next(next)
        if not csrf.is_genuine(request, token):
            # Another site's form, or a login page left open past a browser restart: nobody is signed
            # in, and the page says to try again (its fresh copy carries a fresh token).
            log.info("login refused: not posted from this site's login page")
            return RedirectResponse(f"/login?error=expired&next={quote(target, safe='')}", status_code=303)
        if not email.strip() or not password:
            return RedirectResponse(f"/login?error=missing&next={quote(target, safe='')}", status_code=303)
        result, token = await run_in_threadpool(_login, email, password)
        if token is None:
            # Logged with no email or password in it: only that a login failed.
            log.info("login failed")
            await asyncio.sleep(settings.login_failure_delay_seconds)
            codes = {accounts.TOO_MANY_ATTEMPTS: "locked", accounts.SSO_REQUIRED: "sso_required"}
            code = codes.get(result.error, "invalid")
            return RedirectResponse(f"/login?error={code}&next={quote(target, safe='')}", status_code=303)
        request.session.clear()  # a new browser session at login
        response = RedirectResponse(target, status_code=303)
        set_login_cookie(response, token, settings)
        return response

    def _logout(token: str | None) -> None:
        with unit_of_work.transaction() as session:
            accounts.end_login_session(session=session, token=token)

    @router.post("/auth/logout", include_in_schema=False)
    async def logout(
        request: Request, token: str = Form(default="", max_length=100, alias=csrf.FIELD_NAME)
    ) -> Response:
        if not csrf.is_genuine(request, token):
            log.info("logout refused: not posted from this site's pages")
            return RedirectResponse("/", status_code=303)
        await run_in_threadpool(_logout, request.cookies.get(COOKIE_NAME))
        request.session.clear()
        response = RedirectResponse("/login?signed_out=1", status_code=303)
        response.delete_cookie(COOKIE_NAME, path="/", httponly=True, samesite="lax", secure=settings.production)
        return response

    return router
