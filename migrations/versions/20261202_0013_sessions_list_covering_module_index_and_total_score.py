"""sessions list: a covering module index and total score descending

/sessions (console/services/sessions/listing.py) at 100,000 sessions, measured in docs/sessions.md:
- `idx_sessions_module_id` (the seed's index on module_id) now covers what the list shows and filters
  on (INCLUDE id, organization, player, status, platform, times, duration, total). A studio creator's
  sessions are the ranges of their modules: sorted, filtered and counted from the index alone, where
  the plain index sent every one of them to the table (145 → 35 ms for a creator of 100,000 sessions).
  Alembic's autogenerate does not compare INCLUDE columns, hence this hand-written revision.
- `idx_sessions_total_desc` (total_score DESC NULLS LAST, id): the list sorted by total score, best
  first, is one index range (50 → 0.3 ms).
Built CONCURRENTLY, as migration 0005 does, so engines and pages keep working meanwhile; the old module
index is dropped only once its covering twin exists.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02 08:11:49.530970
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel  # noqa: F401  (autogenerate emits sqlmodel.sql.sqltypes.AutoString)
from alembic import op


revision: str = '0013'
down_revision: str | None = '0012'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

LIST_COLUMNS = [
    "id", "organization_id", "user_id", "status", "platform", "started_at", "completed_at",
    "total_duration_seconds", "total_score",
]  # fmt: skip


def upgrade() -> None:
    with op.get_context().autocommit_block():
        for name in ("idx_sessions_module_list", "idx_sessions_total_desc"):
            op.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {name}")  # left invalid by an interrupted earlier run
        op.create_index('idx_sessions_module_list', 'sessions', ['module_id'], unique=False,
                        postgresql_include=LIST_COLUMNS, postgresql_concurrently=True)  # fmt: skip
        op.execute("DROP INDEX CONCURRENTLY IF EXISTS idx_sessions_module_id")
        op.execute("ALTER INDEX idx_sessions_module_list RENAME TO idx_sessions_module_id")
        op.create_index('idx_sessions_total_desc', 'sessions', [sa.literal_column('total_score DESC NULLS LAST'), 'id'],
                        unique=False, postgresql_concurrently=True)  # fmt: skip


def downgrade() -> None:
    with op.get_context().autocommit_block():
        op.execute("DROP INDEX CONCURRENTLY IF EXISTS idx_sessions_total_desc")
        op.execute("DROP INDEX CONCURRENTLY IF EXISTS idx_sessions_module_plain")
        op.create_index('idx_sessions_module_plain', 'sessions', ['module_id'], unique=False,
                        postgresql_concurrently=True)  # fmt: skip
        op.execute("DROP INDEX CONCURRENTLY IF EXISTS idx_sessions_module_id")
        op.execute("ALTER INDEX idx_sessions_module_plain RENAME TO idx_sessions_module_id")
