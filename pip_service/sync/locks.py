"""One sync of a connection at a time, across threads, processes and replicas.

SyncLocks                    ``hold(connection_id)`` → a Lease, or ConflictError when taken
 ├── FileLocks               ``fcntl.flock`` on ``<data_dir>/locks/connection-<id>.lock``
 │                           (embedded SQLite: one machine; freed when the process dies)
 ├── PostgresLocks           ``pg_try_advisory_lock`` on a dedicated connection
 │                           (freed when that connection or the process dies)
 └── RedisLocks              a redis-py ``Lock`` with a TTL renewed while the run goes
                             (a killed holder's lock expires after the TTL)

A lease's ``lost`` event is set when the lock can no longer be vouched for (a
renewal failed, the lock connection dropped); the engine then abandons the run.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import os
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

from redis.asyncio import Redis
from redis.asyncio.lock import Lock as RedisLock
from redis.exceptions import LockError, RedisError
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool

from pip_service.config import Settings
from pip_service.db.session import is_sqlite
from pip_service.errors import ConflictError

logger = logging.getLogger(__name__)

ADVISORY_NAMESPACE = 0x50495053  # "PIPS": keeps our advisory locks apart from anyone else's
REDIS_KEY = "pip:sync-lock:connection:{}"


@dataclass
class Lease:
    """A held lock; ``lost`` is set when it can no longer be vouched for."""

    connection_id: int
    lost: asyncio.Event = field(default_factory=asyncio.Event)


def already_running(connection_id: int) -> ConflictError:
    """The error a second concurrent run of a connection gets."""
    return ConflictError(
        f"a sync of connection {connection_id} is already running",
        code="sync_running",
        connection_id=connection_id,
    )


class SyncLocks(ABC):
    """Hands out per-connection leases."""

    @abstractmethod
    def hold(self, connection_id: int) -> contextlib.AbstractAsyncContextManager[Lease]:
        """Hold the connection's lock for the ``async with`` body, or raise ConflictError."""

    async def aclose(self) -> None:  # noqa: B027 - most backends hold nothing
        """Release what the lock backend holds (connections, clients)."""


class FileLocks(SyncLocks):
    """``flock`` on one file per connection: the embedded default (one machine)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    @asynccontextmanager
    async def hold(self, connection_id: int) -> AsyncIterator[Lease]:
        """Hold ``connection-<id>.lock`` exclusively; the OS frees it if the process dies."""
        self.directory.mkdir(parents=True, exist_ok=True)
        path = self.directory / f"connection-{connection_id}.lock"
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as err:
            os.close(fd)
            raise already_running(connection_id) from err
        try:
            yield Lease(connection_id)
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)


class PostgresLocks(SyncLocks):
    """Session advisory locks, each on a connection of its own outside any pool."""

    def __init__(self, database_url: str, *, check_seconds: float = 20.0) -> None:
        self.engine: AsyncEngine = create_async_engine(
            database_url, poolclass=NullPool, isolation_level="AUTOCOMMIT"
        )
        self.check_seconds = check_seconds

    @asynccontextmanager
    async def hold(self, connection_id: int) -> AsyncIterator[Lease]:
        """Hold the advisory lock of the connection on a dedicated database connection."""
        key = {"ns": ADVISORY_NAMESPACE, "id": connection_id % 2**31}
        async with self.engine.connect() as conn:
            taken = await conn.scalar(text("SELECT pg_try_advisory_lock(:ns, :id)"), key)
            if not taken:
                raise already_running(connection_id)
            lease = Lease(connection_id)
            async with _watching(self.check_seconds, lambda: _ping(conn), lease):
                try:
                    yield lease
                finally:
                    await _unlock(conn, key)

    async def aclose(self) -> None:
        """Dispose of the lock engine."""
        await self.engine.dispose()


class RedisLocks(SyncLocks):
    """redis-py locks with a TTL, renewed every third of it while the run goes."""

    def __init__(self, redis: Redis, *, ttl_seconds: float) -> None:
        self.redis = redis
        self.ttl_seconds = ttl_seconds

    @classmethod
    def from_url(cls, url: str, *, ttl_seconds: float) -> RedisLocks:
        """Locks on the Redis server at ``url``."""
        return cls(Redis.from_url(url), ttl_seconds=ttl_seconds)

    @asynccontextmanager
    async def hold(self, connection_id: int) -> AsyncIterator[Lease]:
        """Hold the connection's Redis lock, renewing its TTL until the body ends."""
        lock = self.redis.lock(
            REDIS_KEY.format(connection_id),
            timeout=self.ttl_seconds,
            blocking=False,
            thread_local=False,
        )
        if not await lock.acquire():
            raise already_running(connection_id)
        lease = Lease(connection_id)
        try:
            async with _watching(self.ttl_seconds / 3, lock.reacquire, lease):
                yield lease
        finally:
            await _release_redis(lock, connection_id)

    async def aclose(self) -> None:
        """Close the Redis client."""
        await self.redis.aclose()


def make_locks(settings: Settings) -> SyncLocks:
    """Redis locks when Redis is configured, else PostgreSQL advisory locks, else file locks."""
    if settings.redis_url:
        return RedisLocks.from_url(settings.redis_url, ttl_seconds=settings.sync_lock_ttl_seconds)
    if not is_sqlite(settings.database_url):
        return PostgresLocks(settings.database_url)
    return FileLocks(settings.data_dir / "locks")


@asynccontextmanager
async def _watching(
    every: float, check: Callable[[], Awaitable[object]], lease: Lease
) -> AsyncIterator[None]:
    task = asyncio.create_task(_watch(every, check, lease))
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def _watch(every: float, check: Callable[[], Awaitable[object]], lease: Lease) -> None:
    while True:
        await asyncio.sleep(every)
        try:
            await check()
        except (LockError, RedisError, SQLAlchemyError, OSError) as err:
            logger.error("lost the sync lock of connection %s: %s", lease.connection_id, err)
            lease.lost.set()
            return


async def _ping(conn: AsyncConnection) -> None:
    await conn.execute(text("SELECT 1"))


async def _unlock(conn: AsyncConnection, key: dict[str, int]) -> None:
    try:
        await conn.execute(text("SELECT pg_advisory_unlock(:ns, :id)"), key)
    except SQLAlchemyError as err:  # the connection is going away: so is the lock
        logger.warning("could not unlock advisory lock %s: %s", key["id"], err)


async def _release_redis(lock: RedisLock, connection_id: int) -> None:
    try:
        await lock.release()
    except LockError:
        logger.warning("the sync lock of connection %s had already expired", connection_id)
