"""What a run knows of a stream's stored records: their content and source hashes.

A full run of a stream reads every record, so its stored hashes are loaded in one
query up front (one scan instead of a lookup per page) when the stream holds at
most ``PRELOAD_LIMIT`` live records; bigger streams, and incremental runs that
read only a few pages, look up each page's ids as they come. The preloaded ids
are also the only records the full run may mark deleted: one a webhook wrote
while the run was reading was not missed by it.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence

from sqlalchemy import func
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from connectors.base.allocation import gc_paused
from pip_service.sync.staging import Stored, live_hashes, stored_hashes

PRELOAD_LIMIT = 250_000


class StoredLookup:
    """Stored hashes of one stream's live records, for one run.

    Without a preload, the last lookup's answer is kept: the stream asks for a page's
    ids, then the engine for the records it normalized from them, a subset.
    """

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        connection_id: int,
        stream: str,
        *,
        preload: bool,
        limit: int = PRELOAD_LIMIT,
    ) -> None:
        self._sessions = sessions
        self._connection_id = connection_id
        self._stream = stream
        self._preload = preload
        self._limit = limit
        self._all: dict[str, Stored] | None = None
        self._last: tuple[set[str], dict[str, Stored]] = (set(), {})

    async def get(self, external_ids: Sequence[str]) -> dict[str, Stored]:
        """The stored hashes of the live records among ``external_ids``."""
        if not external_ids:
            return {}
        if self._preload:
            self._preload = False
            self._all = await self._load_all()
        known = self._all
        if known is None:
            asked, known = self._last
            if not asked.issuperset(external_ids):
                async with self._sessions() as session:
                    known = await stored_hashes(
                        session, self._connection_id, self._stream, external_ids
                    )
                self._last = (set(external_ids), known)
        return {key: known[key] for key in external_ids if key in known}

    async def source_hashes(self, source_ids: Sequence[str]) -> Mapping[str, str]:
        """The stored source hashes among ``source_ids`` (a stream's ``SyncContext.known``)."""
        found = await self.get(source_ids)
        return {key: source for key, (_, source) in found.items() if source is not None}

    def live_at_start(self) -> Collection[str] | None:
        """The ids live when the run started reading (None: not preloaded)."""
        return self._all.keys() if self._all is not None else None

    async def _load_all(self) -> dict[str, Stored] | None:
        query = live_hashes(self._connection_id, self._stream)
        async with self._sessions() as session:
            count = await session.scalar(query.with_only_columns(func.count()))
            if (count or 0) > self._limit:
                return None
            rows = await session.execute(query)
            with gc_paused():
                return {key: (digest, source) for key, digest, source in rows}


__all__ = ["PRELOAD_LIMIT", "StoredLookup"]
