"""Shared pieces of the CLI: the app, one-line errors, settings, a started runtime.

Bad input (a wrong option, an unknown connection, an invalid config) prints one
line on stderr and exits with code 2, having written nothing; a failed
operation (a sync that fails, a connection test that fails) exits with 1.
"""

from __future__ import annotations

import asyncio
import getpass
import json
import sys
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.table import Table
from typer.core import TyperGroup
from typer.exceptions import TyperException

from pip_service.config import Settings
from pip_service.errors import ConfigError, ConflictError, NotFoundError, PipError
from pip_service.runtime import Runtime

out = Console(highlight=False)
err = Console(stderr=True, highlight=False)
BAD_INPUT = 2
FAILED = 1
_BAD_INPUT_ERRORS = (ConfigError, NotFoundError, ConflictError)


def fail(message: str, code: int = BAD_INPUT) -> typer.Exit:
    """Print ``error: message`` as one line on stderr; returns the Exit to raise."""
    typer.echo(f"error: {' '.join(message.split())}", err=True)
    return typer.Exit(code)


class OneLineErrors(TyperGroup):
    """Usage errors and the service's own errors as one line on stderr (exit 2 or 1)."""

    def main(  # type: ignore[override]
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        """Run the command; errors become one line on stderr and an exit code."""
        code = self._run(args, prog_name, complete_var, **extra)
        if not standalone_mode:
            return code
        sys.exit(code if isinstance(code, int) else 0)

    def _run(
        self,
        args: Sequence[str] | None,
        prog_name: str | None,
        complete_var: str | None,
        **extra: Any,
    ) -> Any:
        try:
            return super().main(args, prog_name, complete_var, False, **extra)
        except TyperException as error:  # Typer's own (vendored Click) usage errors
            return _usage_error(error)
        except typer.Abort:
            fail("aborted", FAILED)
            return FAILED
        except PipError as error:
            code = BAD_INPUT if isinstance(error, _BAD_INPUT_ERRORS) else FAILED
            fail(error.message, code)
            return code


def _usage_error(error: TyperException) -> int:
    if type(error).__name__ == "NoArgsIsHelpError":  # Typer has printed the help already
        return BAD_INPUT
    message = getattr(error, "format_message", lambda: str(error))()
    code = int(getattr(error, "exit_code", BAD_INPUT) or BAD_INPUT)
    fail(str(message), code)
    return code


app = typer.Typer(
    cls=OneLineErrors,
    name="pip-service",
    help="PIP service: a Policy Information Point for OPA, fed through OPAL.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
connections_app = typer.Typer(help="List, add and test connections.", no_args_is_help=True)
tokens_app = typer.Typer(help="API tokens.", no_args_is_help=True)
app.add_typer(connections_app, name="connections")
app.add_typer(tokens_app, name="tokens")


def load_settings(**overrides: Any) -> Settings:
    """Settings from the environment, with ``overrides``; bad values are bad input."""
    try:
        return Settings(**overrides)
    except ValueError as error:
        first = str(error).splitlines()
        raise fail(f"invalid settings: {' '.join(first[:3])}") from error


def actor() -> str:
    """The audit actor of CLI changes."""
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"


@asynccontextmanager
async def started(settings: Settings) -> AsyncIterator[Runtime]:
    """A started runtime without the scheduler, for one command."""
    runtime = Runtime(settings.model_copy(update={"scheduler_enabled": False}))
    await runtime.start()
    try:
        yield runtime
    finally:
        await runtime.stop()


def run(coro: Any) -> Any:
    """Run a coroutine to completion."""
    return asyncio.run(coro)


def parse_assignments(assignments: list[str]) -> dict[str, str]:
    """``key=value`` pairs as a dict; a pair without ``=`` is bad input."""
    values: dict[str, str] = {}
    for item in assignments:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise fail(f"--set expects key=value, got {item.split('=')[0]!r}")
        values[key.strip()] = value
    return values


def read_config_file(path: Path | None) -> dict[str, Any]:
    """A JSON object from ``--config-file``; missing files and bad JSON are bad input."""
    if path is None:
        return {}
    try:
        loaded = json.loads(path.read_text())
    except OSError as error:
        raise fail(f"cannot read config file {path}: {error.strerror}") from error
    except json.JSONDecodeError as error:
        raise fail(f"config file {path} is not valid JSON (line {error.lineno})") from error
    if not isinstance(loaded, dict):
        raise fail(f"config file {path} must hold a JSON object")
    return loaded


def table(title: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> Table:
    """A rich table."""
    result = Table(title=title)
    for column in columns:
        result.add_column(column)
    for row in rows:
        result.add_row(*("" if value is None else str(value) for value in row))
    return result
