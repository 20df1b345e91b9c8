"""Prometheus metrics: HTTP latency, sync runs, records, cache hits, documents, connections.

Each ``Metrics`` has its own registry (several apps may live in one process in
tests). Counters and histograms are observed as things happen; the gauges of
connection state and document size/age are refreshed from the database on
every scrape, so every replica reports the same truth.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from pip_service.cache.base import Cache
from pip_service.connections.models import Connection
from pip_service.db.base import utcnow
from pip_service.documents.models import DocumentSnapshot

CONNECTION_STATES = ("active", "paused", "needs_reconnect", "circuit_open")
_RECORD_OUTCOMES = ("fetched", "created", "updated", "unchanged", "deleted")


class Metrics:
    """The service's instruments, in a registry of their own."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.http_duration = Histogram(
            "pip_http_request_duration_seconds",
            "HTTP request latency by route template",
            ["method", "route", "status"],
            registry=self.registry,
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
        )
        self.sync_runs = Counter(
            "pip_sync_runs", "Finished sync runs", ["connection", "status"], registry=self.registry
        )
        self.sync_duration = Histogram(
            "pip_sync_duration_seconds",
            "Sync run duration",
            ["connection"],
            registry=self.registry,
            buckets=(0.1, 0.5, 1, 5, 10, 30, 60, 120, 300, 600, 1800),
        )
        self.sync_records = Counter(
            "pip_sync_records",
            "Records seen by sync runs",
            ["connection", "outcome"],
            registry=self.registry,
        )
        self.cache_requests = Counter(
            "pip_cache_requests", "Cache lookups", ["result"], registry=self.registry
        )
        self._cache_results = (
            self.cache_requests.labels("miss"),
            self.cache_requests.labels("hit"),
        )
        self._gauges(self.registry)

    def _gauges(self, registry: CollectorRegistry) -> None:
        self.connection_state = Gauge(
            "pip_connection_state",
            "1 for the state each connection is in",
            ["connection", "state"],
            registry=registry,
        )
        self.document_size = Gauge(
            "pip_document_size_bytes",
            "Uncompressed size of each document",
            ["document"],
            registry=registry,
        )
        self.document_age = Gauge(
            "pip_document_age_seconds",
            "Seconds since each document was last refreshed",
            ["document"],
            registry=registry,
        )
        self.document_revision = Gauge(
            "pip_document_revision",
            "Current revision of each document",
            ["document"],
            registry=registry,
        )

    def observe_run(
        self, connection: str, status: str, duration: float, counts: dict[str, int]
    ) -> None:
        """Record a finished sync run."""
        self.sync_runs.labels(connection, status).inc()
        self.sync_duration.labels(connection).observe(max(duration, 0.0))
        for outcome in _RECORD_OUTCOMES:
            value = counts.get(outcome, 0)
            if value:
                self.sync_records.labels(connection, outcome).inc(value)

    def observe_cache(self, hit: bool) -> None:
        """Count a cache hit or miss (label children made once: this runs on every read)."""
        self._cache_results[hit].inc()

    async def refresh(self, session: AsyncSession) -> None:
        """Set the connection and document gauges from the database."""
        connections = (await session.execute(select(Connection.name, Connection.state))).all()
        self.connection_state.clear()
        for name, state in connections:
            for candidate in {*CONNECTION_STATES, state}:
                self.connection_state.labels(name, candidate).set(1 if candidate == state else 0)
        await self._refresh_documents(session, utcnow())

    async def _refresh_documents(self, session: AsyncSession, now: datetime) -> None:
        query = select(
            DocumentSnapshot.name,
            DocumentSnapshot.size,
            DocumentSnapshot.refreshed_at,
            DocumentSnapshot.revision,
        )
        rows: list[Any] = list((await session.execute(query)).all())
        for gauge in (self.document_size, self.document_age, self.document_revision):
            gauge.clear()
        for name, size, refreshed_at, revision in rows:
            self.document_size.labels(name).set(size)
            if refreshed_at.tzinfo is None:  # SQLite through a plain column select
                refreshed_at = refreshed_at.replace(tzinfo=UTC)
            self.document_age.labels(name).set(max((now - refreshed_at).total_seconds(), 0.0))
            self.document_revision.labels(name).set(revision)

    def render(self) -> bytes:
        """The text exposition of every metric."""
        return generate_latest(self.registry)


class MeteredCache:
    """A cache that counts hits and misses of ``get`` into ``Metrics``."""

    def __init__(self, inner: Cache, metrics: Metrics) -> None:
        self.inner = inner
        self.metrics = metrics

    async def get(self, key: str) -> bytes | None:
        """The inner cache's value, counted as a hit or a miss."""
        value = await self.inner.get(key)
        self.metrics.observe_cache(value is not None)
        return value

    async def set(self, key: str, value: bytes, *, ttl: float) -> bool:
        """Store through the inner cache."""
        return await self.inner.set(key, value, ttl=ttl)

    async def delete(self, key: str) -> None:
        """Delete through the inner cache."""
        await self.inner.delete(key)

    async def ping(self) -> bool:
        """Whether the inner cache answers."""
        return await self.inner.ping()

    async def close(self) -> None:
        """Close the inner cache."""
        await self.inner.close()
