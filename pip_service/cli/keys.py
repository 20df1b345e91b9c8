"""``pip-service keys``: generate a key, show which keys seal what, rotate, check."""

from __future__ import annotations

from typing import Annotated

import typer

from pip_service.cli.base import app, load_settings, out, run, table
from pip_service.config import Settings
from pip_service.db.session import create_engine, session_factory
from pip_service.runtime import prepare_database
from pip_service.secrets.crypto import KeyRing, generate_key
from pip_service.secrets.rotation import RotationReport, check_stored_keys, key_usage, rotate

keys_app = typer.Typer(
    help="Encryption keys: generate, status, rotate, check.", no_args_is_help=True
)
app.add_typer(keys_app, name="keys")


@keys_app.command("generate")
def generate(key_id: Annotated[str, typer.Argument(help="Id of the new key")] = "key2") -> None:
    """Print a new AES-256 key as ``kid:base64`` to append to PIP_ENCRYPTION_KEYS."""
    spec = f"{key_id}:{generate_key()}"
    KeyRing.parse(spec)  # validates the id
    typer.echo(spec)


@keys_app.command("status")
def status() -> None:
    """How many stored values each key id sealed, per column."""
    settings = load_settings()
    ring = KeyRing.from_settings(settings)
    usage = run(_usage(settings))
    rows = [(label, kid, count, _role(ring, kid)) for label, counts in usage.items()
            for kid, count in sorted(counts.items())]  # fmt: skip
    out.print(table("Sealed values by key", ["column", "key id", "values", "key"], rows))


@keys_app.command("rotate")
def rotate_command() -> None:
    """Re-encrypt every secret and token under the primary key (safe while the service runs)."""
    settings = load_settings()
    report: RotationReport = run(_rotate(settings))
    ring = KeyRing.from_settings(settings)
    per_column = ", ".join(f"{label} {count}" for label, count in sorted(report.rotated.items()))
    out.print(
        f"re-encrypted {report.total_rotated} values under key {ring.primary_key_id!r}"
        + (f" ({per_column})" if per_column else "")
        + f"; {sum(report.current.values())} already current"
    )


@keys_app.command("check")
def check() -> None:
    """Fail (exit 2) when a stored value's key is missing or wrong; what start-up checks."""
    run(_check(load_settings()))
    out.print("every stored secret and token opens with the configured keys")


def _role(ring: KeyRing, kid: str) -> str:
    if kid == ring.primary_key_id:
        return "primary"
    return "configured" if kid in ring.key_ids else "MISSING"


async def _usage(settings: Settings) -> dict[str, dict[str, int]]:
    engine = create_engine(settings.database_url)
    try:
        await prepare_database(settings.database_url, engine)
        return {k: dict(v) for k, v in (await key_usage(session_factory(engine))).items()}
    finally:
        await engine.dispose()


async def _rotate(settings: Settings) -> RotationReport:
    ring = KeyRing.from_settings(settings)
    engine = create_engine(settings.database_url)
    try:
        await prepare_database(settings.database_url, engine)
        return await rotate(session_factory(engine), ring)
    finally:
        await engine.dispose()


async def _check(settings: Settings) -> None:
    ring = KeyRing.from_settings(settings)
    engine = create_engine(settings.database_url)
    try:
        await prepare_database(settings.database_url, engine)
        await check_stored_keys(session_factory(engine), ring)
    finally:
        await engine.dispose()
