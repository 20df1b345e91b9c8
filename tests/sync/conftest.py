"""Fixtures of the sync tests: the memory connector, a key ring, locks and a connection."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from pip_service.connections.models import Connection
from pip_service.connections.service import create_connection
from pip_service.secrets.crypto import KeyRing, generate_key
from pip_service.sync.engine import SyncResult, run_sync
from pip_service.sync.locks import FileLocks, PostgresLocks, SyncLocks
from tests.conftest import Database
from tests.sync.source import FakeSource, fake_source, install

__all__ = ["fake_source"]

TOKEN = "s3cr3t-T0KEN-value"
Sync = Callable[..., Awaitable[SyncResult]]


@pytest.fixture(autouse=True)
def memory_connector(monkeypatch: pytest.MonkeyPatch) -> None:
    """Register the test connectors for the test."""
    install(monkeypatch)


@pytest.fixture
def key_spec() -> str:
    """``PIP_ENCRYPTION_KEYS`` of the test: one fresh key."""
    return f"test1:{generate_key()}"


@pytest.fixture
def keyring(key_spec: str) -> KeyRing:
    """The ring of ``key_spec``."""
    return KeyRing.parse(key_spec)


@pytest.fixture
async def locks(db: Database, tmp_path: Path) -> AsyncIterator[SyncLocks]:
    """The lock backend production would use with this database (file or advisory)."""
    backend: SyncLocks = (
        FileLocks(tmp_path / "locks") if db.backend == "sqlite" else PostgresLocks(db.url)
    )
    yield backend
    await backend.aclose()


@pytest.fixture
def connect(db: Database, keyring: KeyRing, fake_source: FakeSource) -> Callable[..., Any]:
    """Create a connection reading ``fake_source``."""

    made: list[int] = []

    async def make(connector_type: str = "memory", **config: Any) -> Connection:
        made.append(1)
        async with db.sessions.begin() as session:
            return await create_connection(
                session,
                name=f"conn-{connector_type}-{len(made)}",
                connector_type=connector_type,
                config={"source": fake_source.name, "api_token": TOKEN, **config},
                actor="test",
                keyring=keyring,
            )

    return make


@pytest.fixture
def sync(db: Database, keyring: KeyRing, locks: SyncLocks) -> Sync:
    """Run a sync with the test's database, keys and locks."""

    async def run(connection_id: int, **kwargs: Any) -> SyncResult:
        kwargs.setdefault("cancel", asyncio.Event())
        return await run_sync(
            sessions=db.sessions,
            connection_id=connection_id,
            keyring=keyring,
            locks=locks,
            **kwargs,
        )

    return run
