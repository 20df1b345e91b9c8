"""The document service: rebuild after syncs, serve from the cache or the SQL snapshots.

Reads never depend on the cache being up: a miss (or a cache failure, which
answers a miss) falls back to ``document_snapshots`` and refills the cache. A
document whose cache write failed is read from SQL until a write succeeds, so
a cache that comes back with old entries never serves them.
"""

from __future__ import annotations

import asyncio
import builtins
import functools
import logging
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import NamedTuple

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from connectors.base.types import Sensitivity
from pip_service.cache.base import Cache
from pip_service.config import Settings
from pip_service.db.base import utcnow
from pip_service.documents import snapshots
from pip_service.documents.catalog import DOCUMENTS, META, check_name, documents_for
from pip_service.documents.deltas import DeltaLog
from pip_service.documents.doccache import DocumentCache
from pip_service.documents.freshness import is_stale
from pip_service.documents.head import DocumentHead
from pip_service.documents.meta import meta_document
from pip_service.documents.rebuild import ChangedKeys, Rebuilder
from pip_service.documents.schemas import (
    BuildResult,
    DocumentInfo,
    ServedDocument,
    SnapshotMeta,
)
from pip_service.documents.sensitivity import stale_action, ttl_seconds
from pip_service.documents.serialize import encode
from pip_service.documents.sources import ConnectorLookup, registry_lookup
from pip_service.errors import UnavailableError

logger = logging.getLogger(__name__)


class _HeadMemo(NamedTuple):
    """A cached version's head while fresh, and when it goes stale."""

    meta: SnapshotMeta
    expires_at: datetime
    fresh: DocumentHead


class DocumentService:
    """Builds, stores, caches and serves the policy documents."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        cache: Cache,
        settings: Settings,
        *,
        clock: Callable[[], datetime] = utcnow,
        connector_lookup: ConnectorLookup = registry_lookup,
        meta_cache_seconds: float = 5.0,
    ) -> None:
        self._sessions = sessions
        self._settings = settings
        self._clock = clock
        self._cache = DocumentCache(cache, meta_seconds=meta_cache_seconds)
        self._dirty: set[str] = set()
        self._heads: dict[str, _HeadMemo] = {}
        self._refreshes: dict[str, asyncio.Task[SnapshotMeta]] = {}
        self._lock = asyncio.Lock()
        self._rebuilder = Rebuilder(
            sessions, settings, lookup=connector_lookup, cache_write=self._cache_write
        )

    async def rebuild(
        self,
        entities: Iterable[str] | None = None,
        *,
        refreshed_connections: Iterable[int] = (),
        changed_keys: ChangedKeys | None = None,
    ) -> builtins.list[BuildResult]:
        """Rebuild the documents fed by ``entities`` (all when None).

        ``refreshed_connections`` are connections whose sync just succeeded: the
        freshness of every document they feed moves to now, rebuilt or not.
        ``changed_keys`` (entity kind → keys), when every changed record is named,
        lets a few changed users patch the identity documents entity by entity.
        """
        async with self._lock:
            specs = documents_for(entities)
            refreshed, now = set(refreshed_connections), self._clock()
            return await self._rebuilder.rebuild(specs, refreshed, now, changed_keys)

    @property
    def deltas(self) -> DeltaLog:
        """Entity-level changes between recent versions (for the OPAL publisher)."""
        return self._rebuilder.deltas

    async def mark_refreshed(self, connection_id: int) -> builtins.list[str]:
        """A sync of ``connection_id`` succeeded without changes: its documents are fresh."""
        async with self._lock:
            return await self._rebuilder.mark({connection_id}, self._clock(), exclude=set())

    async def get(self, name: str) -> ServedDocument:
        """A document to serve; NotFoundError for unknown names, UnavailableError when refused."""
        return await self.complete(await self.head(name))

    async def head(self, name: str) -> DocumentHead:
        """A document's ETag and freshness, its body left in the cache; errors as ``get``."""
        check_name(name)
        if name == META:
            return await self._serve_meta()
        now = self._clock()
        meta = None if name in self._dirty else await self._cache.get_meta(name)
        if meta is None:
            meta = await self._refreshing(name)
        return self._head(meta, now)

    async def complete(self, head: DocumentHead) -> ServedDocument:
        """``head`` with its body; read from SQL again (maybe newer) if the cache lost it."""
        body = head.body_gz
        if body is None:
            body = await self._cache.get_body(head.name, head.etag, head.ttl_seconds)
        if body is None:
            head, body = await self._from_snapshot(head.name, self._clock())
        return head.with_body(body)

    async def meta(self) -> dict[str, object]:
        """The ``meta`` document's body, computed now."""
        return meta_document(await self._metas(), self._settings, self._clock())

    async def list(self) -> builtins.list[DocumentInfo]:
        """Every document with revision, ETag, size, freshness and sources (admin API)."""
        async with self._sessions() as session:
            metas = await snapshots.load_metas(session)
        now = self._clock()
        return [
            self._info(spec.name, spec.dst_path, metas.get(spec.name), now) for spec in DOCUMENTS
        ]

    async def _refreshing(self, name: str) -> SnapshotMeta:
        """``_refresh``, shared by the reads that miss the same document at the same time."""
        pending = self._refreshes.get(name)
        if pending is None:
            pending = asyncio.get_running_loop().create_task(self._refresh(name))
            self._refreshes[name] = pending
            pending.add_done_callback(functools.partial(self._refreshed, name))
        return await asyncio.shield(pending)

    def _refreshed(self, name: str, task: asyncio.Task[SnapshotMeta]) -> None:
        if self._refreshes.get(name) is task:
            del self._refreshes[name]
        if not task.cancelled():
            task.exception()  # retrieved here: every waiter may have been cancelled

    async def _refresh(self, name: str) -> SnapshotMeta:
        """Metadata from SQL into the cache, with the body (kept in process, else read from SQL)."""
        async with self._sessions() as session:
            meta = await snapshots.load_meta(session, name)
        if meta is None:
            raise _not_built(name)
        self._freshness(meta, self._clock())  # fails closed before anything is cached
        body = self._cache.local_body(name, meta.etag)
        if body is None:
            meta, _body = await self._load_row(name, self._clock())
        else:
            await self._cache_write(meta, body)
        return meta

    async def _from_snapshot(self, name: str, now: datetime) -> tuple[DocumentHead, bytes]:
        """The stored version, body included, written to the cache (unless refused)."""
        meta, body = await self._load_row(name, now)
        stale = self._freshness(meta, now)
        ttl = ttl_seconds(self._settings, meta.sensitivity)
        return DocumentHead.of(meta, ttl, stale, body), body

    async def _load_row(self, name: str, now: datetime) -> tuple[SnapshotMeta, bytes]:
        async with self._sessions() as session:
            row = await snapshots.load(session, name)
        if row is None:
            raise _not_built(name)
        meta = snapshots.meta_of(row)
        self._freshness(meta, now)  # fails closed before anything is cached
        await self._cache_write(meta, row.body_gz)
        return meta, row.body_gz

    def _freshness(self, meta: SnapshotMeta, now: datetime) -> bool:
        """Whether ``meta`` is stale; raises UnavailableError when stale data fails closed."""
        ttl = ttl_seconds(self._settings, meta.sensitivity)
        if not is_stale(meta, ttl, now):
            return False
        if stale_action(self._settings, meta.sensitivity) == "fail_closed":
            raise UnavailableError(
                f"Document {meta.name!r} holds {meta.sensitivity.label} data last refreshed at "
                f"{meta.refreshed_at.isoformat()}, more than its TTL of {ttl} s ago; "
                f"{meta.sensitivity.label} data is not served stale",
                code="stale_document",
                name=meta.name,
            )
        return True

    def _head(self, meta: SnapshotMeta, now: datetime) -> DocumentHead:
        """The head of a cached version: made once per metadata, its freshness checked each time."""
        memo = self._heads.get(meta.name)
        if memo is None or memo.meta is not meta:
            ttl = ttl_seconds(self._settings, meta.sensitivity)
            memo = _HeadMemo(meta, meta.expires_at(ttl), DocumentHead.of(meta, ttl, False))
            self._heads[meta.name] = memo
        if now < memo.expires_at:  # not stale (``is_stale``)
            return memo.fresh
        return DocumentHead.of(meta, memo.fresh.ttl_seconds, self._freshness(meta, now))

    async def _serve_meta(self) -> DocumentHead:
        now = self._clock()
        metas = await self._metas()
        encoded = encode(meta_document(metas, self._settings, now))
        ttls = [ttl_seconds(self._settings, meta.sensitivity) for meta in metas.values()]
        return DocumentHead(
            name=META,
            etag=encoded.etag,
            revision=sum(meta.revision for meta in metas.values()),
            sensitivity=Sensitivity.INTERNAL,
            ttl_seconds=min(ttls, default=self._settings.ttl_restricted),
            built_at=now,
            refreshed_at=now,
            stale=False,
            size=len(encoded.json),
            entity_count=len(metas),
            body_gz=encoded.gz,
        )

    async def _metas(self) -> dict[str, SnapshotMeta]:
        found: dict[str, SnapshotMeta] = {}
        for spec in DOCUMENTS:
            meta = None if spec.name in self._dirty else await self._cache.get_meta(spec.name)
            if meta is not None:
                found[spec.name] = meta
        if len(found) < len(DOCUMENTS):
            async with self._sessions() as session:
                stored = await snapshots.load_metas(session)
            for name in stored.keys() - found.keys():
                found[name] = stored[name]
                await self._cache_write(stored[name], None)
        return {spec.name: found[spec.name] for spec in DOCUMENTS if spec.name in found}

    async def _cache_write(self, meta: SnapshotMeta, body_gz: bytes | None) -> None:
        ttl = ttl_seconds(self._settings, meta.sensitivity)
        if await self._cache.put(meta, body_gz, ttl):
            self._dirty.discard(meta.name)
        else:
            self._dirty.add(meta.name)

    def _info(
        self, name: str, dst_path: str, meta: SnapshotMeta | None, now: datetime
    ) -> DocumentInfo:
        if meta is None:
            return DocumentInfo(name=name, dst_path=dst_path, built=False)
        ttl = ttl_seconds(self._settings, meta.sensitivity)
        return DocumentInfo(
            name=name,
            dst_path=dst_path,
            built=True,
            revision=meta.revision,
            etag=meta.etag,
            sensitivity=meta.sensitivity,
            ttl_seconds=ttl,
            stale_action=stale_action(self._settings, meta.sensitivity),
            size=meta.size,
            size_gz=meta.size_gz,
            entity_count=meta.entity_count,
            built_at=meta.built_at,
            refreshed_at=meta.refreshed_at,
            expires_at=meta.expires_at(ttl),
            stale=is_stale(meta, ttl, now),
            sources=builtins.list(meta.sources),
        )


def _not_built(name: str) -> UnavailableError:
    return UnavailableError(f"Document {name!r} has not been built yet", name=name)
