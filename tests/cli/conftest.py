"""Fixtures for CLI tests: an environment pointing at a fresh embedded database."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pip_service.secrets.crypto import generate_key


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """PIP_* settings for a SQLite file under ``tmp_path``; returns the database file."""
    for name in ("PIP_REDIS_URL", "PIP_BOOTSTRAP_ADMIN_TOKEN", "PIP_OPAL_TOKENS"):
        monkeypatch.delenv(name, raising=False)
    database = tmp_path / "pip.db"
    monkeypatch.setenv("PIP_DATABASE_URL", f"sqlite+aiosqlite:///{database}")
    monkeypatch.setenv("PIP_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("PIP_ENCRYPTION_KEYS", f"cli1:{generate_key()}")
    monkeypatch.setenv("PIP_SCHEDULER_ENABLED", "false")
    monkeypatch.setenv("PIP_LOG_JSON", "false")
    monkeypatch.chdir(tmp_path)
    return database


@pytest.fixture
def runner() -> CliRunner:
    """A Typer CLI runner."""
    return CliRunner()


def count(database: Path, table: str) -> int:
    """Rows in a table of the SQLite file (0 when the database does not exist yet)."""
    if not database.exists():
        return 0
    with sqlite3.connect(database) as conn:
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
        if table not in tables:
            return 0
        return int(conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0])
