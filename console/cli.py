"""The `simvado-console` command."""

from __future__ import annotations

import contextlib
import copy
import logging
import re
import time
import uuid
from pathlib import Path

import typer

from console import db, unit_of_work
from console.config import ConfigurationError, get_settings
from console.services import api_keys

cli = typer.Typer(no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False, help="Simvado Console")
log = logging.getLogger("simvado")
# Chatty at INFO and of no use to someone starting the console: pgserver echoes initdb and pg_ctl
# in full, alembic names every autogenerate plugin it loads.
_QUIET_LOGGERS = ("pgserver", "alembic.runtime.plugins")


def _configure_logging() -> None:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    for handler in logging.getLogger().handlers:
        handler.addFilter(RedactKeysInMessages())
    for name in _QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)


class QuietEngineApiAccess(logging.Filter):
    """Leaves successful engine API requests out of the access log; failures (4xx, 5xx) stay in.

    Engines post thousands of times a second: a line each was a third of what the full console spent
    per request beyond `serve-api` (which logs no access lines at all).
    """

    def __init__(self) -> None:
        super().__init__()
        from console.api import PREFIX

        self.prefix = PREFIX + "/"

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) == 5:  # uvicorn's (client, method, path, version, status)
            path, status = args[2], args[4]
            if isinstance(status, int) and status < 400 and str(path).startswith(self.prefix):
                return False
        return True


class RedactSecretsInPaths(logging.Filter):
    """Keeps credentials that travel in a URL out of the access log (SECURITY.md: secrets never logged):
    the one-time token of an invitation link (`/invite/<token>`), the value of any query parameter whose
    name says it holds a secret (`api_key=`, `key=`, `token=`, `access_token=`, `secret=`, `password=`,
    `auth…=`, `simvado_launch=`, …: refused by the engine API, but the line would still hold it whole),
    and anything that looks like an engine API key, wherever in the path or query it is."""

    INVITE = re.compile(r"^/invite/[^/?]+")
    QUERY_SECRET = re.compile(
        r"(?i)([?&;][^=&;]*(?:key|token|secret|password|passwd|pwd|auth|bearer|signature|credential|"
        r"simvado_launch)[^=&;]*=)[^&;]*"
    )

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) == 5 and isinstance(args[2], str):
            path = api_keys.redact_keys(self.QUERY_SECRET.sub(r"\1…", self.INVITE.sub("/invite/…", args[2])))
            if path != args[2]:
                record.args = (*args[:2], path, *args[3:])
        return True


class RedactKeysInMessages(logging.Filter):
    """Our own log lines (and any library's, through the root handler) never carry a whole engine API
    key: a key that slipped into a message is cut to its prefix. Uvicorn's access lines are left to
    RedactSecretsInPaths (their formatter needs their arguments as they are)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name == "uvicorn.access":
            return True
        message = record.getMessage()
        redacted = api_keys.redact_keys(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        return True


def _uvicorn_log_config() -> dict:
    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    config.setdefault("filters", {})["quiet_engine_api"] = {"()": QuietEngineApiAccess}
    config["filters"]["redact_secrets"] = {"()": RedactSecretsInPaths}
    config["handlers"]["access"]["filters"] = ["quiet_engine_api", "redact_secrets"]
    return config


def _prepare_database() -> str:
    """Resolve the database (starting the embedded one if needed), migrate it to head, return its URL."""
    from console import migrate

    try:
        url = db.resolve_database_url()
    except ConfigurationError as exc:
        typer.secho(str(exc), fg=typer.colors.RED, err=True)
        raise typer.Exit(2) from exc
    migrate.upgrade(url)
    db.configure(url)
    return url


def _demo_logins_file() -> Path:
    return get_settings().data_dir / "demo-logins.txt"


def _seed_demo(events: int | None = None) -> bool:
    """Load demo data (with `events`, the large data set) into an empty database. Returns False when the
    database already had data."""
    from console import demo

    started = time.monotonic()
    with unit_of_work.transaction() as session:
        if demo.has_data(session):
            return False
        result = demo.seed(session) if events is None else demo.seed_large(session, events=events, progress=typer.echo)
    if events is not None:
        demo.settle(db.get_engine())
    lines = [f"{role:24} {email:36} {password}" for role, (email, password) in result.logins.items()]
    lines.append(f"\nEngine API key (game:write, game:read): {result.api_key}")
    path = _demo_logins_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600)
    path.write_text("\n".join(lines) + "\n")
    counts = ", ".join(f"{v:,} {k}" for k, v in result.counts.items())
    typer.echo(f"Demo data loaded in {time.monotonic() - started:.0f} s: {counts}.")
    return True


def _print_demo_logins() -> None:
    path = _demo_logins_file()
    if path.exists():
        typer.echo("\nDemo logins (role, email, password):")
        typer.echo(path.read_text())


@cli.command()
def serve(
    host: str = typer.Option("127.0.0.1", help="Interface to listen on."),
    port: int = typer.Option(8080, help="Port to listen on."),
    demo: bool = typer.Option(False, "--demo", help="Load demo data into an empty database and print logins."),
) -> None:
    """Migrate to head and serve the console and the engine API."""
    import uvicorn

    _configure_logging()
    _prepare_database()
    if demo:
        _seed_demo()
        _print_demo_logins()
    from console.api import serving_app
    from console.app import create_app

    # Embedded mode is one self-contained process: it runs the background jobs too.
    app = create_app(run_jobs=get_settings().embedded)
    typer.echo(f"Simvado Console on http://{host}:{port}")
    uvicorn.run(
        serving_app(app), host=host, port=port, log_level="info", log_config=_uvicorn_log_config(), proxy_headers=True
    )


@cli.command("serve-api")
def serve_api(
    host: str = typer.Option("127.0.0.1", help="Interface to listen on."),
    port: int = typer.Option(8081, help="Port to listen on."),
    workers: int = typer.Option(1, min=1, help="Worker processes (each a full copy of the engine API)."),
) -> None:
    """Serve the engine API alone (no console pages), for scale-out behind a load balancer."""
    import os

    import uvicorn

    _configure_logging()
    url = _prepare_database()
    # Workers are fresh processes: hand them the resolved database (embedded or not) explicitly.
    os.environ["DATABASE_URL"] = url
    typer.echo(f"Simvado engine API on http://{host}:{port}/api/v1 ({workers} worker{'s' if workers > 1 else ''})")
    uvicorn.run(
        "console.api.main:app",
        host=host,
        port=port,
        workers=workers,
        log_level="warning",
        log_config=_uvicorn_log_config(),  # its filters too, should the level ever let access lines through
        proxy_headers=True,
    )


@cli.command("worker")
def worker(concurrency: int = typer.Option(4, min=1, help="Jobs run at once.")) -> None:
    """Run background jobs (debriefs, abandoned-session and overdue sweeps) in this process."""
    from console import jobs

    _configure_logging()
    _prepare_database()
    typer.echo("Background worker running (Ctrl+C to stop).")
    jobs.run_worker_forever(concurrency=concurrency)


@cli.command("migrate")
def migrate_command() -> None:
    """Migrate the database to the newest schema."""
    _prepare_database()
    typer.echo("Database is at the newest migration.")


@cli.command("seed-demo")
def seed_demo(
    events: int | None = typer.Option(
        None, min=1_000, help="The large data set instead: a big organization's history of about N events."
    ),
) -> None:
    """Load demo data into an empty database (with --events, a large deterministic data set)."""
    _prepare_database()
    if not _seed_demo(events):
        typer.echo("The database already has data; demo data was not loaded.")
    _print_demo_logins()


@cli.command("create-user")
def create_user(
    email: str = typer.Option(..., help="Login email."),
    name: str = typer.Option(..., help="Display name."),
    role: str = typer.Option(
        ..., help="individual | enterprise_admin | enterprise_participant | studio_creator | platform_admin"
    ),
    org: str | None = typer.Option(None, help="Organization slug or id (for enterprise roles)."),
    password: str | None = typer.Option(
        None, help="Password (at least 10 characters). Asked for when omitted.", show_default=False
    ),
) -> None:
    """Create a user who can log in with email and password."""
    from sqlalchemy import or_, select

    from console.auth import Actor
    from console.errors import DomainError
    from console.services import accounts
    from models import Organization

    _prepare_database()
    if password is None:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        with unit_of_work.transaction() as session:
            org_id = None
            if org:
                conditions = [Organization.slug == org]
                with contextlib.suppress(ValueError):
                    conditions.append(Organization.id == uuid.UUID(org))
                org_id = session.scalar(select(Organization.id).where(or_(*conditions)))
                if org_id is None:
                    typer.secho(f"No organization '{org}'.", fg=typer.colors.RED, err=True)
                    raise typer.Exit(2)
            user = accounts.create_user(
                session=session,
                actor=Actor.system("cli"),
                data={"email": email, "name": name, "role": role, "organization_id": org_id, "password": password},
            )
    except DomainError as exc:
        details = "; ".join(f"{k}: {v}" for k, v in exc.details.items())
        typer.secho(f"{exc.message} {details}".strip(), fg=typer.colors.RED, err=True)
        raise typer.Exit(2) from exc
    typer.echo(f"Created {user.role.value} {user.email} ({user.id}).")


@cli.command("create-api-key")
def create_api_key(
    name: str = typer.Option(..., help="What the key is for, e.g. 'Unreal build server'."),
    simulation: str | None = typer.Option(None, help="Bind the key to this simulation (id or slug)."),
    org: str | None = typer.Option(None, help="Bind the key to this organization (slug or id)."),
    scope: list[str] = typer.Option(
        ["game:write", "game:read"], help="game:write and/or game:read (repeat the option; default both)."
    ),
    expires_days: int | None = typer.Option(None, help="Expire the key after this many days."),
    test: bool = typer.Option(
        False, "--test", help="A test key (sk_sim_test_…): its sessions count nowhere and can be deleted."
    ),
) -> None:
    """Create an engine API key and print it once (only its hash is stored)."""
    from sqlalchemy import or_, select

    from console.auth import Actor
    from console.errors import DomainError
    from console.services import api_keys
    from models import Organization, Simulation

    _prepare_database()

    def _find(model, slug: str | None, what: str):  # noqa: ANN001, ANN202
        if not slug:
            return None
        conditions = [model.slug == slug]
        with contextlib.suppress(ValueError):
            conditions.append(model.id == uuid.UUID(slug))
        found = session.scalar(select(model.id).where(or_(*conditions)))
        if found is None:
            typer.secho(f"No {what} '{slug}'.", fg=typer.colors.RED, err=True)
            raise typer.Exit(2)
        return found

    try:
        with unit_of_work.transaction() as session:
            created = api_keys.create(
                session=session,
                actor=Actor.system("cli"),
                data={
                    "name": name,
                    "simulation_id": _find(Simulation, simulation, "simulation"),
                    "organization_id": _find(Organization, org, "organization"),
                    "scopes": scope,
                    "expires_days": expires_days,
                    "test": test,
                },
            )
    except DomainError as exc:
        details = "; ".join(f"{k}: {v}" for k, v in exc.details.items())
        typer.secho(f"{exc.message} {details}".strip(), fg=typer.colors.RED, err=True)
        raise typer.Exit(2) from exc
    kind = "test API key" if created.api_key.is_test else "API key"
    typer.echo(f"Created {kind} '{created.api_key.name}' ({created.api_key.key_prefix}…, id {created.api_key.id}).")
    typer.echo("Copy it now: it is shown only this once.", err=True)
    typer.echo(created.key)


@cli.command("link-sso")
def link_sso(
    email: str = typer.Option(..., help="The person's email in the console."),
    subject: str = typer.Option(..., help="Their subject (`sub`) at the provider, e.g. a Clerk user id."),
    issuer: str | None = typer.Option(
        None, help="The provider's issuer URL; default: the staff provider (SIMVADO_STAFF_OIDC_ISSUER)."
    ),
) -> None:
    """Link a person to their identity at an OIDC provider: staff to the platform's provider, or an
    existing account to its organization's SSO (docs/identity.md). Audited."""
    from console.auth import Actor
    from console.errors import DomainError
    from console.services.identity import staff

    issuer = issuer or get_settings().staff_oidc_issuer
    if not issuer:
        typer.secho("Give --issuer, or set SIMVADO_STAFF_OIDC_ISSUER.", fg=typer.colors.RED, err=True)
        raise typer.Exit(2)
    _prepare_database()
    try:
        with unit_of_work.transaction() as session:
            staff.link(session=session, actor=Actor.system("cli"), email=email, issuer=issuer, subject=subject)
    except DomainError as exc:
        typer.secho(exc.message, fg=typer.colors.RED, err=True)
        raise typer.Exit(2) from exc
    typer.echo(f"Linked {email.strip()} to {subject.strip()} at {issuer}.")


def main() -> None:
    cli()


if __name__ == "__main__":
    main()
