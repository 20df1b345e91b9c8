"""Admin commands: migrate, tokens, connections list/add/test, opal-config."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy.ext.asyncio import AsyncSession

from pip_service.auth.roles import Role
from pip_service.cli.base import (
    FAILED,
    actor,
    app,
    connections_app,
    err,
    fail,
    load_settings,
    out,
    parse_assignments,
    read_config_file,
    run,
    started,
    table,
    tokens_app,
)
from pip_service.connections.models import Connection
from pip_service.connections.service import (
    create_connection,
    get_connection,
    get_connection_by_name,
    list_connections,
)
from pip_service.db.session import transaction


async def resolve_connection(session: AsyncSession, reference: str) -> Connection:
    """A connection by id (digits) or by name; NotFoundError otherwise."""
    if reference.isdigit():
        return await get_connection(session, int(reference))
    return await get_connection_by_name(session, reference)


@app.command()
def migrate() -> None:
    """Bring the database schema up to date (required before `serve` on PostgreSQL)."""
    from pip_service.db.migrate import upgrade

    upgrade(load_settings().database_url)
    out.print("database schema is up to date")


@tokens_app.command("create")
def tokens_create(
    name: Annotated[str, typer.Option(help="Who uses it (shown as the audit actor)")],
    role: Annotated[Role, typer.Option(help="admin, operator, viewer or opal")],
) -> None:
    """Create an API token; its value is printed once and never again."""
    from pip_service.auth.service import create_token

    async def create() -> str:
        async with started(load_settings()) as runtime, transaction(runtime.sessions) as session:
            issued = await create_token(session, name=name, role=role, actor=actor())
            return issued.plaintext

    token = run(create())
    err.print(f"created {role.value} token {name!r}; it is shown only this once:")
    typer.echo(token)


@connections_app.command("list")
def connections_list() -> None:
    """Every connection with its state and last sync."""

    async def fetch() -> list[Connection]:
        async with started(load_settings()) as runtime, runtime.sessions() as session:
            return await list_connections(session)

    rows = [
        (c.id, c.name, c.connector_type, c.state, "yes" if c.enabled else "no",
         c.last_sync_status, c.last_success_at)
        for c in run(fetch())
    ]  # fmt: skip
    columns = ("id", "name", "type", "state", "enabled", "last sync", "last success")
    out.print(table("Connections", columns, rows))


@connections_app.command("add")
def connections_add(
    connector_type: Annotated[str, typer.Option("--type", help="Connector type, e.g. okta")],
    name: Annotated[str, typer.Option(help="Unique connection name")],
    config_file: Annotated[
        Path | None, typer.Option(help="JSON object with the connector's config")
    ] = None,
    assignments: Annotated[
        list[str] | None, typer.Option("--set", help="key=value, overrides the file; repeatable")
    ] = None,
    interval: Annotated[
        int | None, typer.Option(help="Seconds between syncs (default: the type's)")
    ] = None,
) -> None:
    """Add a connection; secrets in the config are stored encrypted."""
    config = {**read_config_file(config_file), **parse_assignments(assignments or [])}

    async def add() -> Connection:
        async with started(load_settings()) as runtime, transaction(runtime.sessions) as session:
            return await create_connection(
                session, name=name, connector_type=connector_type, config=config,
                interval_seconds=interval, actor=actor(), keyring=runtime.keyring,
            )  # fmt: skip

    connection = run(add())
    out.print(f"added connection {connection.name!r} (id {connection.id}, {connector_type})")


@connections_app.command("test")
def connections_test(
    connection: Annotated[str, typer.Argument(help="Connection name or id")],
) -> None:
    """Check that a connection's source answers and its credentials carry the needed rights."""

    async def check() -> tuple[str, object]:
        async with started(load_settings()) as runtime:
            async with runtime.sessions() as session:
                found = await resolve_connection(session, connection)
            return found.name, await runtime.test_connection(found)

    name, result = run(check())
    ok = bool(getattr(result, "ok", False))
    message = str(getattr(result, "message", ""))
    if not ok:
        raise fail(f"connection {name!r} test failed: {message}", FAILED)
    out.print(f"connection {name!r}: ok ({message})")


@app.command("opal-config")
def opal_config(
    token: Annotated[
        str | None, typer.Option(help="OPAL read token (default: the first of PIP_OPAL_TOKENS)")
    ] = None,
    new_token: Annotated[
        bool, typer.Option("--new-token", help="Create a stored OPAL read token and use it")
    ] = False,
) -> None:
    """Print the OPAL server and client environment that points OPAL at this PIP."""
    from opal.config import opal_environment

    settings = load_settings()
    chosen = token or _first_opal_token(settings.opal_tokens)
    if new_token:
        chosen = _create_opal_token()
    if not chosen:
        raise fail("no OPAL read token: pass --token, set PIP_OPAL_TOKENS or use --new-token")
    for key, value in opal_environment(settings, chosen).items():
        typer.echo(f"{key}={_shell_quote(value)}")


def _first_opal_token(opal_tokens: object) -> str | None:
    raw = getattr(opal_tokens, "get_secret_value", lambda: "")()
    return next((part.strip() for part in str(raw).split(",") if part.strip()), None)


def _create_opal_token() -> str:
    from pip_service.auth.service import create_token
    from pip_service.db.base import utcnow

    async def create() -> str:
        async with started(load_settings()) as runtime, transaction(runtime.sessions) as session:
            name = f"opal-{utcnow():%Y%m%d-%H%M%S}"
            issued = await create_token(session, name=name, role=Role.OPAL, actor=actor())
            return issued.plaintext

    created: str = run(create())
    err.print("created a stored OPAL read token (role opal); it is shown only in this output")
    return created


def _shell_quote(value: str) -> str:
    import shlex

    return shlex.quote(value)
