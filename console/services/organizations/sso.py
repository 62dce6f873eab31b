"""An organization's single sign-on settings: what an OIDC sign-in through its provider will need.

The client secret is write-only: stored encrypted (console/services/sso_secrets.py), never returned,
never in an audit entry (the entry says "client secret: set" or "changed"). An empty secret on save
keeps the stored one. Email domains decide which organization a signing-in person belongs to, so
one domain belongs to one organization only.
"""

from __future__ import annotations

import re
import uuid
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy import func, select
from sqlmodel import Session

from console.auth import Actor
from console.config import get_settings
from console.errors import ValidationFailed
from console.services import audit, sso_secrets, versions
from console.services.common import validate
from console.services.organizations.records import OrganizationView, row
from models import AuditAction, Organization

PROVIDERS = {
    "oidc": "OpenID Connect (any provider)",
    "okta": "Okta",
    "azure_ad": "Microsoft Entra ID (Azure AD)",
    "google": "Google Workspace",
    "clerk": "Clerk",
}
MAX_DOMAINS = 50
_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
DOMAIN = re.compile(rf"^(?:{_LABEL}\.)+[a-z](?:[a-z0-9-]{{0,61}}[a-z0-9])$")
_DOMAINS_LOCK = 0x5350_4D41_494E  # an advisory lock key of this module's own ("SSO domains")
# Plain http only for a provider on this machine (tests, a local identity server).
_LOCAL_HOSTS = {"localhost", "127.0.0.1"}
# The audit keeps these (never the secret); `version` so a refused save can name who wrote the newer one.
AUDITED = {"sso_enabled", "sso_provider", "sso_issuer_url", "sso_client_id", "sso_email_domains", "version"}
LABELS = {
    "sso_enabled": "Single sign-on",
    "sso_provider": "Provider",
    "sso_issuer_url": "Issuer URL",
    "sso_client_id": "Client ID",
    "sso_email_domains": "Email domains",
}


def _blank_to_none(value: str | None) -> str | None:
    value = (value or "").strip()
    return value or None


class SsoUpdate(BaseModel):
    """The SSO form. `sso_client_secret` empty or missing: keep the stored secret."""

    model_config = ConfigDict(extra="forbid")

    sso_enabled: bool = False
    sso_provider: str | None = None
    sso_issuer_url: str | None = Field(default=None, max_length=500)
    sso_client_id: str | None = Field(default=None, max_length=255)
    sso_client_secret: str | None = Field(default=None, max_length=2000)
    sso_email_domains: list[str] = Field(default_factory=list)

    @field_validator("sso_provider")
    @classmethod
    def _provider(cls, value: str | None) -> str | None:
        value = _blank_to_none(value)
        if value is not None and value not in PROVIDERS:
            raise ValueError(f"one of {', '.join(PROVIDERS)}")
        return value

    @field_validator("sso_issuer_url")
    @classmethod
    def _issuer(cls, value: str | None) -> str | None:
        value = _blank_to_none(value)
        if value is None:
            return None
        try:
            parts = urlsplit(value)
            host = parts.hostname
            parts.port  # noqa: B018 — raises on a port out of range
        except ValueError:
            raise ValueError("not a URL") from None
        if not host or parts.username or parts.password:
            raise ValueError("a URL like https://login.example.com")
        local = host in _LOCAL_HOSTS and not get_settings().production
        # The sign-in will fetch this issuer's discovery document from the server: a name on the
        # internet only, never an address (private, metadata, 0x7f000001, …) or an internal name.
        if not local and (not DOMAIN.fullmatch(host) or host.endswith((".internal", ".local", ".localhost"))):
            raise ValueError("the provider's public host name, like https://login.example.com")
        if parts.scheme != "https" and not (parts.scheme == "http" and local):
            raise ValueError("must start with https://")
        if parts.query or parts.fragment:
            raise ValueError("an issuer has no query or fragment (OpenID Connect Discovery)")
        return value

    @field_validator("sso_client_id")
    @classmethod
    def _client_id(cls, value: str | None) -> str | None:
        return _blank_to_none(value)

    @field_validator("sso_client_secret")
    @classmethod
    def _secret(cls, value: str | None) -> str | None:
        # Surrounding spaces come from copying; a secret is never meant to have them.
        return _blank_to_none(value)

    @field_validator("sso_email_domains")
    @classmethod
    def _domains(cls, values: list[str]) -> list[str]:
        cleaned: list[str] = []
        for raw in values:
            domain = raw.strip().lower().removeprefix("@").rstrip(".")
            if not domain:
                continue
            if len(domain) > 253 or not DOMAIN.fullmatch(domain):
                raise ValueError(f"“{raw[:60]}” is not a domain such as example.com")
            if domain not in cleaned:
                cleaned.append(domain)
        if len(cleaned) > MAX_DOMAINS:
            raise ValueError(f"at most {MAX_DOMAINS} domains")
        return cleaned


def _domains_elsewhere(session: Session, organization_id: uuid.UUID, domains: list[str]) -> dict[str, str]:
    """Errors for domains another organization already has."""
    if not domains:
        return {}
    # No constraint can say "one domain, one organization" across arrays: saves of SSO settings take
    # turns (they are rare), so two admins cannot each give the same domain to a different one.
    session.execute(select(func.pg_advisory_xact_lock(_DOMAINS_LOCK)))
    others = session.execute(
        select(Organization.name, Organization.sso_email_domains).where(
            Organization.id != organization_id, Organization.sso_email_domains.overlap(domains)
        )
    ).all()
    for name, theirs in others:
        clash = next(d for d in domains if d in (theirs or []))
        return {"sso_email_domains": f"{clash} already belongs to {name}"}
    return {}


def update_sso(
    *, session: Session, actor: Actor, organization_id: uuid.UUID, data: dict | SsoUpdate, version: int
) -> OrganizationView:
    """Save the SSO settings (platform admins). Turning SSO on needs a provider, an issuer, a client
    ID, a client secret (new or stored) and at least one email domain."""
    org = row(session, actor, organization_id, for_write=True)
    new = validate(SsoUpdate, data)
    errors = _domains_elsewhere(session, org.id, new.sso_email_domains)
    if new.sso_enabled:
        needed = {
            "sso_provider": new.sso_provider,
            "sso_issuer_url": new.sso_issuer_url,
            "sso_client_id": new.sso_client_id,
            "sso_client_secret": new.sso_client_secret or org.sso_client_secret_encrypted,
            "sso_email_domains": new.sso_email_domains,
        }
        for field, value in needed.items():
            if not value:
                errors.setdefault(field, "required to turn single sign-on on")
    if errors:
        raise ValidationFailed("Check the highlighted fields.", details=errors)
    versions.check(session, org, version=version, noun="organization", fields=AUDITED - {"version"})
    comment = None
    if new.sso_client_secret is not None:
        comment = "client secret: changed" if org.sso_client_secret_encrypted else "client secret: set"
    with audit.changing(
        session=session,
        actor=actor,
        action=AuditAction.organization_sso_update,
        subject=org,
        fields=AUDITED,
        organization_id=org.id,
        comment=comment,
    ):
        org.sso_enabled = new.sso_enabled
        org.sso_provider = new.sso_provider
        org.sso_issuer_url = new.sso_issuer_url
        org.sso_client_id = new.sso_client_id
        org.sso_email_domains = list(new.sso_email_domains)
        if new.sso_client_secret is not None:
            org.sso_client_secret_encrypted = sso_secrets.encrypt(new.sso_client_secret)
        versions.bump(org)
    return OrganizationView.of(org)
