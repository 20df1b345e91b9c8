"""The scheduler: a job per schedulable connection, skips, manual triggers, the circuit breaker."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from typing import Any

import pytest

from connectors.base.errors import TransientSourceError
from pip_service.config import Settings
from pip_service.connections.models import Connection
from pip_service.db.base import utcnow
from pip_service.sync.engine import SyncResult
from pip_service.sync.scheduler import SyncScheduler
from tests.conftest import Database
from tests.sync.conftest import Sync
from tests.sync.helpers import connection
from tests.sync.source import FakeSource


@pytest.fixture
def settings() -> Settings:
    return Settings(scheduler_jitter_seconds=7, circuit_breaker_base_seconds=60)


@pytest.fixture
async def scheduler(db: Database, settings: Settings, sync: Sync) -> AsyncIterator[SyncScheduler]:
    async def runner(connection_id: int, trigger: str) -> SyncResult:
        return await sync(connection_id, trigger=trigger)

    made = SyncScheduler(settings=settings, sessions=db.sessions, runner=runner)
    await made.start()
    yield made
    made.shutdown()
    await asyncio.sleep(0)


async def _edit(db: Database, connection_id: int, **values: Any) -> None:
    async with db.sessions.begin() as session:
        stored = await session.get(Connection, connection_id)
        assert stored is not None
        for key, value in values.items():
            setattr(stored, key, value)


async def test_one_job_per_schedulable_connection(
    db: Database, connect: Callable[..., Any], scheduler: SyncScheduler
) -> None:
    plain = await connect()
    custom = await connect(page_size=5)
    off = await connect(page_size=6)
    paused = await connect(page_size=7)
    await _edit(db, custom.id, interval_seconds=300)
    await _edit(db, off.id, enabled=False)
    await _edit(db, paused.id, state="paused")

    await scheduler.refresh()

    jobs = scheduler.scheduled()
    assert set(jobs) == {plain.id, custom.id}
    assert jobs[plain.id].trigger.interval == timedelta(seconds=720)  # 0.8 x confidential TTL
    assert jobs[custom.id].trigger.interval == timedelta(seconds=300)
    assert jobs[plain.id].trigger.jitter == 7
    assert (jobs[plain.id].coalesce, jobs[plain.id].max_instances) == (True, 1)
    assert jobs[plain.id].misfire_grace_time == 300


async def test_jobs_follow_connection_changes(
    db: Database, connect: Callable[..., Any], scheduler: SyncScheduler
) -> None:
    conn = await connect()
    await scheduler.refresh()
    await _edit(db, conn.id, interval_seconds=120)
    await scheduler.refresh()
    assert scheduler.scheduled()[conn.id].trigger.interval == timedelta(seconds=120)

    await _edit(db, conn.id, enabled=False)
    await scheduler.refresh()
    assert scheduler.scheduled() == {}

    await _edit(db, conn.id, enabled=True)
    await scheduler.refresh()
    async with db.sessions.begin() as session:
        await session.delete(await session.get(Connection, conn.id))
    await scheduler.refresh()
    assert scheduler.scheduled() == {}


async def test_trigger_now_runs_the_sync_soon(
    db: Database, fake_source: FakeSource, connect: Callable[..., Any], scheduler: SyncScheduler
) -> None:
    fake_source.fill(3)
    conn = await connect()

    scheduler.trigger_now(conn.id)

    for _ in range(600):
        if (await connection(db, conn.id)).last_sync_status == "success":
            break
        await asyncio.sleep(0.05)
    assert (await connection(db, conn.id)).last_sync_status == "success"


async def test_jobs_skip_connections_that_cannot_run(
    db: Database, fake_source: FakeSource, connect: Callable[..., Any], scheduler: SyncScheduler
) -> None:
    conn = await connect()
    for state in ("needs_reconnect", "paused"):
        await _edit(db, conn.id, state=state)
        assert await scheduler.run_job(conn.id) is None
    assert fake_source.pages_served == 0
    assert await scheduler.run_job(9999) is None  # a deleted connection is just dropped


async def test_breaker_opens_after_three_failures_and_closes_on_success(
    db: Database, fake_source: FakeSource, connect: Callable[..., Any], scheduler: SyncScheduler
) -> None:
    fake_source.fill(5)
    fake_source.fail(1, TransientSourceError("HTTP 503"))
    conn = await connect()

    results = [await scheduler.run_job(conn.id) for _ in range(3)]

    assert [r.status for r in results if r] == ["failed"] * 3
    opened = await connection(db, conn.id)
    assert (opened.state, opened.consecutive_failures) == ("circuit_open", 3)
    assert opened.circuit_open_until is not None
    remaining = opened.circuit_open_until - utcnow()
    assert timedelta(seconds=50) < remaining <= timedelta(seconds=60)
    assert "3 consecutive failed syncs; last: HTTP 503" in (opened.state_reason or "")

    served = fake_source.pages_served
    assert await scheduler.run_job(conn.id) is None  # skipped while open
    assert fake_source.pages_served == served

    await _edit(db, conn.id, circuit_open_until=utcnow() - timedelta(seconds=1))
    trial = await scheduler.run_job(conn.id)  # the trial run fails: open twice as long
    assert trial is not None and trial.status == "failed"
    reopened = await connection(db, conn.id)
    assert reopened.circuit_open_until is not None
    assert reopened.circuit_open_until - utcnow() > timedelta(seconds=100)

    fake_source.heal()
    forced = await scheduler.run_job(conn.id, "manual", True)  # what trigger_now does
    assert forced is not None and forced.status == "success"
    closed = await connection(db, conn.id)
    assert (closed.state, closed.consecutive_failures, closed.circuit_open_until) == (
        "active", 0, None,
    )  # fmt: skip
