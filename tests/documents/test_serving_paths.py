"""The fast serving paths: bodies kept in process, 304s without bodies, shared misses, replicas.

Replicas are DocumentServices sharing one database and one real Redis (database 14,
a fresh key prefix per test), each with its own near cache on a clock moved by hand.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import redis
from sqlalchemy import event, update

from connectors.base.types import Sensitivity
from pip_service.cache import MemoryCache, RedisCache
from pip_service.cache.base import Cache
from pip_service.documents.bodies import LocalBodies
from pip_service.documents.doccache import DocumentCache
from pip_service.documents.schemas import SnapshotMeta
from pip_service.documents.service import DocumentService
from pip_service.records.models import Record
from tests.cache.redis_server import free_port
from tests.conftest import Database
from tests.documents.helpers import T0, add_connection, add_records, make_record, make_service

REDIS_DB14 = "redis://127.0.0.1:6379/14"
DOC = "assets/devices"


class Ticks:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class Counting:
    """A Cache that records the keys read through it."""

    def __init__(self, inner: Cache) -> None:
        self.inner = inner
        self.reads: list[str] = []

    async def get(self, key: str) -> bytes | None:
        self.reads.append(key)
        return await self.inner.get(key)

    async def set(self, key: str, value: bytes, *, ttl: float) -> bool:
        return await self.inner.set(key, value, ttl=ttl)

    async def delete(self, key: str) -> None:
        await self.inner.delete(key)

    async def ping(self) -> bool:
        return await self.inner.ping()

    async def close(self) -> None:
        await self.inner.close()

    def body_reads(self) -> list[str]:
        return [key for key in self.reads if ":body:" in key]


@dataclass
class Replica:
    service: DocumentService
    cache: Counting
    near_clock: Ticks


@dataclass
class Cluster:
    """Replicas on one database and one Redis prefix."""

    db: Database
    prefix: str = field(default_factory=lambda: f"serve-{uuid.uuid4().hex}:")
    caches: list[RedisCache] = field(default_factory=list)

    def replica(self) -> Replica:
        clock = Ticks()
        redis_cache = RedisCache(
            REDIS_DB14, prefix=self.prefix, near_seconds=1.0, clock=clock, retry_after=0
        )
        self.caches.append(redis_cache)
        counting = Counting(redis_cache)
        return Replica(make_service(self.db, cache=counting), counting, clock)

    def redis_keys(self) -> list[str]:
        client = redis.Redis.from_url(REDIS_DB14)
        try:
            return sorted(
                (k.decode() if isinstance(k, bytes) else k).removeprefix(self.prefix)
                for k in client.scan_iter(match=f"{self.prefix}*")
            )
        finally:
            client.close()

    def flush_redis(self) -> None:
        client = redis.Redis.from_url(REDIS_DB14)
        try:
            for key in client.scan_iter(match=f"{self.prefix}*"):
                client.delete(key)
        finally:
            client.close()


@pytest.fixture
async def cluster(db: Database) -> AsyncIterator[Cluster]:
    group = Cluster(db)
    yield group
    for cache in group.caches:
        await cache.close()
    group.flush_redis()


@dataclass
class Statement:
    sql: str
    columns: list[str]


@pytest.fixture
def snapshot_reads(db: Database) -> Iterator[list[Statement]]:
    """Every SELECT on ``document_snapshots`` from now on, with the columns it returned."""
    seen: list[Statement] = []

    def after(conn: Any, cursor: Any, sql: str, *args: Any) -> None:
        if sql.lstrip().upper().startswith("SELECT") and "document_snapshots" in sql:
            columns = [str(col[0]).lower() for col in cursor.description or ()]
            seen.append(Statement(sql, columns))

    engine = db.engine.sync_engine
    event.listen(engine, "after_cursor_execute", after)
    yield seen
    event.remove(engine, "after_cursor_execute", after)


async def _seed(db: Database) -> None:
    cmdb = await add_connection(db, "CMDB", "servicenow")
    await add_records(db, make_record(cmdb, "device", "1", serial_number="S1", model="A"))


async def _change_model(db: Database, model: str) -> None:
    async with db.sessions() as session, session.begin():
        data = {"serial_number": "S1", "model": model}
        await session.execute(update(Record).values(data=data, content_hash=model))


# --- bodies kept in process -------------------------------------------------------------


def test_a_kept_body_expires_with_its_documents_ttl() -> None:
    clock = Ticks()
    bodies = LocalBodies(clock=clock)
    bodies.keep(DOC, '"e1"', b"body", ttl=30)

    clock.advance(29.9)
    assert bodies.get(DOC, '"e1"') == b"body"
    clock.advance(0.1)
    assert bodies.get(DOC, '"e1"') is None
    assert bodies.size_bytes == 0


def test_the_body_store_stays_within_its_byte_cap_evicting_the_least_recently_used() -> None:
    clock = Ticks()
    bodies = LocalBodies(max_bytes=100, clock=clock)
    bodies.keep("a", "1", b"a" * 40, ttl=60)
    bodies.keep("b", "1", b"b" * 40, ttl=60)
    assert bodies.get("a", "1") is not None  # a used last: b goes first

    bodies.keep("c", "1", b"c" * 40, ttl=60)
    assert bodies.size_bytes <= 100
    assert bodies.get("b", "1") is None
    assert bodies.get("a", "1") == b"a" * 40 and bodies.get("c", "1") == b"c" * 40

    bodies.keep("huge", "1", b"h" * 101, ttl=60)  # larger than the cap: not kept at all
    assert bodies.get("huge", "1") is None
    assert bodies.get("a", "1") is not None and bodies.get("c", "1") is not None
    assert bodies.size_bytes == 80


def test_expired_bodies_make_room_before_live_ones_are_evicted() -> None:
    clock = Ticks()
    bodies = LocalBodies(max_bytes=100, clock=clock)
    bodies.keep("short", "1", b"s" * 40, ttl=1)
    bodies.keep("long", "1", b"l" * 40, ttl=600)
    bodies.get("short", "1")  # most recently used, but about to expire
    clock.advance(2)

    bodies.keep("new", "1", b"n" * 40, ttl=600)
    assert bodies.get("long", "1") == b"l" * 40
    assert bodies.get("new", "1") == b"n" * 40
    assert bodies.size_bytes == 80


def _meta(etag: str = '"e1"') -> SnapshotMeta:
    return SnapshotMeta(
        name=DOC,
        revision=1,
        etag=etag,
        sensitivity=Sensitivity.INTERNAL,
        size=4,
        size_gz=4,
        entity_count=1,
        built_at=T0,
        refreshed_at=T0,
    )


async def test_a_body_past_its_ttl_is_read_from_the_shared_cache_again() -> None:
    clock = Ticks()
    shared = Counting(MemoryCache())
    cache = DocumentCache(shared, meta_seconds=5, bodies=LocalBodies(clock=clock))
    assert await cache.put(_meta(), b"body", ttl=30)

    assert await cache.get_body(DOC, '"e1"', 30) == b"body"
    assert shared.body_reads() == []  # served from process
    clock.advance(30)
    assert await cache.get_body(DOC, '"e1"', 30) == b"body"
    assert len(shared.body_reads()) == 1


# --- 304s: head() without the body ------------------------------------------------------


async def test_head_reads_no_body_key_from_the_cache(db: Database, cluster: Cluster) -> None:
    await _seed(db)
    writer, reader = cluster.replica(), cluster.replica()
    await writer.service.rebuild()
    served = await writer.service.get(DOC)
    writer.cache.reads.clear()

    for _ in range(3):
        head = await writer.service.head(DOC)
        assert (head.etag, head.revision) == (served.etag, served.revision)
    cold = await reader.service.head(DOC)  # another replica, nothing kept in process
    assert (cold.etag, cold.revision) == (served.etag, served.revision)

    assert writer.cache.body_reads() == [] and reader.cache.body_reads() == []
    assert any(key.endswith(":meta") for key in reader.cache.reads)
    full = await reader.service.complete(cold)  # the 200 path does read the body
    assert full.body_gz == served.body_gz
    assert len(reader.cache.body_reads()) == 1


async def test_a_metadata_miss_reads_no_body_from_sql(
    db: Database, cluster: Cluster, snapshot_reads: list[Statement]
) -> None:
    await _seed(db)
    replica = cluster.replica()
    await replica.service.rebuild()
    served = await replica.service.get(DOC)
    cluster.flush_redis()
    replica.near_clock.advance(1.0)
    snapshot_reads.clear()

    head = await replica.service.head(DOC)

    assert (head.etag, head.revision) == (served.etag, served.revision)
    assert len(snapshot_reads) == 1
    assert "body_gz" not in snapshot_reads[0].columns
    assert f"doc:{DOC}:meta" in cluster.redis_keys()  # refilled


# --- concurrent misses ------------------------------------------------------------------


async def test_eight_simultaneous_misses_make_one_sql_read_and_refill_the_cache(
    db: Database, cluster: Cluster, snapshot_reads: list[Statement]
) -> None:
    await _seed(db)
    replica = cluster.replica()
    await replica.service.rebuild()
    expected = await replica.service.get(DOC)
    cluster.flush_redis()
    replica.near_clock.advance(1.0)
    snapshot_reads.clear()

    served = await asyncio.gather(*(replica.service.get(DOC) for _ in range(8)))

    assert {(s.etag, s.body_gz) for s in served} == {(expected.etag, expected.body_gz)}
    assert len(snapshot_reads) == 1
    keys = cluster.redis_keys()
    assert f"doc:{DOC}:meta" in keys
    assert any(key.startswith(f"doc:{DOC}:body:") for key in keys)


async def test_simultaneous_misses_on_a_cold_replica_share_their_sql_reads(
    db: Database, cluster: Cluster, snapshot_reads: list[Statement]
) -> None:
    await _seed(db)
    writer = cluster.replica()
    await writer.service.rebuild()
    expected = await writer.service.get(DOC)
    cluster.flush_redis()
    cold = cluster.replica()
    snapshot_reads.clear()

    served = await asyncio.gather(*(cold.service.get(DOC) for _ in range(8)))

    assert {(s.etag, s.body_gz) for s in served} == {(expected.etag, expected.body_gz)}
    assert 1 <= len(snapshot_reads) <= 2  # metadata, then the body once: not once per read
    again = await cold.service.get(DOC)
    assert again.etag == expected.etag and len(snapshot_reads) <= 2
    assert any(key.startswith(f"doc:{DOC}:body:") for key in cluster.redis_keys())


# --- replicas ---------------------------------------------------------------------------


async def test_a_new_revision_built_by_one_replica_reaches_another_within_the_window(
    db: Database, cluster: Cluster
) -> None:
    await _seed(db)
    builder, server = cluster.replica(), cluster.replica()
    await builder.service.rebuild()
    first = await server.service.get(DOC)
    assert first.revision == 1 and first.data()["S1"]["model"] == "A"

    await _change_model(db, "B")
    result, _index = await builder.service.rebuild(["device"])
    assert (result.revision, result.changed) == (2, True)

    server.near_clock.advance(1.0)  # the near window; the meta window (5 s) is longer
    head = await server.service.head(DOC)
    served = await server.service.get(DOC)
    assert head.revision == 2 and head.etag == result.etag
    assert served.revision == 2 and served.data()["S1"]["model"] == "B"


async def test_an_unreachable_redis_still_serves_from_sql(db: Database) -> None:
    await _seed(db)
    clock = Ticks()
    down = RedisCache(
        f"redis://127.0.0.1:{free_port()}/14", near_seconds=1.0, clock=clock, retry_after=0
    )
    service = make_service(db, cache=down)
    try:
        await service.rebuild()
        first = await service.get(DOC)
        head = await service.head(DOC)
        clock.advance(1.0)
        again = await service.get(DOC)
    finally:
        await down.close()

    assert first.revision == 1 and first.data()["S1"]["model"] == "A"
    assert head.etag == first.etag and again.body_gz == first.body_gz
