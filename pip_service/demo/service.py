"""Seed the demo enterprise through the ordinary sync engine, and clear every trace of it.

Seeding creates (or reuses) a connection of type ``demo`` flagged ``is_demo`` and
runs it with :func:`pip_service.sync.engine.run_sync` like any source, so demo
records are stored, hashed, versioned and flagged exactly as real ones would be.
Clearing deletes demo connections with their records, cursors and runs, and
touches nothing that belongs to a real connection.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from connectors.demo import DemoConfig, DemoConnector, stream_counts
from pip_service.audit.service import record_event
from pip_service.connections.config import validate_config
from pip_service.connections.models import Connection, StreamCursor
from pip_service.connections.schemas import ConnectionUpdate
from pip_service.connections.service import create_connection, update_connection
from pip_service.errors import ConflictError
from pip_service.records.models import Record
from pip_service.secrets.crypto import KeyRing
from pip_service.sync.engine import SyncResult, run_sync
from pip_service.sync.locks import SyncLocks
from pip_service.sync.models import SyncRun, SyncStagedRecord
from pip_service.sync.progress import SyncProgress

logger = logging.getLogger(__name__)

DEMO_CONNECTION_NAME = "demo"
DEMO_ACTOR = "system:demo"
Sessions = async_sessionmaker[AsyncSession]


@dataclass(frozen=True)
class SeedProgress:
    """Where seeding is: the stream being generated and records so far, of the expected total."""

    stream: str
    stream_records: int
    stream_total: int
    records: int
    total: int
    elapsed_seconds: float
    records_per_second: float


SeedProgressCallback = Callable[[SeedProgress], Awaitable[None] | None]


@dataclass(frozen=True)
class SeedResult:
    """The demo connection and the outcome of the run that seeded it."""

    connection_id: int
    connection_name: str
    created_connection: bool
    counts: dict[str, int]
    sync: SyncResult
    elapsed_seconds: float

    @property
    def ok(self) -> bool:
        """Whether the run committed."""
        return self.sync.status == "success"


@dataclass(frozen=True)
class ClearResult:
    """What clearing removed; ``entities`` are the entity kinds whose documents must be rebuilt."""

    connections: int
    records: int
    cursors: int
    runs: int
    entities: set[str]


async def seed_demo(
    *,
    sessions: Sessions,
    keyring: KeyRing,
    locks: SyncLocks,
    overrides: Mapping[str, Any] | None = None,
    name: str = DEMO_CONNECTION_NAME,
    actor: str = DEMO_ACTOR,
    on_progress: SeedProgressCallback | None = None,
    cancel: asyncio.Event | None = None,
    on_committed: Callable[[SyncResult], Awaitable[None]] | None = None,
) -> SeedResult:
    """Create or reuse the demo connection with ``overrides`` of the defaults, then sync it in full.

    Bad ``overrides`` raise ConfigError naming the field (``config.devices``) and
    write nothing; a name taken by a real connection raises ConflictError. A run
    that fails is reported in ``sync`` (status, error), like any sync.
    """
    began = time.monotonic()
    config = validate_config(DemoConnector, dict(overrides or {}))
    assert isinstance(config, DemoConfig)
    connection_id, created = await _demo_connection(sessions, keyring, config, name, actor)
    counts = stream_counts(config)
    result = await run_sync(
        sessions=sessions,
        connection_id=connection_id,
        mode="full",
        trigger="demo",
        keyring=keyring,
        locks=locks,
        on_progress=_ProgressAdapter(counts, on_progress) if on_progress else None,
        cancel=cancel,
        on_committed=on_committed,
    )
    elapsed = round(time.monotonic() - began, 3)
    logger.info("demo seeding %s in %.1f s: %s records", result.status, elapsed, result.fetched)
    return SeedResult(connection_id, name, created, counts, result, elapsed)


async def _demo_connection(
    sessions: Sessions, keyring: KeyRing, config: DemoConfig, name: str, actor: str
) -> tuple[int, bool]:
    wanted = config.model_dump(mode="json")
    async with sessions.begin() as session:
        existing = await session.scalar(select(Connection).where(Connection.name == name))
        if existing is None:
            connection = await create_connection(
                session, name=name, connector_type=DemoConnector.slug, config=wanted,
                is_demo=True, actor=actor, keyring=keyring,
            )  # fmt: skip
            return connection.id, True
        _ensure_demo(existing)
        if existing.config != wanted:
            change = ConnectionUpdate(config=wanted)
            await update_connection(
                session, connection_id=existing.id, changes=change, actor=actor, keyring=keyring
            )
        return existing.id, False


def _ensure_demo(connection: Connection) -> None:
    if not connection.is_demo or connection.connector_type != DemoConnector.slug:
        raise ConflictError(
            f"connection {connection.name!r} is not a demo connection; pick another name",
            field="name",
        )


class _ProgressAdapter:
    """Turns the engine's cumulative figures into per-stream figures with totals."""

    def __init__(self, counts: dict[str, int], callback: SeedProgressCallback) -> None:
        self.counts = counts
        self.total = sum(counts.values())
        self.callback = callback
        self.done_before: dict[str, int] = {}

    async def __call__(self, progress: SyncProgress) -> None:
        if progress.stream not in self.done_before:
            self.done_before[progress.stream] = self._finished_records()
        seeded = SeedProgress(
            stream=progress.stream,
            stream_records=progress.records - self.done_before[progress.stream],
            stream_total=self.counts.get(progress.stream, 0),
            records=progress.records,
            total=self.total,
            elapsed_seconds=progress.elapsed_seconds,
            records_per_second=progress.records_per_second,
        )
        outcome = self.callback(seeded)
        if isinstance(outcome, Awaitable):
            await outcome

    def _finished_records(self) -> int:
        return sum(self.counts.get(stream, 0) for stream in self.done_before)


async def clear_demo(*, sessions: Sessions, actor: str = DEMO_ACTOR) -> ClearResult:
    """Delete every demo connection with its records, cursors and runs, in one transaction."""
    async with sessions.begin() as session:
        ids = list(await session.scalars(select(Connection.id).where(Connection.is_demo.is_(True))))
        entities = await _entities(session, ids)
        runs = select(SyncRun.id).where(SyncRun.connection_id.in_(ids))
        await session.execute(delete(SyncStagedRecord).where(SyncStagedRecord.run_id.in_(runs)))
        records = await _delete(session, Record, Record.connection_id, ids)
        cursors = await _delete(session, StreamCursor, StreamCursor.connection_id, ids)
        run_count = await _delete(session, SyncRun, SyncRun.connection_id, ids)
        connections = await _delete(session, Connection, Connection.id, ids)
        result = ClearResult(connections, records, cursors, run_count, entities)
        if ids:
            await record_event(
                session, actor=actor, action="demo.clear", target_type="connection",
                details=_details(result, ids),
            )  # fmt: skip
    logger.info("cleared demo data: %s", _details(result, ids))
    return result


async def _entities(session: AsyncSession, ids: list[int]) -> set[str]:
    query = select(Record.entity).where(Record.connection_id.in_(ids)).distinct()
    return set(await session.scalars(query))


async def _delete(session: AsyncSession, model: type[Any], column: Any, ids: list[int]) -> int:
    """Delete the rows of ``model`` whose ``column`` is in ``ids``; how many there were."""
    result = await session.execute(
        delete(model).where(column.in_(ids)).execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def _details(result: ClearResult, ids: list[int]) -> dict[str, Any]:
    return {
        "connection_ids": ids,
        "connections": result.connections,
        "records": result.records,
        "cursors": result.cursors,
        "runs": result.runs,
    }
