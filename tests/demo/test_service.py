"""Seeding demo data through the sync engine, and clearing it without touching real data."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from pip_service.audit.models import AuditEvent
from pip_service.connections.models import Connection, StreamCursor
from pip_service.connections.service import create_connection
from pip_service.demo import SeedProgress, clear_demo, seed_demo
from pip_service.errors import ConfigError, ConflictError
from pip_service.records.models import Record
from pip_service.secrets.crypto import KeyRing
from pip_service.sync.engine import run_sync
from pip_service.sync.locks import SyncLocks
from pip_service.sync.models import SyncRun
from tests.conftest import Database

SMALL: dict[str, Any] = {
    "users": 40,
    "devices": 300,
    "applications": 30,
    "deployments": 60,
    "changes": 10,
    "audit_events": 200,
    "now": "2026-01-06T00:00:00Z",
}
TOTAL = 40 + 12 + 300 + 30 + 60 + 10 + 200


async def count(db: Database, model: type[Any], *where: Any) -> int:
    async with db.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(model).where(*where)))


async def add_real_source(db: Database, keyring: KeyRing, locks: SyncLocks) -> int:
    """A real (non-demo) connection, synced, with 25 records."""
    async with db.sessions.begin() as session:
        connection = await create_connection(
            session, name="cmdb", connector_type="inventory", config={}, actor="test",
            keyring=keyring,
        )  # fmt: skip
    result = await run_sync(
        sessions=db.sessions, connection_id=connection.id, keyring=keyring, locks=locks
    )
    assert result.status == "success" and result.created == 25
    return connection.id


async def test_seeding_runs_the_demo_source_through_the_engine(
    db: Database, keyring: KeyRing, locks: SyncLocks
) -> None:
    seen: list[SeedProgress] = []
    result = await seed_demo(
        sessions=db.sessions, keyring=keyring, locks=locks, overrides=SMALL,
        on_progress=seen.append,
    )  # fmt: skip
    assert result.ok and result.created_connection
    assert result.sync.created == TOTAL and result.sync.fetched == TOTAL
    assert result.counts["devices"] == 300 and sum(result.counts.values()) == TOTAL
    assert {"user", "group", "device", "application", "deployment", "change"} <= (
        result.sync.changed_entities
    )
    assert await count(db, Record, Record.is_demo.is_(True)) == TOTAL
    assert await count(db, Record, Record.is_demo.is_(False)) == 0
    assert await count(db, Record, Record.stream == "devices") == 300
    async with db.sessions() as session:
        connection = await session.get(Connection, result.connection_id)
    assert connection is not None and connection.is_demo and connection.name == "demo"
    assert connection.last_sync_status == "success"
    assert [p.records for p in seen] == sorted(p.records for p in seen)
    assert seen[-1].records == seen[-1].total == TOTAL
    devices = [p for p in seen if p.stream == "devices"]
    assert devices[-1].stream_records == devices[-1].stream_total == 300


async def test_seeding_again_reuses_the_connection_and_writes_nothing_new(
    db: Database, keyring: KeyRing, locks: SyncLocks
) -> None:
    first = await seed_demo(sessions=db.sessions, keyring=keyring, locks=locks, overrides=SMALL)
    again = await seed_demo(sessions=db.sessions, keyring=keyring, locks=locks, overrides=SMALL)
    assert again.ok and not again.created_connection
    assert again.connection_id == first.connection_id
    assert (again.sync.created, again.sync.updated, again.sync.unchanged) == (0, 0, TOTAL)
    assert again.sync.changed_entities == set()
    assert await count(db, Connection) == 1


async def test_reseeding_with_other_counts_changes_the_demo_data(
    db: Database, keyring: KeyRing, locks: SyncLocks
) -> None:
    await seed_demo(sessions=db.sessions, keyring=keyring, locks=locks, overrides=SMALL)
    smaller = {**SMALL, "devices": 200}
    result = await seed_demo(sessions=db.sessions, keyring=keyring, locks=locks, overrides=smaller)
    assert result.ok and result.sync.deleted == 100
    live = (Record.stream == "devices", Record.deleted_at.is_(None))
    assert await count(db, Record, *live) == 200
    async with db.sessions() as session:
        connection = await session.get(Connection, result.connection_id)
    assert connection is not None and connection.config["devices"] == 200


async def test_clearing_removes_demo_data_and_nothing_else(
    db: Database, keyring: KeyRing, locks: SyncLocks
) -> None:
    real_id = await add_real_source(db, keyring, locks)
    seeded = await seed_demo(sessions=db.sessions, keyring=keyring, locks=locks, overrides=SMALL)

    cleared = await clear_demo(sessions=db.sessions)

    assert (cleared.connections, cleared.records, cleared.runs) == (1, TOTAL, 1)
    assert "device" in cleared.entities and "audit_event" in cleared.entities
    assert await count(db, Connection, Connection.id == seeded.connection_id) == 0
    assert await count(db, SyncRun, SyncRun.connection_id == seeded.connection_id) == 0
    assert await count(db, StreamCursor, StreamCursor.connection_id == seeded.connection_id) == 0
    assert await count(db, Record, Record.is_demo.is_(True)) == 0
    assert await count(db, Record, Record.connection_id == real_id) == 25
    assert await count(db, SyncRun, SyncRun.connection_id == real_id) == 1
    assert await count(db, AuditEvent, AuditEvent.action == "demo.clear") == 1
    again = await clear_demo(sessions=db.sessions)
    assert (again.connections, again.records, again.runs) == (0, 0, 0)


async def test_bad_overrides_name_the_field_and_write_nothing(
    db: Database, keyring: KeyRing, locks: SyncLocks
) -> None:
    with pytest.raises(ConfigError) as caught:
        await seed_demo(
            sessions=db.sessions, keyring=keyring, locks=locks,
            overrides={**SMALL, "devices": -5, "colour": "blue"},
        )  # fmt: skip
    assert "config.devices" in caught.value.message and "config.colour" in caught.value.message
    assert await count(db, Connection) == 0
    assert await count(db, SyncRun) == 0
    assert await count(db, Record) == 0


async def test_a_real_connection_named_demo_is_left_alone(
    db: Database, keyring: KeyRing, locks: SyncLocks
) -> None:
    async with db.sessions.begin() as session:
        await create_connection(
            session, name="demo", connector_type="inventory", config={}, actor="test",
            keyring=keyring,
        )  # fmt: skip
    with pytest.raises(ConflictError, match="not a demo connection"):
        await seed_demo(sessions=db.sessions, keyring=keyring, locks=locks, overrides=SMALL)
    assert await count(db, SyncRun) == 0
    cleared = await clear_demo(sessions=db.sessions)
    assert cleared.connections == 0 and await count(db, Connection) == 1
