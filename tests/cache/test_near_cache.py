"""The near cache in front of Redis: two replicas on one real Redis, clocks moved by hand."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Callable

import pytest
import redis

from pip_service.cache import RedisCache, create_cache
from pip_service.cache.near import NearStore
from tests.cache.redis_server import RedisServer, free_port
from tests.documents.helpers import settings

REDIS_DB14 = "redis://127.0.0.1:6379/14"
"""The shared Redis, database 14: only these tests' keys (a fresh prefix per test)."""


class Ticks:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class Replicas:
    """Near-cached RedisCaches of several 'replicas' sharing one Redis database and prefix."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.prefix = f"near-{uuid.uuid4().hex}:"
        self.made: list[RedisCache] = []

    def replica(
        self, clock: Callable[[], float], *, cls: type[RedisCache] = RedisCache
    ) -> RedisCache:
        cache = cls(self.url, prefix=self.prefix, near_seconds=1.0, clock=clock, retry_after=0)
        self.made.append(cache)
        return cache

    def raw(self) -> redis.Redis:
        return redis.Redis.from_url(self.url)

    async def close(self) -> None:
        for cache in self.made:
            await cache.close()
        client = self.raw()
        try:
            for key in client.scan_iter(match=f"{self.prefix}*"):
                client.delete(key)
        finally:
            client.close()


@pytest.fixture
async def replicas() -> AsyncIterator[Replicas]:
    group = Replicas(REDIS_DB14)
    yield group
    await group.close()


async def test_another_replica_sees_a_new_value_within_the_near_window(
    replicas: Replicas,
) -> None:
    clock_a, clock_b = Ticks(), Ticks()
    a, b = replicas.replica(clock_a), replicas.replica(clock_b)
    assert await b.set("doc:x:meta", b"rev-1", ttl=60)
    assert await a.get("doc:x:meta") == b"rev-1"  # now kept near in replica a

    assert await b.set("doc:x:meta", b"rev-2", ttl=60)
    assert await b.get("doc:x:meta") == b"rev-2"  # the writer sees its own write at once
    clock_a.advance(0.5)
    assert await a.get("doc:x:meta") == b"rev-1"  # served near, no round trip
    clock_a.advance(0.5)
    assert await a.get("doc:x:meta") == b"rev-2"  # 1 s later: the new value


async def test_a_delete_by_another_replica_is_seen_within_the_window(replicas: Replicas) -> None:
    clock_a = Ticks()
    a, b = replicas.replica(clock_a), replicas.replica(Ticks())
    assert await b.set("k", b"v", ttl=60)
    assert await a.get("k") == b"v"
    await b.delete("k")

    clock_a.advance(1.0)
    assert await a.get("k") is None


async def test_nothing_is_served_near_past_its_redis_expiry(replicas: Replicas) -> None:
    clock_a = Ticks()
    a, b = replicas.replica(clock_a), replicas.replica(Ticks())
    assert await b.set("short", b"v", ttl=0.6)
    assert await a.get("short") == b"v"  # read with 0.6 s or less left in Redis

    time.sleep(0.65)  # the Redis entry expires (real time); under the 1 s near window
    clock_a.advance(0.65)
    assert await a.get("short") is None


async def test_a_local_write_is_kept_no_longer_than_its_ttl(replicas: Replicas) -> None:
    clock = Ticks()
    a = replicas.replica(clock)
    assert await a.set("short", b"v", ttl=0.2)
    client = replicas.raw()
    try:
        client.set(f"{replicas.prefix}short", b"other", px=60_000)  # behind a's back
    finally:
        client.close()

    assert await a.get("short") == b"v"  # kept near
    clock.advance(0.2)
    assert await a.get("short") == b"other"  # past the written TTL: read from Redis again


async def test_values_over_the_size_cap_are_not_kept_near(replicas: Replicas) -> None:
    clock_a = Ticks()
    a, b = replicas.replica(clock_a), replicas.replica(Ticks())
    small, big = b"s" * (64 * 1024), b"b" * (64 * 1024 + 1)
    assert await b.set("small", small, ttl=60)
    assert await b.set("big", big, ttl=60)
    assert await a.get("small") == small
    assert await a.get("big") == big
    assert await a.set("big-local", big, ttl=60)

    assert await b.set("small", b"new", ttl=60)
    assert await b.set("big", b"new", ttl=60)
    assert await b.set("big-local", b"new", ttl=60)
    assert await a.get("small") == small  # at the cap: kept near for the window
    assert await a.get("big") == b"new"  # over it: every read goes to Redis
    assert await a.get("big-local") == b"new"


class PausedRead(RedisCache):
    """A RedisCache whose reads hold their Redis reply until ``release`` is set."""

    reply_in: asyncio.Event
    release: asyncio.Event

    async def _get_with_pttl(self, full_key: str) -> tuple[object, object]:
        reply = await super()._get_with_pttl(full_key)
        self.reply_in.set()
        await self.release.wait()
        return reply


@pytest.mark.parametrize("local_change", ["set", "delete"])
async def test_a_read_in_flight_during_a_local_write_does_not_put_back_the_old_value(
    replicas: Replicas, local_change: str
) -> None:
    a = replicas.replica(Ticks(), cls=PausedRead)
    assert isinstance(a, PausedRead)
    a.reply_in, a.release = asyncio.Event(), asyncio.Event()
    assert await a.set("k", b"old", ttl=60)
    a.near.clear()  # forget the write: the next read goes to Redis

    reading = asyncio.create_task(a.get("k"))
    await a.reply_in.wait()  # the read holds b"old" from Redis
    if local_change == "set":
        assert await a.set("k", b"new", ttl=60)
    else:
        await a.delete("k")
    a.release.set()
    assert await reading == b"old"  # what Redis held when it was read

    expected = b"new" if local_change == "set" else None
    assert await a.get("k") == expected
    assert await a.get("k") == expected


async def test_unreachable_redis_answers_misses_and_serves_no_unwritten_value() -> None:
    clock = Ticks()
    cache = RedisCache(
        f"redis://127.0.0.1:{free_port()}/14", near_seconds=1.0, clock=clock, retry_after=0
    )
    try:
        assert not await cache.set("k", b"v", ttl=60)
        assert await cache.get("k") is None  # the refused write is not served near
        assert not await cache.ping()
    finally:
        await cache.close()
    assert not cache.available


async def test_a_failed_write_drops_the_value_kept_near(redis_server: RedisServer) -> None:
    clock = Ticks()
    cache = RedisCache(redis_server.url, near_seconds=1.0, clock=clock, retry_after=0)
    try:
        assert await cache.set("k", b"v1", ttl=60)
        assert await cache.get("k") == b"v1"
        redis_server.stop()

        assert not await cache.set("k", b"v2", ttl=60)
        assert await cache.get("k") is None  # neither the old nor the refused value
        redis_server.start()  # empty again: the value is gone for good
        assert await cache.get("k") is None
        assert await cache.set("k", b"v3", ttl=60)
        assert await cache.get("k") == b"v3"
    finally:
        await cache.close()


def test_near_store_bounds_its_entries_and_zero_seconds_keeps_nothing() -> None:
    clock = Ticks()
    off = NearStore(0.0, clock=clock)
    off.keep("k", b"v", None)
    assert off.get("k") is None

    store = NearStore(1.0, max_entries=3, clock=clock)
    for i in range(10):
        store.keep(f"k{i}", b"v", None)
    assert sum(store.get(f"k{i}") is not None for i in range(10)) <= 3
    assert store.get("k9") == b"v"


async def test_the_factory_turns_the_near_cache_on_for_redis_only() -> None:
    cache = create_cache(settings(redis_url=REDIS_DB14))
    memory = create_cache(settings())
    try:
        assert isinstance(cache, RedisCache)
        assert cache.near.enabled and 0 < cache.near.seconds <= 1.0
        assert not isinstance(memory, RedisCache)
    finally:
        await cache.close()
        await memory.close()
