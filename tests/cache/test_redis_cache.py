"""RedisCache against real Redis: round trips, failures answered as misses, logged once."""

from __future__ import annotations

import logging
import uuid
from collections.abc import AsyncIterator

import pytest
import redis

from pip_service.cache import RedisCache
from tests.cache.redis_server import RedisServer, free_port
from tests.conftest import REDIS_URL


@pytest.fixture
async def shared() -> AsyncIterator[RedisCache]:
    cache = RedisCache(REDIS_URL, prefix=f"test-{uuid.uuid4().hex}:")
    yield cache
    await cache.close()


async def test_round_trip_with_ttl_on_the_shared_redis(shared: RedisCache) -> None:
    assert await shared.ping()
    assert await shared.set("doc", b"\x1f\x8b binary", ttl=1.5)

    assert await shared.get("doc") == b"\x1f\x8b binary"
    client = redis.Redis.from_url(REDIS_URL)
    try:
        assert 0 < client.pttl(f"{shared.prefix}doc") <= 1500
    finally:
        client.close()
    await shared.delete("doc")
    assert await shared.get("doc") is None


async def test_unreachable_redis_answers_misses_and_logs_once_without_the_password(
    caplog: pytest.LogCaptureFixture,
) -> None:
    cache = RedisCache(f"redis://:s3cr3t-pw@127.0.0.1:{free_port()}/2", retry_after=0)
    caplog.set_level(logging.DEBUG)
    try:
        for _ in range(3):
            assert await cache.get("doc") is None
            assert not await cache.set("doc", b"x", ttl=10)
        assert not await cache.ping()
    finally:
        await cache.close()

    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1
    assert "127.0.0.1" in warnings[0].getMessage() and "/2" in warnings[0].getMessage()
    assert "s3cr3t-pw" not in caplog.text
    assert not cache.available


async def test_backs_off_after_a_failure_then_recovers(
    redis_server: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    now = [0.0]
    cache = RedisCache(redis_server.url, retry_after=5, clock=lambda: now[0])
    caplog.set_level(logging.INFO)
    try:
        assert await cache.set("k", b"v", ttl=60)
        redis_server.stop()
        assert await cache.get("k") is None
        redis_server.start()
        assert await cache.get("k") is None  # still backing off: no call made
        now[0] = 5.0
        assert await cache.set("k", b"v2", ttl=60)
        assert await cache.get("k") == b"v2"
    finally:
        await cache.close()
    assert any("is back" in r.getMessage() for r in caplog.records)
