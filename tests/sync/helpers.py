"""Reading back what a sync left in the database."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from pip_service.connections.models import Connection, StreamCursor
from pip_service.records.models import Record
from pip_service.sync.models import SyncRun, SyncStagedRecord
from tests.conftest import Database


async def records(db: Database, connection_id: int) -> dict[str, Record]:
    """Every record row of a connection (deleted ones too), by external id."""
    async with db.sessions() as session:
        rows = await session.scalars(select(Record).where(Record.connection_id == connection_id))
        return {row.external_id: row for row in rows}


async def snapshot(db: Database, connection_id: int) -> dict[str, tuple[Any, ...]]:
    """What a document could read of each record: data, hash, deletion, update time."""
    return {
        key: (row.data, row.content_hash, row.deleted_at, row.updated_at, row.last_run_id)
        for key, row in (await records(db, connection_id)).items()
    }


async def live(db: Database, connection_id: int) -> set[str]:
    """External ids of the records not marked deleted."""
    return {k for k, r in (await records(db, connection_id)).items() if r.deleted_at is None}


async def cursors(db: Database, connection_id: int) -> dict[str, dict[str, Any]]:
    """Saved cursors by stream."""
    async with db.sessions() as session:
        rows = await session.scalars(
            select(StreamCursor).where(StreamCursor.connection_id == connection_id)
        )
        return {row.stream: row.state for row in rows}


async def runs(db: Database, connection_id: int) -> list[SyncRun]:
    """Sync runs of a connection, oldest first."""
    async with db.sessions() as session:
        rows = await session.scalars(
            select(SyncRun).where(SyncRun.connection_id == connection_id).order_by(SyncRun.id)
        )
        return list(rows)


async def staged_count(db: Database) -> int:
    """Rows left in the staging table."""
    async with db.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(SyncStagedRecord)) or 0)


async def connection(db: Database, connection_id: int) -> Connection:
    """The connection row as stored now."""
    async with db.sessions() as session:
        found = await session.get(Connection, connection_id)
        assert found is not None
        return found
