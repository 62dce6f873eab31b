"""The OpenID Connect authorization code flow with an organization's provider, through Authlib.

No database here: what the flow needs (`Provider`) comes from the organization's SSO settings
(console/services/identity/sso.py), and what it proves (`Proof`) goes back there to find the person.

- `begin` makes the authorization URL with a fresh `state` (binds the answer to this browser's
  request), `nonce` (binds the ID token to it) and a PKCE verifier (S256: a stolen code is useless
  without it). The three travel in `seal`ed form in a short-lived cookie of the browser that started.
- `finish` exchanges the code (with the verifier and the client secret) and `verify_id_token` checks the
  ID token: signature against the provider's JWKS, issuer equal to the configured issuer *exactly*,
  audience exactly our client id (one audience, or a list of just ours), the nonce we sent, expiry.
- The discovery document must name the configured issuer exactly (OpenID Connect Discovery 1.0, 4.3),
  so a settings typo or a look-alike host cannot issue tokens we would accept.

Every failure raises `OidcError` with a `reason` the login page turns into a message; no provider
answer, token or secret is ever put in an exception message, a log line or a page.
"""

from __future__ import annotations

import base64
import json
import logging
import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import requests
from authlib.common.security import generate_token
from authlib.integrations.base_client.errors import OAuthError
from authlib.integrations.requests_client import OAuth2Session
from authlib.oauth2.rfc6749.errors import OAuth2Error
from authlib.oidc.core import CodeIDToken
from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

log = logging.getLogger(__name__)

SCOPE = "openid email profile"
_ALGORITHMS = ["RS256", "RS384", "RS512", "ES256", "ES384", "PS256"]  # never "none", never HS* (secret-keyed)
_LEEWAY_SECONDS = 60
# Discovery documents and key sets are kept this long per URL (each process), so a sign-in does not
# cost two more round trips to the provider. A token signed with a key the kept set lacks (the
# provider rotated its keys) makes the set be fetched again at once, so rotation never locks anyone out.
PROVIDER_CACHE_SECONDS = 300.0
_kept: dict[str, tuple[float, Any]] = {}
_kept_lock = threading.Lock()


def _fetch_json(url: str, *, timeout: float, fresh: bool = False) -> Any:
    now = time.monotonic()
    if not fresh:
        with _kept_lock:
            kept = _kept.get(url)
        if kept is not None and kept[0] > now:
            return kept[1]
    answer = requests.get(url, timeout=timeout, allow_redirects=False)
    answer.raise_for_status()
    doc = answer.json()
    with _kept_lock:
        _kept[url] = (now + PROVIDER_CACHE_SECONDS, doc)
    return doc


def forget_providers() -> None:
    """Drop every kept discovery document and key set (tests; a settings change)."""
    with _kept_lock:
        _kept.clear()


class OidcError(Exception):
    """The flow failed. `reason` is one of the login page's SSO messages (never provider text)."""

    def __init__(self, reason: str, detail: str = ""):
        super().__init__(reason)
        self.reason = reason
        self.detail = detail  # for the log: what failed, never a token or secret


@dataclass(frozen=True)
class Provider:
    organization_id: str
    issuer: str
    client_id: str
    client_secret: str = field(repr=False)
    authorization_endpoint: str = ""
    token_endpoint: str = ""
    jwks_uri: str = ""


@dataclass(frozen=True)
class Proof:
    """What the provider proved: the person is `subject` at `issuer`; the rest are their claims."""

    issuer: str
    subject: str
    email: str | None
    email_verified: bool | None
    name: str | None


def discover(provider: Provider, *, timeout: float) -> Provider:
    """The provider with its endpoints, from its discovery document (which must name it exactly)."""
    url = provider.issuer.rstrip("/") + "/.well-known/openid-configuration"
    try:
        doc = _fetch_json(url, timeout=timeout)
    except (requests.RequestException, ValueError) as exc:
        raise OidcError("provider", f"discovery failed: {type(exc).__name__}") from None
    if not isinstance(doc, dict) or doc.get("issuer") != provider.issuer:
        raise OidcError("provider", "the discovery document names another issuer")
    endpoints = {k: doc.get(k) for k in ("authorization_endpoint", "token_endpoint", "jwks_uri")}
    if not all(isinstance(v, str) and urlsplit(v).scheme in ("https", "http") for v in endpoints.values()):
        raise OidcError("provider", "the discovery document lacks an endpoint")
    return Provider(
        organization_id=provider.organization_id,
        issuer=provider.issuer,
        client_id=provider.client_id,
        client_secret=provider.client_secret,
        **endpoints,
    )


def _client(provider: Provider, redirect_uri: str) -> OAuth2Session:
    return OAuth2Session(
        client_id=provider.client_id,
        client_secret=provider.client_secret,
        scope=SCOPE,
        redirect_uri=redirect_uri,
        code_challenge_method="S256",
        token_endpoint_auth_method="client_secret_basic",  # noqa: S106 (a method's name, not a secret)
    )


@dataclass(frozen=True)
class Started:
    url: str
    state: str
    nonce: str
    code_verifier: str


def begin(provider: Provider, *, redirect_uri: str, login_hint: str | None = None) -> Started:
    """The provider's authorization URL for a new sign-in, and the secrets to check its answer with."""
    state, nonce, verifier = generate_token(32), generate_token(32), generate_token(64)
    extra = {"login_hint": login_hint} if login_hint else {}
    with _client(provider, redirect_uri) as client:
        url, _ = client.create_authorization_url(
            provider.authorization_endpoint, state=state, nonce=nonce, code_verifier=verifier, **extra
        )
    return Started(url=url, state=state, nonce=nonce, code_verifier=verifier)


def finish(
    provider: Provider, *, code: str, code_verifier: str, nonce: str, redirect_uri: str, timeout: float
) -> Proof:
    """Exchange the code and verify the ID token; what it proves."""
    try:
        with _client(provider, redirect_uri) as client:
            token = client.fetch_token(provider.token_endpoint, code=code, code_verifier=code_verifier, timeout=timeout)
    except (OAuthError, OAuth2Error) as exc:
        # invalid_grant: the code expired, was used already, or was not issued to this verifier.
        reason = "code" if getattr(exc, "error", None) == "invalid_grant" else "provider"
        raise OidcError(reason, f"token endpoint refused: {getattr(exc, 'error', type(exc).__name__)}") from None
    except (requests.RequestException, ValueError) as exc:
        raise OidcError("provider", f"token endpoint failed: {type(exc).__name__}") from None
    id_token = token.get("id_token")
    if not isinstance(id_token, str):
        raise OidcError("token", "no ID token in the token response")
    check = {
        "issuer": provider.issuer,
        "client_id": provider.client_id,
        "nonce": nonce,
        "access_token": token.get("access_token"),
    }
    try:
        return verify_id_token(id_token, keys=_jwks(provider, timeout=timeout), **check)
    except OidcError:
        # Perhaps signed with a key newer than the set kept: once more against the provider's set now.
        return verify_id_token(id_token, keys=_jwks(provider, timeout=timeout, fresh=True), **check)


def _jwks(provider: Provider, *, timeout: float, fresh: bool = False) -> KeySet:
    try:
        return KeySet.import_key_set(_fetch_json(provider.jwks_uri, timeout=timeout, fresh=fresh))
    except (requests.RequestException, ValueError, JoseError) as exc:
        raise OidcError("provider", f"JWKS failed: {type(exc).__name__}") from None


def verify_id_token(
    id_token: str, *, keys: KeySet, issuer: str, client_id: str, nonce: str, access_token: str | None = None
) -> Proof:
    """Check an ID token's signature and claims exactly; what it proves. OidcError("token") if not."""
    try:
        decoded = jwt.decode(id_token, keys, algorithms=_ALGORITHMS)
        params: dict[str, Any] = {"nonce": nonce, "client_id": client_id}
        if access_token:
            params["access_token"] = access_token  # at_hash, when the provider sends one
        options = {"iss": {"essential": True, "value": issuer}, "aud": {"essential": True, "value": client_id}}
        claims = CodeIDToken(decoded.claims, decoded.header, options, params)
        claims.validate(leeway=_LEEWAY_SECONDS)
    except (JoseError, ValueError) as exc:
        raise OidcError("token", f"ID token refused: {type(exc).__name__} {getattr(exc, 'claim', '')}") from None
    # Authlib checks these too; said again here in the strictest form, because they are the point.
    aud = claims.get("aud")
    if claims.get("iss") != issuer:
        raise OidcError("token", "ID token refused: issuer")
    if aud != client_id and aud != [client_id]:
        raise OidcError("token", "ID token refused: audience")
    if not secrets.compare_digest(str(claims.get("nonce", "")), nonce):
        raise OidcError("token", "ID token refused: nonce")
    subject = claims.get("sub")
    if not isinstance(subject, str) or not subject or len(subject) > 255:
        raise OidcError("token", "ID token refused: subject")
    email = claims.get("email")
    verified = claims.get("email_verified")
    name = claims.get("name")
    return Proof(
        issuer=issuer,
        subject=subject,
        email=email if isinstance(email, str) else None,
        email_verified=verified if isinstance(verified, bool) else None,
        name=name if isinstance(name, str) else None,
    )


# ---------------------------------------------------------------------- the sign-in's sealed cookie


def _fernet(storage_secret: str) -> Fernet:
    key = HKDF(algorithm=SHA256(), length=32, salt=None, info=b"simvado-console sso flow v1").derive(
        storage_secret.encode()
    )
    return Fernet(base64.urlsafe_b64encode(key))


def seal(data: dict[str, str], *, storage_secret: str) -> str:
    """Encrypt and sign the sign-in's state for the browser's cookie (it holds the PKCE verifier)."""
    return _fernet(storage_secret).encrypt(json.dumps(data).encode()).decode()


def unseal(value: str | None, *, storage_secret: str, max_age_seconds: int) -> dict[str, str] | None:
    """The state `seal` made, or None if missing, altered, made with another key or too old."""
    if not value:
        return None
    try:
        data = json.loads(_fernet(storage_secret).decrypt(value.encode(), ttl=max_age_seconds))
    except (InvalidToken, ValueError):
        return None
    return data if isinstance(data, dict) else None
