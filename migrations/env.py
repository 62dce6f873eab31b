"""Alembic environment: migrates the database the console is configured for."""

from alembic import context
from sqlalchemy import pool

import models  # noqa: F401  (registers every table on SQLModel.metadata)
from console import db
from models import SQLModel

config = context.config
target_metadata = SQLModel.metadata


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    url = config.get_main_option("sqlalchemy.url") or db.resolve_database_url()
    from sqlalchemy import create_engine

    engine = create_engine(url, poolclass=pool.NullPool)
    with engine.connect() as connection:
        _run(connection)
    engine.dispose()


def _include_object(obj, name, type_, reflected, compare_to) -> bool:  # noqa: ANN001
    # procrastinate's tables are built by migration 0002 from its own SQL, not from our models.
    return not (type_ == "table" and reflected and compare_to is None and str(name).startswith("procrastinate"))


def _run(connection) -> None:  # noqa: ANN001
    context.configure(
        connection=connection, target_metadata=target_metadata, compare_type=True, include_object=_include_object
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    raise SystemExit("offline migrations are not supported: run against a database")
run_migrations_online()
