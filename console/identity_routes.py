"""The web boundary of identity: the Clerk webhook and the SSO sign-in routes.

Both live on the FastAPI root, beside /healthz and the engine API, not on NiceGUI's app: a webhook
needs no page session or cookie, and the SSO routes carry their own short-lived, signed cookie for the
sign-in in progress, then set the console's login cookie exactly as the password login does.

`GET /auth/sso/staff?next=…` → the platform's own provider (settings `SIMVADO_STAFF_OIDC_*`), for
platform staff; it comes back to the same callback, its flow naming "staff" instead of an organization
(services/identity/staff.py finds the person).

`POST /webhooks/clerk` (SECURITY.md 8–12): the three svix headers must be present (else 400 before a
byte is read); the body is read up to `clerk_webhook_max_body_bytes` (413 past it, the rest never
read); the signature and its timestamp (±5 minutes) are checked on those raw bytes by svix before
anything parses them (400); then one unit of work applies the delivery through the mirror's one actor.
Success is 200 (a duplicate too); any failure is non-2xx, so Clerk retries. The secret and the body are
never logged.

`GET /auth/sso/start?email=…&next=…` → the provider: the email's domain picks the organization
(services/identity/sso.route), its discovery document is read, and the browser is sent to the
provider's authorization endpoint with state, nonce and PKCE; those three (and where to return) ride in
`simvado_sso`, a cookie encrypted with a key derived from the storage secret, HttpOnly, SameSite=Lax
(it must come back on the provider's top-level redirect), path /auth/sso, ten minutes. A GET, reached
by the login page's button through `ui.navigate.to`, because the page's `form-action 'self'` policy
would stop a form post that redirects to another origin.

`GET /auth/sso/callback` ← the provider: the cookie must be there, unaltered and fresh, and its state
must equal the answer's; the code is exchanged (with the verifier and the organization's client
secret), the ID token verified exactly (services/identity/oidc.py), and the person found by (issuer,
subject) or joined (services/identity/sso.sign_in). Then the console's own login session starts just as
after a password (`accounts.start_login_session`, the same cookie), NiceGUI's browser session is
dropped so it starts anew, and the browser goes to `next` (a path on this site only). Every failure
goes back to /login with a message code; the sign-in cookie is used once and always removed.
"""

from __future__ import annotations

import hmac
import logging
import uuid
from urllib.parse import quote

from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool
from svix.webhooks import Webhook, WebhookVerificationError

from console import unit_of_work, webhooks
from console.auth.web import safe_next, set_login_cookie
from console.config import Settings
from console.services import accounts
from console.services.identity import clerk, oidc, sso, staff

log = logging.getLogger(__name__)

CLERK_WEBHOOK_PATH = "/webhooks/clerk"
SSO_START_PATH = "/auth/sso/start"
SSO_CALLBACK_PATH = "/auth/sso/callback"
STAFF_START_PATH = "/auth/sso/staff"  # platform staff, through the platform's own provider (settings)
SSO_COOKIE = "simvado_sso"
NICEGUI_SESSION_COOKIE = "session"  # Starlette's SessionMiddleware, which NiceGUI installs
_SVIX_HEADERS = ("svix-id", "svix-timestamp", "svix-signature")


def _apply_clerk(svix_id: str, event: dict) -> clerk.Outcome:
    with unit_of_work.transaction() as session:
        return clerk.apply_delivery(session=session, actor=clerk.MIRROR_ACTOR, svix_id=svix_id, event=event)


# On every SSO answer: they set or clear credentials (never cached), and the callback's URL holds a
# code and a state that no later request should carry along as a Referer.
_SSO_HEADERS = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer", "X-Content-Type-Options": "nosniff"}


def _route(email: str) -> oidc.Provider:
    with unit_of_work.read_only() as session:
        return sso.route(session=session, actor=sso.SIGN_IN_ACTOR, email=email)


def _complete(settings: Settings, flow: dict[str, str], code: str) -> str:
    """Exchange the code, verify the ID token, find or join the person; the new login's token."""
    if flow["org"] == staff.STAFF:
        return _complete_staff(settings, flow, code)
    organization_id = uuid.UUID(flow["org"])
    with unit_of_work.read_only() as session:
        provider = sso.provider_for(session=session, actor=sso.SIGN_IN_ACTOR, organization_id=organization_id)
    proof = _proof(settings, provider, flow, code)
    with unit_of_work.transaction() as session:
        signed_in = sso.sign_in(session=session, actor=sso.SIGN_IN_ACTOR, organization_id=organization_id, proof=proof)
        return accounts.start_login_session(
            session=session,
            user_id=signed_in.user.id,
            lifetime_seconds=settings.session_max_age_seconds,
            method="sso",
        )


def _proof(settings: Settings, provider: oidc.Provider, flow: dict[str, str], code: str) -> oidc.Proof:
    timeout = settings.sso_http_timeout_seconds
    return oidc.finish(
        oidc.discover(provider, timeout=timeout),
        code=code,
        code_verifier=flow["verifier"],
        nonce=flow["nonce"],
        redirect_uri=flow["redirect_uri"],
        timeout=timeout,
    )


def _complete_staff(settings: Settings, flow: dict[str, str], code: str) -> str:
    provider = staff.provider(settings)
    if provider is None:  # switched off since the sign-in started
        raise sso.SsoRefused("sso_staff_off")
    proof = _proof(settings, provider, flow, code)
    with unit_of_work.transaction() as session:
        user = staff.sign_in(
            session=session,
            actor=sso.SIGN_IN_ACTOR,
            issuer=provider.issuer,
            proof=proof,
            clerk_subjects=settings.staff_oidc_clerk_subjects,
        )
        return accounts.start_login_session(
            session=session, user_id=user.id, lifetime_seconds=settings.session_max_age_seconds, method="sso"
        )


def identity_router(settings: Settings) -> APIRouter:
    router = APIRouter()
    storage_secret = settings.resolve_storage_secret()
    redirect_uri = settings.public_url.rstrip("/") + SSO_CALLBACK_PATH

    def to_login(code: str, target: str) -> RedirectResponse:
        response = RedirectResponse(
            f"/login?error={code}&next={quote(target, safe='')}", status_code=303, headers=_SSO_HEADERS
        )
        response.delete_cookie(SSO_COOKIE, path="/auth/sso", httponly=True, samesite="lax", secure=settings.production)
        return response

    @router.get(SSO_START_PATH, include_in_schema=False)
    async def sso_start(
        email: str = Query(default="", max_length=320),
        next: str = Query(default="/", max_length=2000),  # noqa: A002
    ) -> Response:
        target = safe_next(next)
        try:
            provider = await run_in_threadpool(_route, email)
            provider = await run_in_threadpool(oidc.discover, provider, timeout=settings.sso_http_timeout_seconds)
            started = oidc.begin(provider, redirect_uri=redirect_uri, login_hint=email.strip())
        except sso.SsoRefused as exc:
            return to_login(exc.reason, target)
        except oidc.OidcError as exc:
            log.info("SSO sign-in could not start: %s", exc.detail)
            return to_login(f"sso_{exc.reason}", target)
        return to_provider(started, provider, target)

    @router.get(STAFF_START_PATH, include_in_schema=False)
    async def staff_start(next: str = Query(default="/", max_length=2000)) -> Response:  # noqa: A002
        target = safe_next(next)
        configured = staff.provider(settings)
        if configured is None:
            return to_login("sso_staff_off", target)
        try:
            provider = await run_in_threadpool(oidc.discover, configured, timeout=settings.sso_http_timeout_seconds)
            started = oidc.begin(provider, redirect_uri=redirect_uri)
        except oidc.OidcError as exc:
            log.info("Staff sign-in could not start: %s", exc.detail)
            return to_login(f"sso_{exc.reason}", target)
        return to_provider(started, provider, target)

    def to_provider(started: oidc.Started, provider: oidc.Provider, target: str) -> RedirectResponse:
        flow = {
            "state": started.state,
            "nonce": started.nonce,
            "verifier": started.code_verifier,
            "org": provider.organization_id,
            "next": target,
            "redirect_uri": redirect_uri,
        }
        response = RedirectResponse(started.url, status_code=303, headers=_SSO_HEADERS)
        response.set_cookie(
            SSO_COOKIE,
            oidc.seal(flow, storage_secret=storage_secret),
            max_age=settings.sso_flow_max_age_seconds,
            httponly=True,
            samesite="lax",
            secure=settings.production,
            path="/auth/sso",
        )
        return response

    @router.get(SSO_CALLBACK_PATH, include_in_schema=False)
    async def sso_callback(request: Request) -> Response:
        flow = oidc.unseal(
            request.cookies.get(SSO_COOKIE),
            storage_secret=storage_secret,
            max_age_seconds=settings.sso_flow_max_age_seconds,
        )
        if flow is None:
            return to_login("sso_expired", "/")
        target = safe_next(flow.get("next"))
        answer = request.query_params
        state_matches = hmac.compare_digest(answer.get("state", "").encode(), flow.get("state", "").encode())
        if answer.get("error") and (state_matches or "state" not in answer):
            # An error carries no credential, only a message to show; some providers (the test peer
            # among them) leave the state out of it, which RFC 6749 4.1.2.1 says they should not.
            return to_login("sso_denied" if answer["error"] == "access_denied" else "sso_provider", target)
        if not state_matches:
            log.info("SSO callback refused: state does not match this browser's sign-in")
            return to_login("sso_state", target)
        code = answer.get("code", "")
        if not code or len(code) > 2000:
            return to_login("sso_provider", target)
        try:
            token = await run_in_threadpool(_complete, settings, flow, code)
        except sso.SsoRefused as exc:
            log.info("SSO sign-in refused: %s", exc.reason)
            return to_login(exc.reason, target)
        except oidc.OidcError as exc:
            log.info("SSO sign-in failed: %s", exc.detail)
            return to_login(f"sso_{exc.reason}", target)
        except Exception:
            log.exception("SSO sign-in failed")
            return to_login("sso_provider", target)
        response = RedirectResponse(target, status_code=303, headers=_SSO_HEADERS)
        response.delete_cookie(SSO_COOKIE, path="/auth/sso", httponly=True, samesite="lax", secure=settings.production)
        # A new browser session at login, as after a password (console/auth/web.py clears it there).
        response.delete_cookie(NICEGUI_SESSION_COOKIE, path="/")
        set_login_cookie(response, token, settings)
        return response

    @router.post(CLERK_WEBHOOK_PATH, include_in_schema=False)
    async def clerk_webhook(request: Request) -> Response:
        secret = settings.clerk_webhook_secret
        if not secret:
            log.warning("a Clerk delivery arrived but SIMVADO_CLERK_WEBHOOK_SECRET is not set")
            return webhooks.error(503, "not_configured", "The Clerk webhook is not configured.")
        headers = {name: request.headers.get(name, "") for name in _SVIX_HEADERS}
        if not all(headers.values()) or len(headers["svix-id"]) > 255:
            return webhooks.error(400, "bad_signature", "Missing or malformed svix headers.")
        body = await webhooks.read_body(request, settings.clerk_webhook_max_body_bytes)
        if isinstance(body, Response):
            return body
        try:
            # svix compares the signature of these exact bytes and refuses a timestamp off by > 5 min.
            Webhook(secret).verify(body, headers)
        except WebhookVerificationError:
            log.info("Clerk delivery refused: bad signature or timestamp")
            return webhooks.error(400, "bad_signature", "The signature does not verify.")
        event = webhooks.parse_object(body)
        if isinstance(event, Response):
            return event
        return await webhooks.apply("Clerk", lambda: _apply_clerk(headers["svix-id"], event))

    return router
