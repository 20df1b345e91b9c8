"""Serving and the demo: ``serve``, ``demo``, ``seed-demo``, ``clear-demo``."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import SecretStr
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from sqlalchemy import select

from pip_service.auth.models import ApiToken
from pip_service.auth.roles import Role
from pip_service.cli.base import (
    FAILED,
    actor,
    app,
    err,
    fail,
    load_settings,
    out,
    parse_assignments,
    run,
    started,
)
from pip_service.config import Settings
from pip_service.connections.models import Connection
from pip_service.db.session import create_engine, transaction
from pip_service.demo.service import DEMO_CONNECTION_NAME, SeedProgress, SeedResult
from pip_service.logging import configure_logging
from pip_service.runtime import prepare_database

OPAL_TOKEN_FILE = "opal-token"
Port = Annotated[int, typer.Option(min=1, max=65535, help="Port to listen on")]
Host = Annotated[str, typer.Option(help="Interface to listen on")]
Overrides = Annotated[
    list[str] | None, typer.Option("--set", help="Demo parameter key=value (e.g. devices=5000)")
]


def serve_app(settings: Settings, *, host: str, port: int) -> None:
    """Run the API, OPAL endpoints and scheduler with uvicorn until stopped."""
    import uvicorn

    from pip_service.api.app import create_app

    configure_logging(settings)
    uvicorn.run(create_app(settings), host=host, port=port, log_config=None, server_header=False)


async def check_database(settings: Settings) -> None:
    """Fail with a clear message when PostgreSQL is not migrated (SQLite is migrated here)."""
    engine = create_engine(settings.database_url)
    try:
        await prepare_database(settings.database_url, engine)
    finally:
        await engine.dispose()


@app.command()
def serve(host: Host = "127.0.0.1", port: Port = 8000) -> None:
    """Run the API, the OPAL endpoints and the scheduler."""
    settings = load_settings()
    run(check_database(settings))
    serve_app(settings, host=host, port=port)


@app.command("seed-demo")
def seed_demo(overrides: Overrides = None) -> None:
    """Seed (or refresh) the demo data through the sync engine, with a progress bar."""
    values = parse_assignments(overrides or [])
    result = run(_seed(load_settings(), values))
    _report_seed(result)


@app.command("clear-demo")
def clear_demo() -> None:
    """Remove every demo connection with its records and runs; real data is untouched."""
    from pip_service.demo.service import clear_demo as clear

    async def go() -> Any:
        async with started(load_settings()) as runtime:
            result = await clear(sessions=runtime.sessions, actor=actor())
            await runtime.rebuild_documents(result.entities)
            return result

    result = run(go())
    out.print(
        f"cleared demo data: {result.connections} connections, {result.records} records, "
        f"{result.cursors} cursors, {result.runs} sync runs"
    )


@app.command()
def demo(
    host: Host = "127.0.0.1",
    port: Port = 8000,
    overrides: Overrides = None,
    serve_it: Annotated[bool, typer.Option("--serve/--no-serve", help="Start the server")] = True,
) -> None:
    """Embedded demo: SQLite under the data dir, in-process cache, demo data, API + scheduler."""
    values = parse_assignments(overrides or [])
    settings = demo_settings(load_settings())
    run(check_database(settings))
    if not run(_is_seeded(settings)) or values:
        _report_seed(run(_seed(settings, values)))
    admin = run(_admin_token_if_none(settings))
    _print_welcome(settings, host, port, admin)
    if serve_it:
        serve_app(settings.model_copy(update={"public_url": f"http://{host}:{port}"}),
                  host=host, port=port)  # fmt: skip


def demo_settings(settings: Settings) -> Settings:
    """The embedded mode: SQLite under the data dir, no Redis, a persisted OPAL read token."""
    url = settings.database_url
    if not url.startswith("sqlite"):
        url = f"sqlite+aiosqlite:///{settings.data_dir / 'pip.db'}"
    opal = settings.opal_tokens or SecretStr(_opal_token_file(settings.data_dir))
    return settings.model_copy(update={"database_url": url, "redis_url": None, "opal_tokens": opal})


def _opal_token_file(data_dir: Path) -> str:
    """The demo's OPAL read token, kept (mode 0600) in the data dir; created on first use."""
    from pip_service.auth.service import generate_token

    path = data_dir / OPAL_TOKEN_FILE
    if path.exists():
        return path.read_text().strip()
    data_dir.mkdir(parents=True, exist_ok=True)
    token = generate_token()
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(token + "\n")
    err.print(f"created the demo OPAL read token (kept in {path}; shown only this once):")
    typer.echo(f"  {token}", err=True)
    return token


async def _is_seeded(settings: Settings) -> bool:
    async with started(settings) as runtime, runtime.sessions() as session:
        query = select(Connection.last_success_at).where(
            Connection.name == DEMO_CONNECTION_NAME, Connection.is_demo.is_(True)
        )
        return await session.scalar(query) is not None


async def _seed(settings: Settings, overrides: dict[str, Any]) -> SeedResult:
    from pip_service.demo.service import seed_demo as seed

    async with started(settings) as runtime:
        columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                   TimeElapsedColumn())  # fmt: skip
        with Progress(*columns, console=err) as progress:
            task = progress.add_task("seeding demo data", total=None)

            def show(figures: SeedProgress) -> None:
                progress.update(task, total=figures.total, completed=figures.records,
                                description=f"seeding demo {figures.stream}")  # fmt: skip

            return await seed(
                sessions=runtime.sessions, keyring=runtime.keyring, locks=runtime.locks,
                overrides=overrides, actor=actor(), on_progress=show,
                on_committed=runtime.on_committed,
            )  # fmt: skip


def _report_seed(result: SeedResult) -> None:
    if not result.ok:
        raise fail(f"demo seeding {result.sync.status}: {result.sync.error}", FAILED)
    counts = ", ".join(f"{count:,} {stream}" for stream, count in sorted(result.counts.items()))
    out.print(f"seeded demo data in {result.elapsed_seconds:.1f} s: {counts}")


async def _admin_token_if_none(settings: Settings) -> str | None:
    """Create a ``demo-admin`` token when no admin token exists; its plaintext, else None."""
    from pip_service.auth.service import create_token

    if settings.bootstrap_admin_token is not None:
        return None
    async with started(settings) as runtime, transaction(runtime.sessions) as session:
        query = select(ApiToken.id).where(ApiToken.role == Role.ADMIN.value)
        if await session.scalar(query.where(ApiToken.revoked_at.is_(None))) is not None:
            return None
        issued = await create_token(session, name="demo-admin", role=Role.ADMIN, actor=actor())
        return issued.plaintext


def _print_welcome(settings: Settings, host: str, port: int, admin: str | None) -> None:
    from opal.config import opal_environment

    base = f"http://{host}:{port}"
    out.print(f"\nPIP service demo at {base}  (API docs: {base}/docs, metrics: {base}/metrics)")
    if admin:
        out.print("admin API token (shown only this once):")
        typer.echo(f"  {admin}")
    token_file = settings.data_dir / OPAL_TOKEN_FILE
    out.print(f"OPAL read token: in {token_file} (PIP_OPAL_TOKENS)")
    out.print("a document:")
    header = f'"Authorization: Bearer $(cat {token_file})"'
    typer.echo(f"  curl --compressed -H {header} {base}/opal/pip-data/identity/users | head -c 600")
    out.print("OPAL server and client environment:")
    public = settings.model_copy(update={"public_url": base})
    for key, value in opal_environment(public, f"$(cat {token_file})").items():
        typer.echo(f"  {key}={value}")
