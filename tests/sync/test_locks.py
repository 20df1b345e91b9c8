"""One run per connection: file, PostgreSQL advisory and Redis locks, and losing one mid-run."""

from __future__ import annotations

import asyncio
import os
import random
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from redis.asyncio import Redis

from pip_service.config import Settings
from pip_service.errors import ConflictError
from pip_service.secrets.crypto import KeyRing
from pip_service.sync.engine import run_sync
from pip_service.sync.locks import (
    REDIS_KEY,
    FileLocks,
    PostgresLocks,
    RedisLocks,
    SyncLocks,
    make_locks,
)
from tests.conftest import REDIS_URL, Database
from tests.sync.helpers import records
from tests.sync.source import FakeSource


@pytest.fixture
async def redis() -> AsyncIterator[Redis]:
    client = Redis.from_url(REDIS_URL)
    yield client
    await client.aclose()


def _any_id() -> int:
    return random.randint(10**6, 10**9)


async def _assert_exclusive(first: SyncLocks, second: SyncLocks, connection_id: int) -> None:
    async with first.hold(connection_id):
        with pytest.raises(ConflictError, match="already running"):
            async with second.hold(connection_id):
                pass
        async with second.hold(connection_id + 1):
            pass  # other connections are not affected
    async with second.hold(connection_id):
        pass  # released


async def test_file_locks_are_exclusive_even_within_one_process(tmp_path: Path) -> None:
    await _assert_exclusive(FileLocks(tmp_path), FileLocks(tmp_path), 7)
    assert (tmp_path / "connection-7.lock").exists()


async def test_postgres_advisory_locks_are_exclusive_across_engines(pg_db: Database) -> None:
    one, two = PostgresLocks(pg_db.url), PostgresLocks(pg_db.url)
    try:
        await _assert_exclusive(one, two, _any_id())
    finally:
        await one.aclose()
        await two.aclose()


async def test_redis_locks_are_exclusive_and_renewed_while_held(redis: Redis) -> None:
    one, two = RedisLocks(redis, ttl_seconds=0.6), RedisLocks(redis, ttl_seconds=0.6)
    connection_id = _any_id()
    await _assert_exclusive(one, two, connection_id)
    async with one.hold(connection_id) as lease:
        await asyncio.sleep(1.5)  # well past the TTL: the renewals keep it
        with pytest.raises(ConflictError):
            async with two.hold(connection_id):
                pass
        assert not lease.lost.is_set()


async def test_a_killed_holder_of_a_redis_lock_lets_it_expire(redis: Redis) -> None:
    connection_id = _any_id()
    code = (
        "import asyncio, sys\n"
        "from redis.asyncio import Redis\n"
        "from pip_service.sync.locks import RedisLocks\n"
        "async def main():\n"
        f"    locks = RedisLocks(Redis.from_url({REDIS_URL!r}), ttl_seconds=1)\n"
        f"    async with locks.hold({connection_id}):\n"
        "        print('held', flush=True)\n"
        "        await asyncio.sleep(60)\n"
        "asyncio.run(main())\n"
    )
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c", code, stdout=asyncio.subprocess.PIPE, cwd=Path(__file__).parents[2]
    )
    assert proc.stdout is not None
    assert (await asyncio.wait_for(proc.stdout.readline(), 30)).strip() == b"held"
    os.kill(proc.pid, signal.SIGKILL)
    await proc.wait()
    locks = RedisLocks(redis, ttl_seconds=1)
    with pytest.raises(ConflictError):
        async with locks.hold(connection_id):
            pass
    await asyncio.sleep(1.2)
    async with locks.hold(connection_id):
        pass


async def test_a_run_that_loses_its_lock_applies_nothing(
    db: Database, fake_source: FakeSource, keyring: KeyRing, redis: Redis, connect: Any
) -> None:
    fake_source.fill(60)
    fake_source.page_delay = 0.05
    conn = await connect()
    locks = RedisLocks(redis, ttl_seconds=0.3)

    async def steal(progress: Any) -> None:
        if progress.pages == 2:
            await redis.delete(REDIS_KEY.format(conn.id))  # e.g. expired during a long stall

    result = await run_sync(
        sessions=db.sessions, connection_id=conn.id, keyring=keyring, locks=locks,
        on_progress=steal,
    )  # fmt: skip

    assert (result.status, result.error_code) == ("failed", "lock_lost")
    assert await records(db, conn.id) == {}


def test_the_lock_backend_follows_the_deployment(tmp_path: Path) -> None:
    sqlite = Settings(database_url="sqlite+aiosqlite:///x.db", data_dir=tmp_path)
    postgres = Settings(database_url="postgresql+asyncpg://h/db", data_dir=tmp_path)
    with_redis = Settings(database_url="postgresql+asyncpg://h/db", redis_url=REDIS_URL)

    assert isinstance(make_locks(sqlite), FileLocks)
    assert make_locks(sqlite).directory == tmp_path / "locks"  # type: ignore[attr-defined]
    assert isinstance(make_locks(postgres), PostgresLocks)
    assert isinstance(make_locks(with_redis), RedisLocks)
