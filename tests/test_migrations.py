"""The migrations build exactly the models' schema, and can be undone and redone."""

from sqlalchemy import create_engine, inspect, text

from console import migrate


def test_models_and_migrations_do_not_drift(database_url):
    migrate.check(database_url)  # raises if autogenerate would emit anything


def test_downgrade_drops_everything_and_upgrade_rebuilds(database_url):
    migrate.downgrade(database_url, "base")
    engine = create_engine(database_url)
    with engine.connect() as conn:
        tables = set(inspect(conn).get_table_names()) - {"alembic_version"}
        enums = conn.execute(text("SELECT typname FROM pg_type WHERE typtype = 'e'")).scalars().all()
    assert tables == set()
    assert enums == []
    migrate.upgrade(database_url)
    with engine.connect() as conn:
        tables = set(inspect(conn).get_table_names())
        indexes = {ix["name"] for t in tables for ix in inspect(conn).get_indexes(t)}
    engine.dispose()
    seed_tables = {
        "users",
        "organizations",
        "org_memberships",
        "simulations",
        "modules",
        "game_events",
        "api_keys",
        "media_assets",
        "sessions",
        "simulation_assignments",
    }
    assert seed_tables <= tables
    assert {"audit_log", "local_credentials"} <= tables
    seed_indexes = {
        "idx_sessions_user_id",
        "idx_sessions_module_id",
        "idx_sessions_org_id",
        "idx_game_events_session",
        "idx_game_events_type",
        "idx_org_memberships_org",
        "idx_org_memberships_user",
        "idx_assignments_org",
        "idx_assignments_user",
        "idx_simulations_status",
    }
    assert seed_indexes <= indexes
