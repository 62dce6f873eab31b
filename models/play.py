"""Gameplay: a PlaySession (the seed's `sessions` table) and the events engines report in it."""

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from models.base import fk, jsonb, uuid_pk
from models.base import timestamp as timestamp_column
from models.enums import EventType, Platform, SessionStatus, pg_enum


class PlaySession(SQLModel, table=True):
    """One playthrough of a module by a user (`sessions` in the seed; renamed here so it is never
    confused with a database or login session)."""

    __tablename__ = "sessions"
    __table_args__ = (
        sa.Index("idx_sessions_user_id", "user_id"),
        sa.Index("idx_sessions_module_id", "module_id"),
        sa.Index("idx_sessions_org_id", "organization_id"),
    )

    id: uuid.UUID = uuid_pk()
    user_id: uuid.UUID = fk("users.id", ondelete="CASCADE")
    module_id: uuid.UUID = fk("modules.id", ondelete="CASCADE")
    organization_id: uuid.UUID | None = fk("organizations.id", nullable=True, ondelete="SET NULL")
    external_session_id: str | None = Field(default=None, max_length=255, sa_column_kwargs={"unique": True})
    platform: Platform | None = Field(default=None, sa_column=sa.Column(pg_enum(Platform, "platform"), nullable=True))
    launch_url: str | None = Field(default=None, max_length=500)
    status: SessionStatus = Field(
        default=SessionStatus.in_progress,
        sa_column=sa.Column(pg_enum(SessionStatus, "session_status"), nullable=False),
    )
    started_at: datetime = timestamp_column()
    completed_at: datetime | None = timestamp_column(nullable=True, default_now=False)
    total_duration_seconds: int | None = Field(default=None)
    final_scores: dict | None = jsonb()
    debrief_text: str | None = Field(default=None, sa_type=sa.Text)
    debrief_generated_at: datetime | None = timestamp_column(nullable=True, default_now=False)


class GameEvent(SQLModel, table=True):
    """One event from an engine. `id` is the engine's own event id: it is the dedupe key."""

    __tablename__ = "game_events"
    __table_args__ = (
        # received_at too: the abandon sweep reads a session's last arrival from the index (one entry),
        # where (session_id) alone made it read every event of every open session each time.
        sa.Index("idx_game_events_session", "session_id", "received_at"),
        sa.Index("idx_game_events_type", "event_type"),
    )

    id: uuid.UUID = uuid_pk()
    session_id: uuid.UUID = fk("sessions.id", ondelete="CASCADE")
    event_type: EventType = Field(sa_column=sa.Column(pg_enum(EventType, "event_type"), nullable=False))
    event_data: dict = jsonb(nullable=False, default=dict)
    timestamp: datetime = timestamp_column(default_now=False)
    received_at: datetime = timestamp_column()
