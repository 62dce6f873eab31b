"""API keys that game engines authenticate with. Only a hash and a prefix are ever stored."""

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from models.base import fk, text_array, timestamp, uuid_pk


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
    last_used_at: datetime | None = timestamp(nullable=True, default_now=False)
    created_at: datetime = timestamp()
    expires_at: datetime | None = timestamp(nullable=True, default_now=False)
