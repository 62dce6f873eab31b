"""Configuration and the database: the embedded server, an external one, and the cookie secret."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

from console.config import ConfigurationError, Settings
from console.db import resolve_database_url, to_sqlalchemy_url
from tests.support import stop_embedded_postgres


def test_cookie_secret_is_generated_once_and_kept(tmp_path):
    settings = Settings(data_dir=tmp_path, database_url=None)
    first = settings.resolve_storage_secret()
    assert len(first) >= 40
    assert Settings(data_dir=tmp_path).resolve_storage_secret() == first
    assert (tmp_path / "storage_secret").stat().st_mode & 0o077 == 0  # readable by its owner only


def test_production_requires_a_secret_and_a_database(tmp_path):
    settings = Settings(data_dir=tmp_path, environment="production", database_url=None)
    with pytest.raises(ConfigurationError):
        settings.resolve_storage_secret()
    with pytest.raises(ConfigurationError):
        resolve_database_url(settings)


def test_postgres_urls_are_normalised_to_psycopg():
    assert Settings(database_url="postgres://u:p@h/db").database_url == "postgresql+psycopg://u:p@h/db"
    assert Settings(database_url="postgresql://u@h/db").database_url == "postgresql+psycopg://u@h/db"


def _run_cli(env, *args):
    env = {k: v for k, v in {**os.environ, **env}.items() if v is not None}
    return subprocess.run(
        [sys.executable, "-m", "console.cli", *args], env=env, capture_output=True, text=True, timeout=120
    )


def test_database_url_points_the_console_at_a_separate_server(pg_server, tmp_path):
    """With DATABASE_URL set, `migrate` builds the schema there and starts no embedded server."""
    import pgserver

    other = pgserver.get_server(Path(tempfile_dir()) / "pg", cleanup_mode="delete")
    try:
        with psycopg.connect(other.get_uri("postgres"), autocommit=True) as conn:
            conn.execute("CREATE DATABASE elsewhere")
        data_dir = tmp_path / "unused"
        result = _run_cli({"DATABASE_URL": other.get_uri("elsewhere"), "SIMVADO_DATA_DIR": str(data_dir)}, "migrate")
        assert result.returncode == 0, result.stderr
        with psycopg.connect(other.get_uri("elsewhere")) as conn:
            tables = {r[0] for r in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")}
        assert {"users", "simulations", "sessions", "game_events"} <= tables
        assert not (data_dir / "pg").exists()  # no embedded server was started
    finally:
        other.cleanup()


def test_embedded_database_is_reused_on_a_second_start(tmp_path):
    data_dir = Path(tempfile_dir())
    env = {"SIMVADO_DATA_DIR": str(data_dir), "DATABASE_URL": None}
    created = _run_cli(
        env,
        "create-user",
        "--email",
        "keep@x.example",
        "--name",
        "Keep",
        "--role",
        "individual",
        "--password",
        "a long enough password",
    )
    assert created.returncode == 0, created.stderr
    again = _run_cli(
        env,
        "create-user",
        "--email",
        "keep@x.example",
        "--name",
        "Keep",
        "--role",
        "individual",
        "--password",
        "a long enough password",
    )
    assert again.returncode == 2 and "already exists" in again.stderr
    stop_embedded_postgres(data_dir / "pg")  # started by the CLI, so pgserver's cleanup would not stop it
    shutil.rmtree(data_dir, ignore_errors=True)
    assert to_sqlalchemy_url("postgresql://x") == "postgresql+psycopg://x"


def tempfile_dir() -> str:
    import tempfile

    return tempfile.mkdtemp(prefix="svd-", dir="/tmp")
