"""Gameplay: a PlaySession (the seed's `sessions` table) and the events engines report in it."""

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from models.base import fk, jsonb, uuid_pk
from models.base import timestamp as timestamp_column
from models.enums import EventType, Platform, SessionStatus, pg_enum

# What the sessions list reads of each session besides its module (covered by idx_sessions_module_id).
LIST_COLUMNS = [
    "id", "organization_id", "user_id", "status", "platform", "started_at", "completed_at",
    "total_duration_seconds", "total_score", "is_test",
]  # fmt: skip


class PlaySession(SQLModel, table=True):
    """One playthrough of a module by a user (`sessions` in the seed; renamed here so it is never
    confused with a database or login session)."""

    __tablename__ = "sessions"
    __table_args__ = (
        sa.Index("idx_sessions_user_id", "user_id"),
        # The seed's index on module_id, covering what /sessions shows and filters on: a creator's
        # sessions (their modules' ranges) are sorted and counted from the index alone, where the plain
        # index sent every one of them to the table (145 → 35 ms at 100,000 sessions, migration 0013).
        sa.Index("idx_sessions_module_id", "module_id", postgresql_include=LIST_COLUMNS),
        sa.Index("idx_sessions_org_id", "organization_id"),
        # Each member's last play in their organization, read from the index alone (People, sorted by
        # last played, over 10,000 members).
        sa.Index("idx_sessions_org_user_started", "organization_id", "user_id", "started_at"),
        # A person's completed play of one module in an organization: the sessions a report counts for
        # each (assigned person, module) pair, read straight from the index.
        sa.Index(
            "idx_sessions_org_user_module_completed",
            "organization_id",
            "user_id",
            "module_id",
            postgresql_where=sa.text("status = 'completed' AND NOT is_test"),
        ),
        # The final scores of a module's completed sessions in an organization, from the index alone:
        # the score distribution over all time joins them to the people holding the assignments
        # (reports._counted_scores; 160 → ~15 ms at 1M events).
        sa.Index(
            "idx_sessions_scores",
            "module_id",
            "organization_id",
            postgresql_include=["user_id", "final_scores"],
            postgresql_where=sa.text("status = 'completed' AND NOT is_test"),
        ),
        # What the console reads often touches what is live or recent, never the whole history
        # (docs/scale.md): the sessions being played (dashboard, abandon sweep)…
        sa.Index("idx_sessions_live", "started_at", postgresql_where=sa.text("status = 'in_progress'")),
        # …the recent days (dashboard tiles and chart, read from the index alone)…
        sa.Index(
            "idx_sessions_started_at", "started_at", postgresql_include=["organization_id", "module_id", "is_test"]
        ),
        sa.Index(
            "idx_sessions_completed_at",
            "completed_at",
            postgresql_include=["organization_id", "module_id", "total_score"],
            postgresql_where=sa.text("status = 'completed' AND NOT is_test"),
        ),
        # …a module's completed cohort by score (percentile and median: a range of one index)…
        # (id included: "the others" of a session exclude it without reading the table.)
        sa.Index(
            "idx_sessions_cohort",
            "module_id",
            "total_score",
            postgresql_include=["id"],
            postgresql_where=sa.text("status = 'completed' AND NOT is_test"),
        ),
        # /sessions sorted by total score, best first (NULLs, the unscored, last): one index range.
        sa.Index("idx_sessions_total_desc", sa.text("total_score DESC NULLS LAST"), "id"),
        # Test sessions are left out of the three completed-session indexes above (cohort, recent days,
        # reports): every reader of those asks for real sessions only (play_sessions.real). A key's test
        # sessions are found here, to delete them.
        sa.Index("idx_sessions_test_by_key", "api_key_id", postgresql_where=sa.text("is_test")),
        # …and the completed sessions still waiting for their debrief (the debrief sweep).
        sa.Index(
            "idx_sessions_awaiting_debrief",
            "completed_at",
            postgresql_where=sa.text("status = 'completed' AND debrief_generated_at IS NULL"),
        ),
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
    # final_scores' total, kept by PostgreSQL beside it (never written by us): indexed for cohorts.
    total_score: float | None = Field(
        default=None,
        sa_column=sa.Column(
            sa.Float(),
            sa.Computed(
                "CASE WHEN jsonb_typeof(final_scores -> 'total') = 'number' "
                "THEN (final_scores ->> 'total')::double precision END",
                persisted=True,
            ),
        ),
    )
    debrief_text: str | None = Field(default=None, sa_type=sa.Text)
    debrief_generated_at: datetime | None = timestamp_column(nullable=True, default_now=False)
    # The key that started the session (None: started before keys were recorded, or not by an engine).
    # No foreign key: what started a session is history, kept whatever becomes of the key (keys are
    # revoked, never deleted), and the insert on the engine's hot path checks nothing more.
    api_key_id: uuid.UUID | None = Field(default=None, sa_type=sa.Uuid)
    # Started with a test key: out of percentiles, dashboards, reports, assignments and participants'
    # pages (play_sessions.real), shown with a "Test" badge, deletable. Kept even if the key is deleted.
    is_test: bool = Field(default=False, sa_column_kwargs={"server_default": sa.false()})


class GameEvent(SQLModel, table=True):
    """One event from an engine. `id` is the engine's own event id: it is the dedupe key."""

    __tablename__ = "game_events"
    __table_args__ = (
        # received_at too: the abandon sweep reads a session's last arrival from the index (one entry),
        # where (session_id) alone made it read every event of every open session each time.
        sa.Index("idx_game_events_session", "session_id", "received_at"),
        sa.Index("idx_game_events_type", "event_type"),
        # Arrival order is insertion order: a BRIN index (a few pages, next to nothing to keep current on
        # the ingest path) finds "the last 30 days" without reading older events.
        # autosummarize: each block range is summarized as soon as it fills, not at the next VACUUM.
        sa.Index(
            "idx_game_events_received_brin",
            "received_at",
            postgresql_using="brin",
            postgresql_with={"autosummarize": "on"},
        ),
    )

    id: uuid.UUID = uuid_pk()
    session_id: uuid.UUID = fk("sessions.id", ondelete="CASCADE")
    event_type: EventType = Field(sa_column=sa.Column(pg_enum(EventType, "event_type"), nullable=False))
    event_data: dict = jsonb(nullable=False, default=dict)
    timestamp: datetime = timestamp_column(default_now=False)
    received_at: datetime = timestamp_column()
