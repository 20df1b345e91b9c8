"""Running connections through the real sync engine on the test databases (SQLite and PostgreSQL).

:class:`EngineRig` holds a key ring and the lock backend production uses with
the database; it creates connections (config validated and secrets encrypted
by the service) and runs them with ``run_sync``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select

from pip_service.connections.models import Connection
from pip_service.connections.service import create_connection
from pip_service.records.models import Record
from pip_service.secrets.crypto import KeyRing, generate_key
from pip_service.sync.engine import RequestedMode, SyncResult, run_sync
from pip_service.sync.locks import FileLocks, PostgresLocks, SyncLocks
from tests.conftest import Database


@dataclass
class EngineRig:
    """A key ring and locks for one test database; creates connections and runs syncs."""

    db: Database
    keyring: KeyRing
    locks: SyncLocks

    @classmethod
    def open(cls, db: Database, tmp_path: Path) -> EngineRig:
        """A rig with a fresh key and the lock backend production uses with ``db``."""
        locks: SyncLocks = (
            FileLocks(tmp_path / "locks") if db.backend == "sqlite" else PostgresLocks(db.url)
        )
        return cls(db, KeyRing.parse(f"test1:{generate_key()}"), locks)

    async def connect(self, name: str, slug: str, config: dict[str, Any]) -> int:
        """Create a connection; its id."""
        async with self.db.sessions.begin() as session:
            connection = await create_connection(
                session,
                name=name,
                connector_type=slug,
                config=config,
                actor="test",
                keyring=self.keyring,
            )
            return connection.id

    async def sync(self, connection_id: int, mode: RequestedMode = "full") -> SyncResult:
        """One run of the connection through the engine (None: the engine picks the mode)."""
        return await run_sync(
            sessions=self.db.sessions,
            connection_id=connection_id,
            mode=mode,
            keyring=self.keyring,
            locks=self.locks,
        )

    async def records(self, connection_id: int) -> dict[str, dict[str, Any]]:
        """Live records of a connection: ``stream/external id`` → data."""
        rows = await self.live_rows(connection_id)
        return {f"{r.stream}/{r.external_id}": dict(r.data) for r in rows}

    async def stored(self, connection_id: int, stream: str | None = None) -> dict[str, Record]:
        """Live record rows of a connection's ``stream`` by external id."""
        return {row.external_id: row for row in await self.live_rows(connection_id, stream)}

    async def live_rows(self, connection_id: int, stream: str | None = None) -> list[Record]:
        """Live (not deleted) record rows of a connection (of one ``stream``)."""
        query = select(Record).where(
            Record.connection_id == connection_id, Record.deleted_at.is_(None)
        )
        if stream is not None:
            query = query.where(Record.stream == stream)
        async with self.db.sessions() as session:
            return list(await session.scalars(query))

    async def connection(self, connection_id: int) -> Connection:
        """The connection row as stored now."""
        async with self.db.sessions() as session:
            found = await session.get(Connection, connection_id)
            assert found is not None
            return found

    async def aclose(self) -> None:
        """Release the lock backend."""
        await self.locks.aclose()


@asynccontextmanager
async def engine_rig(db: Database, tmp_path: Path) -> AsyncIterator[EngineRig]:
    """An :class:`EngineRig` on ``db``, its locks released at the end."""
    rig = EngineRig.open(db, tmp_path)
    try:
        yield rig
    finally:
        await rig.aclose()
