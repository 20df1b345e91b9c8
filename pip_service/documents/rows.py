"""Stream the live records of one entity kind from SQL, grouped by entity key.

The hot path of every build: rows come in batches (``yield_per``), JSON is
parsed with orjson from the column's text, restricted fields are dropped per
(connection, stream) and nothing is validated again (the sync engine stored
canonical records). Values that are null, empty strings, empty lists or empty
objects count as unknown and are left out.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import Text, cast, select
from sqlalchemy.ext.asyncio import AsyncSession

from connectors.base.types import Sensitivity
from pip_service.documents import timestamps
from pip_service.documents.sensitivity import SensitivityMap, most_sensitive
from pip_service.documents.sources import Source
from pip_service.records.models import Record

BATCH = 5000
KEY_CHUNK = 500

Group = tuple[str, list["Contribution"]]


@dataclass(slots=True)
class Contribution:
    """One record's say about one entity."""

    source: Source
    stream: str
    external_id: str
    updated: float
    data: dict[str, Any]

    def order(self) -> tuple[int, float, str, str, str]:
        """Precedence order: configured rank, then most recently updated, then stable names."""
        return (self.source.rank, -self.updated, self.source.name, self.stream, self.external_id)


class RecordReader:
    """Reads one entity kind; remembers which sources and fields it emitted."""

    def __init__(
        self,
        session: AsyncSession,
        entity: str,
        *,
        sources: dict[int, Source],
        sensitivities: SensitivityMap,
    ) -> None:
        self.entity = entity
        self._session = session
        self._sources = sources
        self._sensitivities = sensitivities
        self._timestamps = timestamps.timestamp_fields(entity)
        self._streams: dict[tuple[int, str], tuple[frozenset[str], set[str]]] = {}
        self.source_ids: set[int] = set()

    def sensitivity(self) -> Sensitivity:
        """The most sensitive field read so far."""
        return most_sensitive(
            self._sensitivities.of(self._sources[conn], stream, self.entity).get(
                name, Sensitivity.INTERNAL
            )
            for (conn, stream), (_dropped, seen) in self._streams.items()
            for name in seen
        )

    async def groups(self, keys: Sequence[str] | None = None) -> AsyncIterator[list[Group]]:
        """Batches of (entity key, contributions); all records of a key are in one group."""
        if keys is None:
            async for batch in self._grouped(None):
                yield batch
            return
        for start in range(0, len(keys), KEY_CHUNK):
            async for batch in self._grouped(keys[start : start + KEY_CHUNK]):
                yield batch

    async def _grouped(self, keys: Sequence[str] | None) -> AsyncIterator[list[Group]]:
        stmt = select(
            Record.connection_id,
            Record.stream,
            Record.external_id,
            Record.entity_key,
            cast(Record.data, Text),
            Record.updated_at,
        ).where(Record.entity == self.entity, Record.deleted_at.is_(None))
        if keys is not None:
            stmt = stmt.where(Record.entity_key.in_(keys))
        stmt = stmt.order_by(Record.entity_key).execution_options(yield_per=BATCH)
        connection = await self._session.connection()
        result = await connection.stream(stmt)
        key: str | None = None
        current: list[Contribution] = []
        async for partition in result.partitions():
            done: list[Group] = []
            for row in partition:
                if row[3] != key:
                    if current and key is not None:
                        done.append((key, current))
                    key, current = row[3], []
                current.append(self._contribution(row))
            yield done
        if current and key is not None:
            yield [(key, current)]

    def _contribution(self, row: Any) -> Contribution:
        conn_id, stream, external_id, _key, raw, updated = row
        dropped, seen = self._stream_state(conn_id, stream)
        data = {
            name: value
            for name, value in orjson.loads(raw).items()
            if name not in dropped and (value or value is False or type(value) in (int, float))
        }
        seen.update(data)
        timestamps.normalize(data, self._timestamps, self.entity)
        return Contribution(
            self._sources[conn_id], stream, external_id, timestamps.aware(updated).timestamp(), data
        )

    def _stream_state(self, conn_id: int, stream: str) -> tuple[frozenset[str], set[str]]:
        state = self._streams.get((conn_id, stream))
        if state is None:
            source = self._sources[conn_id]
            state = (self._sensitivities.dropped(source, stream, self.entity), set())
            self._streams[(conn_id, stream)] = state
            self.source_ids.add(conn_id)
        return state
