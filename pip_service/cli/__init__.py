"""The ``pip-service`` command line (Typer), with rich progress bars on long work.

Bad input (a wrong option, an unknown connection, an invalid config) prints one
line on stderr and exits with code 2, having written nothing; a failed
operation (a sync or a connection test that fails) exits with 1.
"""

from pip_service.cli import admin, demo, keys, sync  # noqa: F401  (each registers its commands)
from pip_service.cli.base import app

__all__ = ["app", "main"]


def main() -> None:
    """Entry point of the ``pip-service`` console script."""
    app()
