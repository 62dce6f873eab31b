"""Login and logout are safe from cross-site request forgery: an origin check and a token.

SameSite cookies do not cover a login form: a page elsewhere can post the attacker's own email and
password to /auth/login (no cookie needed) and sign the victim into the attacker's account, whose
activity the attacker then reads. So the two form posts must

- come from this site: the browser's `Origin` header (or, failing that, `Referer`) names our host, and
- carry the token of a "double-submit" cookie: the page that drew the form put the cookie's value in a
  hidden field; a page on another origin can neither read that cookie nor set it on our host.
"""

from __future__ import annotations

import hmac
import re
import secrets
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import Response

COOKIE_NAME = "simvado_csrf"
FIELD_NAME = "csrf"
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{32,64}$")


def token_for(request: Request) -> str:
    """The token for the forms this request's page draws: the browser's own, or a new one that the
    middleware then sets as the cookie (`issue_cookie`)."""
    existing = getattr(request.state, "csrf_token", None)
    if existing:
        return existing
    current = request.cookies.get(COOKIE_NAME, "")
    token = current if _TOKEN.match(current) else secrets.token_urlsafe(32)
    request.state.csrf_token = token
    return token


def issue_cookie(request: Request, response: Response, *, secure: bool) -> None:
    """Set the cookie when this request chose a new token. HttpOnly: no script needs it (the page got
    the value from the server); SameSite=Strict: it never rides along on another site's request."""
    token = getattr(request.state, "csrf_token", None)
    if token and token != request.cookies.get(COOKIE_NAME):
        response.set_cookie(COOKIE_NAME, token, httponly=True, samesite="strict", secure=secure, path="/")


def _same_origin(request: Request) -> bool:
    source = request.headers.get("origin") or request.headers.get("referer")
    if not source or source == "null":
        return False
    parts = urlsplit(source)
    # Compared with the Host the browser itself sent: behind a TLS-terminating proxy the scheme the app
    # sees may differ from the page's, but the host a browser puts in both headers is the same one.
    return bool(parts.netloc) and parts.netloc.lower() == request.headers.get("host", "").lower()


def is_genuine(request: Request, submitted: str | None) -> bool:
    """True only for a form post from one of our own pages in this browser."""
    cookie = request.cookies.get(COOKIE_NAME, "")
    if not (_same_origin(request) and submitted and _TOKEN.match(cookie)):
        return False
    return hmac.compare_digest(submitted.encode(), cookie.encode())
