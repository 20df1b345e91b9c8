"""Documents through a cache that fails: reads go on from SQL, the cache is refilled."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy import update

from pip_service.cache import MemoryCache, RedisCache
from pip_service.documents.service import DocumentService
from pip_service.records.models import Record
from tests.cache.redis_server import RedisServer
from tests.conftest import Database
from tests.documents.helpers import add_connection, add_records, make_record, make_service


class SwitchableCache(MemoryCache):
    """A MemoryCache that can be 'down' (misses, refused writes) and keeps its old entries."""

    down = False

    async def get(self, key: str) -> bytes | None:
        return None if self.down else await super().get(key)

    async def set(self, key: str, value: bytes, *, ttl: float) -> bool:
        return False if self.down else await super().set(key, value, ttl=ttl)


async def _seed(db: Database, model: str = "A") -> None:
    cmdb = await add_connection(db, "CMDB", "servicenow")
    await add_records(db, make_record(cmdb, "device", "1", serial_number="S1", model=model))


async def _change_model(db: Database, model: str) -> None:
    async with db.sessions() as session, session.begin():
        data = {"serial_number": "S1", "model": model}
        await session.execute(update(Record).values(data=data, content_hash=model))


async def test_a_cache_back_with_old_entries_never_serves_them(db: Database) -> None:
    await _seed(db)
    cache = SwitchableCache()
    service = make_service(db, cache=cache)
    await service.rebuild()
    cache.down = True
    await _change_model(db, "B")
    await service.rebuild(["device"])  # the cache write is refused
    cache.down = False  # back, still holding revision 1

    served = await service.get("assets/devices")
    again = await service.get("assets/devices")

    assert served.revision == 2 and served.data()["S1"]["model"] == "B"
    assert again.revision == 2


@pytest.fixture
async def redis_service(
    db: Database, redis_server: RedisServer
) -> AsyncIterator[tuple[DocumentService, RedisCache]]:
    cache = RedisCache(redis_server.url, retry_after=0)
    yield make_service(db, cache=cache), cache
    await cache.close()


def _keys(server: RedisServer) -> list[bytes]:
    client = server.client()
    try:
        return sorted(
            k if isinstance(k, bytes) else k.encode()
            for k in client.keys("pip:doc:assets/devices:*")
        )
    finally:
        client.close()


async def test_flushed_redis_is_refilled_from_sql(
    db: Database, redis_server: RedisServer, redis_service: tuple[DocumentService, RedisCache]
) -> None:
    service, _cache = redis_service
    await _seed(db)
    await service.rebuild()
    before = await service.get("assets/devices")
    assert len(_keys(redis_server)) == 2

    client = redis_server.client()
    client.flushdb()
    client.close()
    after = await service.get("assets/devices")

    assert after.body_gz == before.body_gz and after.etag == before.etag
    assert len(_keys(redis_server)) == 2


async def test_redis_stopped_while_serving_then_back(
    db: Database, redis_server: RedisServer, redis_service: tuple[DocumentService, RedisCache]
) -> None:
    service, cache = redis_service
    await _seed(db)
    await service.rebuild()
    assert (await service.get("assets/devices")).revision == 1

    redis_server.stop()
    during = [await service.get("assets/devices") for _ in range(3)]
    await _change_model(db, "B")
    rebuilt, _index = await service.rebuild(["device"])
    changed = await service.get("assets/devices")
    meta = await service.get("meta")
    assert not cache.available

    redis_server.start()
    refilled = await service.get("assets/devices")

    assert all(d.revision == 1 and d.data()["S1"]["model"] == "A" for d in during)
    assert rebuilt.revision == 2 and changed.data()["S1"]["model"] == "B"
    assert meta.data()["assets/devices"]["revision"] == 2
    assert refilled.revision == 2 and cache.available
    keys = _keys(redis_server)
    assert f"pip:doc:assets/devices:body:{refilled.etag.strip(chr(34))}".encode() in keys
    client = redis_server.client()
    try:
        assert client.get(keys[0]) == refilled.body_gz
    finally:
        client.close()
