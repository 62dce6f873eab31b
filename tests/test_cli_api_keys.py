"""`simvado-console create-api-key` prints a working key once and stores only its hash."""

from typer.testing import CliRunner

from console import unit_of_work
from console.cli import cli
from console.services import api_keys
from tests.factories import make_org, make_simulation


def test_create_api_key_prints_a_working_key(database_url, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", database_url)
    with unit_of_work.transaction() as session:
        sim = make_simulation(session)
        org = make_org(session)
    result = CliRunner().invoke(
        cli,
        [
            "create-api-key",
            "--name",
            "Unity build",
            "--simulation",
            sim.slug,
            "--org",
            org.slug,
            "--scope",
            "game:write",
            "--scope",
            "game:read",
            "--expires-days",
            "7",
        ],
    )
    assert result.exit_code == 0, result.output
    key = result.stdout.strip().splitlines()[-1]
    assert key.startswith("sk_sim_")
    with unit_of_work.transaction() as session:
        context = api_keys.authenticate(session=session, key=key)
    assert context.simulation_id == sim.id and context.organization_id == org.id
    assert context.scopes == {"game:write", "game:read"}


def test_create_api_key_refuses_unknown_binding(database_url, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", database_url)
    result = CliRunner().invoke(cli, ["create-api-key", "--name", "x", "--org", "nope"])
    assert result.exit_code == 2
    assert "sk_sim_" not in result.output


def test_create_api_key_test_flag_makes_a_test_key(database_url, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", database_url)
    with unit_of_work.transaction() as session:
        sim = make_simulation(session)
    result = CliRunner().invoke(cli, ["create-api-key", "--name", "Studio test", "--simulation", sim.slug, "--test"])
    assert result.exit_code == 0, result.output
    key = result.stdout.strip().splitlines()[-1]
    assert key.startswith("sk_sim_test_") and api_keys.looks_valid(key)
    assert "test API key" in result.stdout
    with unit_of_work.transaction() as session:
        made = api_keys.authenticate(session=session, key=key)
        assert made.test
        # Both scopes unless told otherwise, as on the keys page: with game:write alone the guide's first
        # step (GET /modules) answered 403.
        assert made.can(api_keys.SCOPE_READ) and made.can(api_keys.SCOPE_WRITE)
