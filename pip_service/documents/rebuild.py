"""Rebuilding documents after a sync: only those whose inputs changed get a new body.

For each document fed by the changed entity kinds, the inputs hash is compared
with the snapshot's: equal → only the freshness marks move; different → the
body is built, and a body with a new ETag becomes the next revision. Every
other document fed by a refreshed connection gets its freshness mark moved.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Collection, Mapping
from dataclasses import replace
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import defer

from connectors.base.types import EntityKind
from pip_service.config import Settings
from pip_service.db.session import transaction
from pip_service.documents import snapshots
from pip_service.documents.builder import DocumentBuilder
from pip_service.documents.catalog import DocumentSpec
from pip_service.documents.deltas import Change, DeltaLog
from pip_service.documents.freshness import marks_for, refreshed_at
from pip_service.documents.increments import (
    GROUPS,
    USERS,
    IdentityState,
    IdentityUpdate,
    update_users,
)
from pip_service.documents.inputs import fingerprint, inputs_hash
from pip_service.documents.models import DocumentSnapshot
from pip_service.documents.schemas import BuildResult, SnapshotMeta, SourceMark
from pip_service.documents.sensitivity import SensitivityMap
from pip_service.documents.serialize import encode
from pip_service.documents.sources import ConnectorLookup, Source, load_sources

logger = logging.getLogger(__name__)

CacheWriter = Callable[[SnapshotMeta, bytes | None], Awaitable[None]]
ChangedKeys = Mapping[str, Collection[str]]
INCREMENTAL = "incremental"
"""The inputs hash of an entity-level build: matches no records, so the next full build runs."""


class Rebuilder:
    """Builds and stores documents; hands every stored version to ``cache_write``."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        settings: Settings,
        *,
        lookup: ConnectorLookup,
        cache_write: CacheWriter,
    ) -> None:
        self._sessions = sessions
        self._settings = settings
        self._lookup = lookup
        self._cache_write = cache_write
        self._identity: IdentityState | None = None
        self.deltas = DeltaLog()

    async def sources(self, session: AsyncSession) -> dict[int, Source]:
        """Every connection as a merge source."""
        return await load_sources(
            session, lookup=self._lookup, precedence=self._settings.source_precedence
        )

    async def rebuild(
        self,
        specs: list[DocumentSpec],
        refreshed: set[int],
        now: datetime,
        keys: ChangedKeys | None = None,
    ) -> list[BuildResult]:
        """Rebuild ``specs`` (skipping unchanged inputs), then mark the rest refreshed.

        ``keys`` (entity kind → entity keys) names every record that changed, when
        known: a few changed users then patch the identity documents entity by entity.
        """
        results = await self._build_specs(specs, refreshed, now, keys)
        await self.mark(refreshed, now, exclude={spec.name for spec in specs})
        return results

    async def _build_specs(
        self,
        specs: list[DocumentSpec],
        refreshed: set[int],
        now: datetime,
        keys: ChangedKeys | None,
    ) -> list[BuildResult]:
        results: list[BuildResult] = []
        async with self._sessions() as session:
            sources = await self.sources(session)
            heads = await snapshots.load_heads(session)
            builder = DocumentBuilder(
                session,
                sources=sources,
                sensitivities=SensitivityMap(self._lookup),
                settings=self._settings,
            )
            context = fingerprint(sources, self._settings)
            increment = await self._increment(
                builder, specs, (heads, context), keys, refreshed, now
            )
            if increment is not None:
                return increment
            for spec in specs:
                began = time.perf_counter()
                inputs = await inputs_hash(session, spec.entities, context)
                head = heads.get(spec.name)
                if head is not None and head.inputs_hash == inputs:
                    meta = await self._refresh(spec.name, sources, refreshed, now)
                    if meta is not None:
                        results.append(_result(meta, False, True, began))
                        continue
                results.append(await self._build(builder, spec, head, inputs, refreshed, now))
            self._remember_identity(builder, results, context)
        return results

    def _remember_identity(
        self, builder: DocumentBuilder, results: list[BuildResult], context: bytes
    ) -> None:
        """Keep what a full identity build made, for the next entity-level build."""
        built = builder.identity_built()
        etags = {r.name: r.etag for r in results if r.name in (USERS, GROUPS) and not r.skipped}
        if built is not None and len(etags) == 2:
            self._identity = IdentityState.of(built[0], etags, built[1], built[2], context)
        elif etags:
            self._identity = None

    async def _increment(
        self,
        builder: DocumentBuilder,
        specs: list[DocumentSpec],
        stored: tuple[dict[str, DocumentSnapshot], bytes],
        keys: ChangedKeys | None,
        refreshed: set[int],
        now: datetime,
    ) -> list[BuildResult] | None:
        """Patch the identity documents for a few changed users; None when a full build is due."""
        (heads, context), state = stored, self._identity
        wanted = {USERS, GROUPS}
        if state is None or keys is None or set(keys) != {EntityKind.USER.value}:
            return None
        if {spec.name for spec in specs} != wanted or not wanted <= heads.keys():
            return None
        if not state.usable({name: heads[name].etag for name in wanted}, context):
            return None
        update = await update_users(state, builder.reader(EntityKind.USER), keys["user"])
        if update is None:
            return None
        when = (refreshed, now)
        results = [
            await self._store_increment(builder, spec.name, update, heads[spec.name], when)
            for spec in specs
        ]
        etags = {result.name: result.etag for result in results}
        self._identity = replace(
            state, identity=update.identity, etags=etags,
            sensitivity=update.sensitivity, source_ids=update.source_ids,
        )  # fmt: skip
        return results

    async def _store_increment(
        self,
        builder: DocumentBuilder,
        name: str,
        update: IdentityUpdate,
        head: DocumentSnapshot,
        when: tuple[set[int], datetime],
    ) -> BuildResult:
        began = time.perf_counter()
        (refreshed, now), changes = when, update.changes[name]
        previous = snapshots.marks_of(head)
        marks = marks_for(update.source_ids, builder.sources, previous, refreshed, now)
        if not changes:
            meta = await self._store_marks(name, marks, now)
            return _result(meta, False, False, began)
        body = update.identity.users if name == USERS else update.identity.groups
        encoded = await asyncio.to_thread(encode, body)
        version = snapshots.NewVersion(encoded, len(body), update.sensitivity, INCREMENTAL)
        async with transaction(self._sessions) as session:
            meta, changed = await snapshots.store_version(
                session, name, version, marks, refreshed_at(marks, now), now
            )
        await self._cache_write(meta, encoded.gz)
        self._record_delta(name, head.etag, meta.etag, changes)
        logger.info("Patched %s: revision %d, %d entities", name, meta.revision, len(changes))
        return _result(meta, changed, False, began)

    def _record_delta(self, name: str, before: str, after: str, changes: dict[str, Change]) -> None:
        if before != after:
            self.deltas.record(name, before, after, changes)

    async def _store_marks(
        self, name: str, marks: tuple[SourceMark, ...], now: datetime
    ) -> SnapshotMeta:
        """An unchanged body whose records moved: new marks and an inputs hash matching none."""
        async with transaction(self._sessions) as session:
            lazy = [defer(DocumentSnapshot.body_gz)]
            row = await session.get(DocumentSnapshot, name, with_for_update=True, options=lazy)
            assert row is not None  # its head was read in this rebuild, under the service lock
            meta = await snapshots.store_marks(
                session, row, marks, refreshed_at(marks, now), INCREMENTAL
            )
        await self._cache_write(meta, None)
        return meta

    async def mark(self, refreshed: set[int], now: datetime, *, exclude: set[str]) -> list[str]:
        """Move the freshness marks of ``refreshed`` connections on every document they feed."""
        if not refreshed:
            return []
        metas = []
        async with transaction(self._sessions) as session:
            sources = await self.sources(session)
            for row in (await snapshots.load_heads(session, lock=True)).values():
                previous = snapshots.marks_of(row)
                if row.name in exclude or not {m.connection_id for m in previous} & refreshed:
                    continue
                marks = marks_for(_known(previous, sources), sources, previous, refreshed, now)
                metas.append(
                    await snapshots.store_marks(session, row, marks, refreshed_at(marks, now))
                )
        for meta in metas:
            await self._cache_write(meta, None)
        return [meta.name for meta in metas]

    async def _refresh(
        self, name: str, sources: dict[int, Source], refreshed: set[int], now: datetime
    ) -> SnapshotMeta | None:
        async with transaction(self._sessions) as session:
            row = await session.get(
                DocumentSnapshot,
                name,
                with_for_update=True,
                options=[defer(DocumentSnapshot.body_gz)],
            )
            if row is None:  # deleted since the heads were read: build it again
                return None
            previous = snapshots.marks_of(row)
            marks = marks_for(_known(previous, sources), sources, previous, refreshed, now)
            meta = await snapshots.store_marks(session, row, marks, refreshed_at(marks, now))
        await self._cache_write(meta, None)
        return meta

    async def _build(
        self,
        builder: DocumentBuilder,
        spec: DocumentSpec,
        head: DocumentSnapshot | None,
        inputs: str,
        refreshed: set[int],
        now: datetime,
    ) -> BuildResult:
        began = time.perf_counter()
        built = await builder.build(spec)
        encoded = await asyncio.to_thread(encode, built.body)
        previous = snapshots.marks_of(head) if head is not None else ()
        marks = marks_for(built.source_ids, builder.sources, previous, refreshed, now)
        version = snapshots.NewVersion(encoded, built.count, built.sensitivity, inputs)
        del built
        async with transaction(self._sessions) as session:
            meta, changed = await snapshots.store_version(
                session, spec.name, version, marks, refreshed_at(marks, now), now
            )
        await self._cache_write(meta, encoded.gz)
        result = _result(meta, changed, False, began)
        logger.info(
            "Built %s: revision %d%s, %d entities, %d bytes, %s, %.2f s",
            result.name,
            result.revision,
            "" if changed else " (unchanged)",
            result.entity_count,
            result.size,
            result.sensitivity.label,
            result.seconds,
        )
        return result


def _known(previous: tuple[SourceMark, ...], sources: dict[int, Source]) -> list[int]:
    return [mark.connection_id for mark in previous if mark.connection_id in sources]


def _result(meta: SnapshotMeta, changed: bool, skipped: bool, began: float) -> BuildResult:
    return BuildResult(
        name=meta.name,
        revision=meta.revision,
        etag=meta.etag,
        changed=changed,
        skipped=skipped,
        entity_count=meta.entity_count,
        size=meta.size,
        sensitivity=meta.sensitivity,
        seconds=round(time.perf_counter() - began, 3),
    )
