"""procrastinate job queue schema (background jobs on the same PostgreSQL)

The SQL is procrastinate 3.10's own schema, copied beside this file so the migration builds the same
thing whatever version is installed later (upgrades of procrastinate bring their migration scripts,
to be added as further revisions).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 17:50:00
"""
from collections.abc import Sequence
from pathlib import Path

from alembic import op

revision: str = '0002'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMA = Path(__file__).parent / "sql" / "procrastinate_3_10_schema.sql"

DROP_ALL = """
DO $$
DECLARE r record;
BEGIN
    FOR r IN SELECT tablename FROM pg_tables
             WHERE schemaname = current_schema() AND tablename LIKE 'procrastinate%' LOOP
        EXECUTE 'DROP TABLE IF EXISTS ' || quote_ident(r.tablename) || ' CASCADE';
    END LOOP;
    FOR r IN SELECT p.oid::regprocedure AS signature FROM pg_proc p
             JOIN pg_namespace n ON n.oid = p.pronamespace
             WHERE n.nspname = current_schema() AND p.proname LIKE 'procrastinate%' LOOP
        EXECUTE 'DROP FUNCTION IF EXISTS ' || r.signature || ' CASCADE';
    END LOOP;
    FOR r IN SELECT t.typname FROM pg_type t
             JOIN pg_namespace n ON n.oid = t.typnamespace
             WHERE n.nspname = current_schema() AND t.typname LIKE 'procrastinate%' AND t.typtype IN ('e', 'c') LOOP
        EXECUTE 'DROP TYPE IF EXISTS ' || quote_ident(r.typname) || ' CASCADE';
    END LOOP;
END $$;
"""


def _execute_raw(sql: str) -> None:
    # The driver's own connection: the schema has many statements and '%'/':' that bind-parameter
    # parsing would misread.
    op.get_bind().connection.driver_connection.execute(sql)


def upgrade() -> None:
    _execute_raw(SCHEMA.read_text())


def downgrade() -> None:
    _execute_raw(DROP_ALL)
