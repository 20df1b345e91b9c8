"""Staging while a run fetches: compare each page with the stored hashes, stage what changed.

One query per page reads the stored hashes (canonical content and raw source)
of the page's ids; only new or changed rows are written, to
``sync_staged_records`` (canonical JSON text), where nobody but the engine
looks. A row whose content is unchanged but whose raw form is new is staged as
``source`` (only its source hash is updated at commit). On PostgreSQL both go
through arrays (``= ANY``, ``unnest``): one statement per batch instead of a
round of row-by-row work. On SQLite, in-process, plain ``IN`` and
``executemany`` are as fast.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import ARRAY, Select, String, bindparam, func, select, text
from sqlalchemy.dialects import sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from pip_service.records.models import Record
from pip_service.sync.models import SyncStagedRecord
from pip_service.sync.writer import REMOVE, SOURCE, UPSERT, RecordRow, chunked, is_postgres

_COLUMNS = ("external_id", "entity", "entity_key", "data", "content_hash", "source_hash")
_PG_STAGE = text(
    "INSERT INTO sync_staged_records "
    "(run_id, stream, external_id, op, entity, entity_key, data, content_hash, source_hash) "
    "SELECT CAST(:run_id AS BIGINT), :stream, t.external_id, :op, t.entity, t.entity_key, "
    "t.data, t.content_hash, t.source_hash FROM unnest(CAST(:external_id AS TEXT[]), "
    "CAST(:entity AS TEXT[]), CAST(:entity_key AS TEXT[]), CAST(:data AS TEXT[]), "
    "CAST(:content_hash AS TEXT[]), CAST(:source_hash AS TEXT[])) "
    "AS t(external_id, entity, entity_key, data, content_hash, source_hash) "
    "ON CONFLICT (run_id, stream, external_id) DO UPDATE SET op = excluded.op, "
    "entity = excluded.entity, entity_key = excluded.entity_key, data = excluded.data, "
    "content_hash = excluded.content_hash, source_hash = excluded.source_hash"
)


Stored = tuple[str, str | None]
"""The hashes a live record is stored with: content hash, source hash (a plain tuple:
a full run holds one per record)."""


def live_hashes(connection_id: int, stream: str) -> Select[str, str, str | None]:
    """External id, content hash and source hash of a stream's live (not deleted) records."""
    return select(Record.external_id, Record.content_hash, Record.source_hash).where(
        Record.connection_id == connection_id,
        Record.stream == stream,
        Record.deleted_at.is_(None),
    )


async def stored_hashes(
    session: AsyncSession, connection_id: int, stream: str, external_ids: Sequence[str]
) -> dict[str, Stored]:
    """Hashes of the live stored records among ``external_ids``."""
    found: dict[str, Stored] = {}
    postgres = is_postgres(session)
    for chunk in chunked(external_ids):
        matches = (
            Record.external_id == func.any(bindparam("ids", list(chunk), type_=ARRAY(String())))
            if postgres
            else Record.external_id.in_(chunk)
        )
        rows = await session.execute(live_hashes(connection_id, stream).where(matches))
        found.update((external_id, (digest, source)) for external_id, digest, source in rows)
    return found


async def stage_upserts(
    session: AsyncSession, run_id: int, stream: str, rows: Sequence[RecordRow]
) -> None:
    """Stage new or changed rows (ids unique within the call; a later call's version wins)."""
    values = [
        (row.external_id, row.entity, row.entity_key, row.json, row.content_hash, row.source_hash)
        for row in rows
    ]
    await _stage(session, run_id, stream, UPSERT, values)


async def stage_source_hashes(
    session: AsyncSession, run_id: int, stream: str, rows: Sequence[RecordRow]
) -> None:
    """Stage a new source hash for rows whose canonical content did not change."""
    values = [(row.external_id, row.entity, None, None, None, row.source_hash) for row in rows]
    await _stage(session, run_id, stream, SOURCE, values)


async def stage_removals(
    session: AsyncSession, run_id: int, stream: str, entity: str, external_ids: Iterable[str]
) -> None:
    """Stage ids the source reported deleted."""
    values = [
        (external_id, entity, None, None, None, None) for external_id in dict.fromkeys(external_ids)
    ]
    await _stage(session, run_id, stream, REMOVE, values)


async def _stage(
    session: AsyncSession, run_id: int, stream: str, op: str, values: list[tuple[Any, ...]]
) -> None:
    for chunk in chunked(values):
        if is_postgres(session):
            columns = {name: [row[i] for row in chunk] for i, name in enumerate(_COLUMNS)}
            await session.execute(
                _PG_STAGE, {"run_id": run_id, "stream": stream, "op": op, **columns}
            )
        else:
            params = [
                {
                    "run_id": run_id,
                    "stream": stream,
                    "op": op,
                    **dict(zip(_COLUMNS, row, strict=True)),
                }
                for row in chunk
            ]
            await session.execute(_sqlite_stage(), params)


def _sqlite_stage() -> Any:
    stmt = sqlite.insert(SyncStagedRecord)
    return stmt.on_conflict_do_update(
        index_elements=["run_id", "stream", "external_id"],
        set_={
            c: stmt.excluded[c]
            for c in ("op", "entity", "entity_key", "data", "content_hash", "source_hash")
        },
    )
