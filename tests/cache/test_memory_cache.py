"""MemoryCache: TTLs by an injected clock, bounded size, bytes in and out."""

from __future__ import annotations

from pip_service.cache import MemoryCache, create_cache
from tests.documents.helpers import settings


class Ticks:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


async def test_values_expire_after_their_ttl() -> None:
    clock = Ticks()
    cache = MemoryCache(clock=clock)
    assert await cache.set("a", b"1", ttl=10)

    clock.now = 9.9
    assert await cache.get("a") == b"1"
    clock.now = 10.0
    assert await cache.get("a") is None
    assert cache.size_bytes == 0


async def test_least_recently_used_values_are_evicted_beyond_the_bound() -> None:
    cache = MemoryCache(max_bytes=10)
    await cache.set("a", b"12345", ttl=60)
    await cache.set("b", b"12345", ttl=60)
    await cache.get("a")
    await cache.set("c", b"123", ttl=60)

    assert await cache.get("b") is None
    assert await cache.get("a") == b"12345" and await cache.get("c") == b"123"
    assert cache.size_bytes == 8
    assert not await cache.set("huge", b"x" * 11, ttl=60)


async def test_overwrite_delete_and_clear() -> None:
    cache = MemoryCache()
    await cache.set("a", b"1", ttl=60)
    await cache.set("a", b"22", ttl=60)
    assert await cache.get("a") == b"22" and cache.size_bytes == 2
    await cache.delete("a")
    assert await cache.get("a") is None
    await cache.set("b", b"1", ttl=60)
    cache.clear()
    assert await cache.get("b") is None and await cache.ping()


async def test_create_cache_picks_the_backend_from_settings() -> None:
    memory = create_cache(settings())
    redis = create_cache(settings(redis_url="redis://127.0.0.1:6379/0"))
    try:
        assert isinstance(memory, MemoryCache)
        assert type(redis).__name__ == "RedisCache"
    finally:
        await redis.close()
