"""The Redis cache (redis-py asyncio). A Redis failure is logged once and answers a miss.

While Redis is down the cache stops trying for ``retry_after`` seconds after
each failure, so reads fall back to the SQL snapshots at full speed; the first
successful call afterwards logs the recovery. Log lines name the server as
``host:port/db`` and never carry the URL's password.

With ``near_seconds`` > 0 (what ``create_cache`` configures), small values read or
written are also kept in process for that long, never past their expiry in
Redis (``NearStore``): a hot read then costs no round trip, and a value written
by another replica is seen here within ``near_seconds``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar
from urllib.parse import urlsplit

from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

from pip_service.cache.near import NearStore

logger = logging.getLogger(__name__)

T = TypeVar("T")


class RedisCache:
    """A ``Cache`` on Redis; keys are prefixed so several services can share a database."""

    def __init__(
        self,
        url: str,
        *,
        prefix: str = "pip:",
        timeout: float = 2.0,
        retry_after: float = 1.0,
        near_seconds: float = 0.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.prefix = prefix
        self.near = NearStore(near_seconds, clock=clock)
        self.where = redacted_location(url)
        self._secret = urlsplit(url).password
        self._retry_after = retry_after
        self._clock = clock
        self._down_since: float | None = None
        self._client: Redis = Redis.from_url(
            url,
            socket_timeout=timeout,
            socket_connect_timeout=min(timeout, 0.5),
            retry=Retry(NoBackoff(), 1),
        )

    @property
    def available(self) -> bool:
        """False from a failure until the next successful call."""
        return self._down_since is None

    async def get(self, key: str) -> bytes | None:
        """The value, or None when missing, expired or Redis is down."""
        near = self.near.get(key)
        if near is not None:
            return near
        if self.near.enabled:
            return await self._get_keeping(key)
        value = await self._call(lambda: self._client.get(self.prefix + key), None)
        return _as_bytes(value)

    async def set(self, key: str, value: bytes, *, ttl: float) -> bool:
        """Store ``value`` for ``ttl`` seconds (millisecond precision); False when Redis is down."""
        millis = max(1, int(ttl * 1000))
        stored = bool(
            await self._call(lambda: self._client.set(self.prefix + key, value, px=millis), None)
        )
        if stored:
            self.near.keep(key, value, millis / 1000)
        else:
            self.near.drop(key)
        return stored

    async def delete(self, key: str) -> None:
        """Forget ``key`` (best effort)."""
        self.near.drop(key)
        await self._call(lambda: self._client.delete(self.prefix + key), 0)

    async def ping(self) -> bool:
        """Whether Redis answers now (tries even while backing off)."""
        return bool(await self._call(self._client.ping, False, force=True))

    async def close(self) -> None:
        """Close the connection pool."""
        self.near.clear()
        await self._client.aclose()

    async def _get_keeping(self, key: str) -> bytes | None:
        """GET and PTTL in one round trip; the value is kept near until then."""
        stamp = self.near.stamp()
        missing: tuple[object, object] = (None, -2)
        reply = await self._call(lambda: self._get_with_pttl(self.prefix + key), missing)
        value, pttl = _as_bytes(reply[0]), int(str(reply[1]))
        if value is not None and pttl != -2:
            self.near.keep_read(key, value, None if pttl == -1 else pttl / 1000, stamp)
        return value

    async def _get_with_pttl(self, full_key: str) -> tuple[object, object]:
        async with self._client.pipeline(transaction=False) as pipe:
            pipe.get(full_key)
            pipe.pttl(full_key)
            value, pttl = await pipe.execute()
        return value, pttl

    async def _call(
        self, command: Callable[[], Awaitable[T]], fallback: T, *, force: bool = False
    ) -> T:
        if not force and self._backing_off():
            return fallback
        try:
            result = await command()
        except (RedisError, OSError) as err:
            self._failed(err)
            return fallback
        self._succeeded()
        return result

    def _backing_off(self) -> bool:
        down = self._down_since
        return down is not None and self._clock() - down < self._retry_after

    def _failed(self, err: Exception) -> None:
        if self._down_since is None:
            logger.warning(
                "Redis cache at %s failed (%s: %s); serving from SQL snapshots until it is back",
                self.where,
                type(err).__name__,
                self._scrub(str(err)),
            )
        self._down_since = self._clock()

    def _succeeded(self) -> None:
        if self._down_since is not None:
            logger.info("Redis cache at %s is back", self.where)
        self._down_since = None

    def _scrub(self, text: str) -> str:
        return text.replace(self._secret, "***") if self._secret else text


def _as_bytes(value: object) -> bytes | None:
    if isinstance(value, str):
        return value.encode()
    return value if isinstance(value, bytes) else None


def redacted_location(url: str) -> str:
    """``host:port/db`` of a Redis URL, without user or password."""
    parts = urlsplit(url)
    database = parts.path.strip("/") or "0"
    return f"{parts.hostname or 'localhost'}:{parts.port or 6379}/{database}"
