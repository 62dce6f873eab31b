"""Database access: the engine and the embedded PostgreSQL. Transactions: console/unit_of_work.py."""

from __future__ import annotations

import logging
import warnings
from pathlib import Path

from sqlalchemy import Engine, create_engine, event

from console.config import ConfigurationError, Settings, get_settings

log = logging.getLogger(__name__)
# pgserver asks platformdirs for a runtime folder and falls back to /tmp with a warning: harmless.
warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR")

_engine: Engine | None = None
_embedded_server = None  # the pgserver handle, kept alive for the life of the process
DATABASE_NAME = "simvado"


def start_embedded_postgres(data_dir: Path, *, database: str = DATABASE_NAME) -> str:
    """Start (or reuse) the embedded PostgreSQL in `data_dir`/pg and return its SQLAlchemy URL.

    A second start on the same folder finds the cluster already initialised (and possibly still
    running) and reuses its data.
    """
    global _embedded_server
    import pgserver  # imported here: production images never start an embedded server

    pgdata = data_dir / "pg"
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    # cleanup_mode=None leaves the server running for the next start; pgserver finds it by its pid
    # file, so two processes on one data folder share one server.
    _embedded_server = pgserver.get_server(pgdata, cleanup_mode=None)
    # `database` is our own constant, never user input.
    existing = _embedded_server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{database}';")  # noqa: S608
    if "1 row" not in existing:
        _embedded_server.psql(f"CREATE DATABASE {database};")
    return to_sqlalchemy_url(_embedded_server.get_uri(database))


def to_sqlalchemy_url(uri: str) -> str:
    for prefix in ("postgres://", "postgresql://"):
        if uri.startswith(prefix):
            return "postgresql+psycopg://" + uri[len(prefix) :]
    return uri


def resolve_database_url(settings: Settings | None = None) -> str:
    settings = settings or get_settings()
    if settings.database_url:
        return settings.database_url
    if settings.production:
        raise ConfigurationError("DATABASE_URL is required when SIMVADO_ENVIRONMENT=production")
    return start_embedded_postgres(settings.data_dir)


def make_engine(url: str) -> Engine:
    engine = create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20)

    @event.listens_for(engine, "connect")
    def _durable(dbapi_connection, _record):  # noqa: ANN001
        # A 2xx to an engine promises the rows are on disk; never let a server default weaken that.
        with dbapi_connection.cursor() as cursor:
            cursor.execute("SET synchronous_commit = on")
        dbapi_connection.commit()

    return engine


def configure(url: str | None = None) -> Engine:
    """Point the process at a database (the settings' one by default) and return its engine."""
    global _engine
    if _engine is not None:
        _engine.dispose()
    _engine = make_engine(url or resolve_database_url())
    return _engine


def get_engine() -> Engine:
    """The configured engine. Every entry point configures it first (the CLI before it serves).

    Never configured lazily: a late call from a finished request would otherwise start an embedded
    server of its own and quietly point the whole process at an empty database.
    """
    if _engine is None:
        raise RuntimeError("the database is not configured: call console.db.configure() first")
    return _engine


def dispose() -> None:
    global _engine
    if _engine is not None:
        _engine.dispose()
        _engine = None
