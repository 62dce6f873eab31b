"""API keys that game engines authenticate with. Only a hash and a prefix are ever stored."""

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from models.base import fk, jsonb, text_array, timestamp, uuid_pk


class ApiKey(SQLModel, table=True):
    __tablename__ = "api_keys"

    id: uuid.UUID = uuid_pk()
    name: str = Field(max_length=255)
    key_hash: str = Field(max_length=255, sa_column_kwargs={"unique": True})
    key_prefix: str = Field(max_length=15, index=True)
    simulation_id: uuid.UUID | None = fk("simulations.id", nullable=True, ondelete="CASCADE")
    organization_id: uuid.UUID | None = fk("organizations.id", nullable=True, ondelete="CASCADE")
    scopes: list[str] = text_array(nullable=False, default_factory=lambda: ["game:write"])
    is_active: bool = Field(default=True)
    # A test key (`sk_sim_test_…`): its sessions are test sessions, kept out of every figure and
    # assignment (console/services/play_sessions.py `real`), and deletable.
    is_test: bool = Field(default=False, sa_column_kwargs={"server_default": sa.false()})
    # Who made the key, when a person did (the CLI and the demo make keys as the system): a studio
    # creator's test key plays as its maker only (console/services/ingest/sessions.py `_find_player`).
    created_by_id: uuid.UUID | None = fk("users.id", nullable=True, ondelete="SET NULL")
    last_used_at: datetime | None = timestamp(nullable=True, default_now=False)
    created_at: datetime = timestamp()
    expires_at: datetime | None = timestamp(nullable=True, default_now=False)
    # The newest refused request (console/services/rejections.py): when, and "status code: message".
    last_error_at: datetime | None = timestamp(nullable=True, default_now=False)
    last_error: str | None = Field(default=None, max_length=300)


class ApiKeyRejection(SQLModel, table=True):
    """A request the engine API refused, kept per key for its inbox (newest
    SIMVADO_API_REJECTIONS_PER_KEY per key, none older than SIMVADO_API_REJECTIONS_DAYS). Written in a
    transaction of its own, after the answer: never on the accepted path, never lost with a rollback."""

    __tablename__ = "api_key_rejections"
    __table_args__ = (sa.Index("idx_api_key_rejections_key_newest", "api_key_id", "id"),)

    id: int | None = Field(default=None, sa_column=sa.Column(sa.BigInteger, sa.Identity(), primary_key=True))
    api_key_id: uuid.UUID = fk("api_keys.id", ondelete="CASCADE")
    received_at: datetime = timestamp()
    method: str = Field(max_length=10)
    path: str = Field(max_length=200)
    status: int = Field(sa_type=sa.SmallInteger)
    code: str = Field(max_length=64)
    message: str = Field(max_length=500)
    # The part of the body the error names (its first detail's path), else the body's start: at most
    # SIMVADO_API_REJECTION_EXCERPT_BYTES, as text.
    excerpt: str = Field(default="", sa_type=sa.Text)
    details: dict | None = jsonb()
    session_ref: str | None = Field(default=None, max_length=255)  # the session id or external id named
    client_address: str | None = Field(default=None, max_length=64)


class ApiRateCount(SQLModel, table=True):
    """Requests per limit scope per second, summed over every engine API process (console/api/limits.py).
    UNLOGGED: counts of the last seconds need no crash safety, and skip the WAL."""

    __tablename__ = "api_rate_counts"
    __table_args__ = {"prefixes": ["UNLOGGED"]}

    scope: str = Field(max_length=300, primary_key=True)  # "key:<hash>", "session:<id or external id>", "address:<ip>"
    window: int = Field(sa_type=sa.BigInteger, primary_key=True)  # Unix second
    hits: int = Field(default=0)
