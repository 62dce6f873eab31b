"""Configuration: one Settings object, read from the environment (prefix SIMVADO_) once."""

from __future__ import annotations

import secrets
from functools import lru_cache
from pathlib import Path

import platformdirs
from pydantic import AliasChoices, Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class ConfigurationError(RuntimeError):
    """The settings cannot work as given (said before anything starts)."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SIMVADO_", extra="ignore")

    # No DATABASE_URL: the console runs its own embedded PostgreSQL in data_dir.
    database_url: str | None = Field(
        default=None, validation_alias=AliasChoices("DATABASE_URL", "SIMVADO_DATABASE_URL")
    )
    data_dir: Path = Field(default_factory=lambda: Path(platformdirs.user_data_dir("simvado-console")))
    # "production" demands an explicit secret and marks the session cookie Secure.
    environment: str = "development"
    storage_secret: str | None = None
    session_max_age_seconds: int = 8 * 3600
    login_max_failures: int = 5
    login_failure_window_seconds: int = 900
    login_failure_delay_seconds: float = 0.4
    public_url: str = "http://127.0.0.1:8080"
    # Engine API limits (DESIGN.md, "The engine API (v1)"); the rate is per API key, in `limits` notation.
    api_max_body_bytes: int = 1024 * 1024
    api_max_event_data_bytes: int = 32 * 1024
    api_max_batch_events: int = 1000
    # Limits (console/api/limits.py), in `limits` notation, shared by every engine API process through
    # PostgreSQL: per API key a ceiling for a popular build's thousands of players; per play session
    # and per client address against abuse (a session posting more than a few times a second is a bug
    # or an attack; one address may be a whole office behind NAT).
    api_rate_limit: str = "20000/second"
    api_session_rate_limit: str = "100/second"
    api_address_rate_limit: str = "10000/second"
    # Connections the engine API's group committer writes on, each from a thread of its own: the writer
    # and helpers for heavy batches queued while it is busy (console/api/committer.py).
    api_writer_connections: int = Field(default=2, ge=1, le=16)
    # Refused requests kept per key for its inbox (console/services/rejections.py): the newest
    # api_rejections_per_key, none older than api_rejections_days, each with at most
    # api_rejection_excerpt_bytes of the offending body. At most api_rejections_per_key_second are stored
    # per key per second by each process (a flood is counted in the log, not stored).
    api_rejections_per_key: int = Field(default=500, ge=1, le=100_000)
    api_rejections_days: int = Field(default=7, ge=1, le=365)
    api_rejection_excerpt_bytes: int = Field(default=1024, ge=64, le=16 * 1024)
    api_rejections_per_key_second: int = Field(default=10, ge=1, le=1000)
    # Background jobs: an in-progress session with no event for this long is marked abandoned.
    abandon_after_minutes: int = 120
    # Sooner than that, it is flagged as stuck on /sessions and /live (console/services/sessions/stuck.py),
    # so staff can look at it (and close it) before the sweep does. Must stay below abandon_after_minutes.
    stuck_after_minutes: int = Field(default=10, ge=1)
    # Optional LLM debriefs through an OpenAI-compatible chat API; the offline generator is the fallback.
    llm_base_url: str | None = None  # e.g. https://api.openai.com/v1 or a local server
    llm_api_key: str | None = None
    llm_model: str = "gpt-4o-mini"
    llm_timeout_seconds: float = 20

    # Identity (docs/identity.md). The Clerk webhook's signing secret (whsec_…, from Clerk's dashboard):
    # unset, POST /webhooks/clerk answers 503. Never logged. Bodies past the limit are refused (413)
    # before they are read in full: a Clerk user event is a few KiB.
    clerk_webhook_secret: str | None = Field(default=None, repr=False)
    clerk_webhook_max_body_bytes: int = 256 * 1024
    # SSO sign-in: how long a started sign-in may take at the provider, and its HTTP timeout.
    sso_flow_max_age_seconds: int = 600
    sso_http_timeout_seconds: float = 10
    # Staff sign-in (platform admins, studio creators) through the platform's own OIDC provider, e.g.
    # Clerk: its issuer URL exactly as its discovery document names it, the client registered there
    # (redirect URI: public_url + /auth/sso/callback), and whether its subjects are Clerk user ids (then
    # a person the Clerk mirror knows is linked at first sign-in). All three set: the login page offers
    # "Staff sign-in". The secret is never logged or shown.
    staff_oidc_issuer: str | None = None
    staff_oidc_client_id: str | None = None
    staff_oidc_client_secret: str | None = Field(default=None, repr=False)
    staff_oidc_clerk_subjects: bool = False

    # Billing through Stripe (docs/billing.md). The secret API key (sk_…) and the webhook's signing secret
    # (whsec_…) are never logged or shown. Unset key: billing actions say Stripe is not configured;
    # unset webhook secret: POST /webhooks/stripe answers 503. `stripe_api_base` points the client at
    # another Stripe-compatible server (localstripe in the tests); empty means Stripe itself.
    stripe_api_key: str | None = Field(default=None, repr=False)
    stripe_webhook_secret: str | None = Field(default=None, repr=False)
    stripe_api_base: str | None = None
    stripe_webhook_max_body_bytes: int = 256 * 1024
    stripe_timeout_seconds: float = 10
    # Which Stripe price (or legacy plan) id stands for which plan. An organization's subscription has
    # one item, its quantity the seats; a person's Pro subscription one item of quantity 1.
    stripe_price_pilot: str | None = None
    stripe_price_standard: str | None = None
    stripe_price_enterprise: str | None = None
    stripe_price_pro_monthly: str | None = None
    stripe_price_pro_annual: str | None = None

    # Media library (checked on the server; the browser's limits are only a courtesy).
    media_storage: str = "local"  # "local": a folder under data_dir (media_root overrides it); or "s3"
    media_root: Path | None = None
    media_s3_bucket: str | None = None
    media_s3_prefix: str = "media"
    media_s3_endpoint_url: str | None = None  # for S3-compatible services (MinIO, R2, …)
    media_s3_region: str | None = None
    media_max_image_bytes: int = 10 * 1024 * 1024
    media_max_audio_bytes: int = 50 * 1024 * 1024
    media_max_video_bytes: int = 500 * 1024 * 1024
    media_max_document_bytes: int = 25 * 1024 * 1024
    media_max_image_pixels: int = 40_000_000  # larger images are decompression bombs, not portraits
    media_max_files_per_module: int = 200
    # Storage quotas, checked in the transaction that adds a file (uploads, duplicates). A simulation's
    # organization is its author's. 0 turns a quota off.
    media_quota_simulation_bytes: int = 5 * 1024**3
    media_quota_organization_bytes: int = 50 * 1024**3

    @field_validator("database_url")
    @classmethod
    def _psycopg_driver(cls, value: str | None) -> str | None:
        """SQLAlchemy should always talk to PostgreSQL through psycopg 3."""
        if not value:
            return None
        for prefix in ("postgres://", "postgresql://"):
            if value.startswith(prefix):
                return "postgresql+psycopg://" + value[len(prefix) :]
        return value

    @model_validator(mode="after")
    def _stuck_before_abandoned(self) -> Settings:
        """A session is flagged stuck before the sweep abandons it, or the flag would never be seen."""
        if self.stuck_after_minutes >= self.abandon_after_minutes:
            raise ValueError(
                f"SIMVADO_STUCK_AFTER_MINUTES ({self.stuck_after_minutes}) must be below "
                f"SIMVADO_ABANDON_AFTER_MINUTES ({self.abandon_after_minutes})"
            )
        return self

    @property
    def production(self) -> bool:
        return self.environment == "production"

    @property
    def embedded(self) -> bool:
        return self.database_url is None

    def resolve_storage_secret(self) -> str:
        """The secret that signs session cookies.

        Production must configure it. Embedded/development mode generates one on first run and
        keeps it in the data folder, so restarts don't log everyone out and nothing is committed.
        """
        if self.storage_secret:
            return self.storage_secret
        if self.production:
            raise ConfigurationError("SIMVADO_STORAGE_SECRET is required when SIMVADO_ENVIRONMENT=production")
        path = self.data_dir / "storage_secret"
        if path.exists():
            return path.read_text().strip()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        secret = secrets.token_urlsafe(48)
        path.touch(mode=0o600)
        path.write_text(secret)
        return secret


@lru_cache
def get_settings() -> Settings:
    return Settings()
