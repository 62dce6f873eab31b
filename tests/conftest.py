"""Test setup: one embedded PostgreSQL per run, a migrated template, a fresh database per test.

Each test gets `CREATE DATABASE … TEMPLATE simvado_template` (a few tens of milliseconds), so page
tests — whose pages open their own transactions — are as isolated as service tests.
"""

from __future__ import annotations

import itertools
import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlmodel import Session

TEMPLATE = "simvado_template"
_counter = itertools.count()


def _admin(server, sql: str) -> None:  # noqa: ANN001
    import psycopg

    with psycopg.connect(server.get_uri("postgres"), autocommit=True) as conn:
        conn.execute(sql)


@pytest.fixture(scope="session")
def pg_server() -> Iterator:
    """The run's embedded PostgreSQL, with a migrated template database."""
    import pgserver

    from console import migrate
    from console.db import to_sqlalchemy_url

    # Short path: the unix socket lives in the data folder and socket paths are limited to ~100 bytes.
    root = Path(tempfile.mkdtemp(prefix="svt-", dir="/tmp"))
    os.environ["SIMVADO_DATA_DIR"] = str(root / "data")
    os.environ.setdefault("SIMVADO_LOGIN_FAILURE_DELAY_SECONDS", "0")
    server = pgserver.get_server(root / "pg", cleanup_mode="stop")
    # Durability is not under test here (the crash test runs its own server): skip disk flushes.
    for setting in ("fsync = off", "full_page_writes = off", "synchronous_commit = off"):
        _admin(server, f"ALTER SYSTEM SET {setting}")
    _admin(server, "SELECT pg_reload_conf()")
    _admin(server, f"CREATE DATABASE {TEMPLATE}")
    migrate.upgrade(to_sqlalchemy_url(server.get_uri(TEMPLATE)))
    yield server
    server.cleanup()
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def database_url(pg_server) -> Iterator[str]:  # noqa: ANN001
    """A fresh, migrated database for this test; the console's engine points at it."""
    from console import db
    from console.db import to_sqlalchemy_url

    name = f"t_{os.getpid()}_{next(_counter)}"
    _admin(pg_server, f"CREATE DATABASE {name} TEMPLATE {TEMPLATE}")
    url = to_sqlalchemy_url(pg_server.get_uri(name))
    db.configure(url)
    yield url
    db.dispose()
    _admin(pg_server, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture
def session(database_url) -> Iterator[Session]:  # noqa: ANN001
    from console import db

    with Session(db.get_engine(), expire_on_commit=False) as s:
        yield s
        s.rollback()


@pytest.fixture
async def user(database_url, caplog, request):  # noqa: ANN001
    """NiceGUI's simulated user, on this test's database.

    Overrides the plugin's fixture only to order it after `database_url`: the app starts on a
    configured database and shuts down (finishing its page work) before that database is dropped.
    """
    from nicegui.testing.general_fixtures import get_path_to_main_file
    from nicegui.testing.user_simulation import user_simulation

    async with user_simulation(main_file=get_path_to_main_file(request)) as simulated:
        yield simulated
    errors = [r for r in caplog.get_records("call") if r.levelname == "ERROR"]
    if errors:
        pytest.fail(f"There were unexpected ERROR logs: {errors[0].getMessage()}", pytrace=False)


@pytest.fixture(autouse=True)
def _settings_cache():
    from console.config import get_settings

    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def unique(prefix: str = "x") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"
