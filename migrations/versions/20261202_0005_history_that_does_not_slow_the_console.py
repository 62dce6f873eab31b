"""history that does not slow the console

What the console reads often — the dashboard, a cohort's percentile and median, the sweeps, a player
by email — reads what is live or recent, not the whole history (docs/scale.md):
- sessions.total_score, final_scores' total kept by PostgreSQL (a stored generated column; adding it
  rewrites `sessions` once: about a second per 100k sessions, measured in docs/scale.md);
- partial and covering indexes for live sessions, recent days, a module's completed cohort by score,
  sessions awaiting a debrief and open assignments by due date; a BRIN index on events' arrival;
  lower(email); the foreign keys a user's deletion follows (audit actor, assigning admin);
- assignment_counts, kept by statement-level triggers on simulation_assignments (every insert,
  status change and deletion, COPY and cascades included), backfilled here.
Indexes are built CONCURRENTLY, so engines and pages keep working while a large table is indexed.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 00:34:19.819799
"""
from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
import sqlmodel  # noqa: F401  (autogenerate emits sqlmodel.sql.sqltypes.AutoString)
from alembic import op


revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None



# (name, table, columns, options) in build order.
INDEXES = [
    ("ix_audit_log_actor_id", "audit_log", ["actor_id"], {}),
    ("idx_game_events_received_brin", "game_events", ["received_at"],
     {"postgresql_using": "brin", "postgresql_with": {"autosummarize": "on"}}),
    ("idx_sessions_awaiting_debrief", "sessions", ["completed_at"],
     {"postgresql_where": sa.text("status = 'completed' AND debrief_generated_at IS NULL")}),
    ("idx_sessions_cohort", "sessions", ["module_id", "total_score"],
     {"postgresql_include": ["id"], "postgresql_where": sa.text("status = 'completed'")}),
    ("idx_sessions_completed_at", "sessions", ["completed_at"],
     {"postgresql_include": ["organization_id", "module_id", "total_score"],
      "postgresql_where": sa.text("status = 'completed'")}),
    ("idx_sessions_live", "sessions", ["started_at"], {"postgresql_where": sa.text("status = 'in_progress'")}),
    ("idx_sessions_started_at", "sessions", ["started_at"], {"postgresql_include": ["organization_id", "module_id"]}),
    ("idx_assignments_assigned_by", "simulation_assignments", ["assigned_by_user_id"], {}),
    ("idx_assignments_open_due", "simulation_assignments", ["due_date"],
     {"postgresql_where": sa.text("status IN ('assigned', 'in_progress')")}),
    ("idx_users_email_lower", "users", [sa.literal_column("lower(email)")], {}),
    ("idx_users_org", "users", ["organization_id"], {}),
]  # fmt: skip

COUNTS_FUNCTION = """
CREATE FUNCTION assignment_counts_apply() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        INSERT INTO assignment_counts AS c (organization_id, status, count)
        SELECT organization_id, status, -count(*) FROM old_rows GROUP BY organization_id, status
        ON CONFLICT (organization_id, status) DO UPDATE SET count = c.count + EXCLUDED.count;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        INSERT INTO assignment_counts AS c (organization_id, status, count)
        SELECT organization_id, status, count(*) FROM new_rows GROUP BY organization_id, status
        ON CONFLICT (organization_id, status) DO UPDATE SET count = c.count + EXCLUDED.count;
    END IF;
    RETURN NULL;
END $$
"""
TRIGGERS = {
    "assignment_counts_insert": "AFTER INSERT ON simulation_assignments REFERENCING NEW TABLE AS new_rows",
    "assignment_counts_update": (
        "AFTER UPDATE ON simulation_assignments REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows"
    ),
    "assignment_counts_delete": "AFTER DELETE ON simulation_assignments REFERENCING OLD TABLE AS old_rows",
}


def upgrade() -> None:
    op.create_table(
        'assignment_counts',
        sa.Column('organization_id', sa.Uuid(), nullable=False),
        sa.Column('status', postgresql.ENUM(name='assignment_status', create_type=False), nullable=False),
        sa.Column('count', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'],
                                name=op.f('fk_assignment_counts_organization_id_organizations'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('organization_id', 'status', name=op.f('pk_assignment_counts')),
    )  # fmt: skip
    op.execute(COUNTS_FUNCTION)
    # Triggers and backfill in one transaction with a lock on the table: no assignment changes between
    # the count and the first trigger, so the counts start exact.
    op.execute("LOCK TABLE simulation_assignments IN SHARE ROW EXCLUSIVE MODE")
    for name, when in TRIGGERS.items():
        op.execute(f"CREATE TRIGGER {name} {when} FOR EACH STATEMENT EXECUTE FUNCTION assignment_counts_apply()")
    op.execute(
        "INSERT INTO assignment_counts (organization_id, status, count) "
        "SELECT organization_id, status, count(*) FROM simulation_assignments GROUP BY organization_id, status"
    )
    op.add_column('sessions', sa.Column('total_score', sa.Float(), sa.Computed(
        "CASE WHEN jsonb_typeof(final_scores -> 'total') = 'number' "
        "THEN (final_scores ->> 'total')::double precision END", persisted=True), nullable=True))  # fmt: skip
    with op.get_context().autocommit_block():
        for name, table, columns, options in INDEXES:
            op.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {name}")  # left invalid by an interrupted earlier run
            op.create_index(name, table, columns, unique=False, postgresql_concurrently=True, **options)


def downgrade() -> None:
    with op.get_context().autocommit_block():
        for name, _table, _columns, _options in reversed(INDEXES):
            op.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {name}")
    op.drop_column('sessions', 'total_score')
    for name in TRIGGERS:
        op.execute(f"DROP TRIGGER IF EXISTS {name} ON simulation_assignments")
    op.execute("DROP FUNCTION IF EXISTS assignment_counts_apply()")
    op.drop_table('assignment_counts')
