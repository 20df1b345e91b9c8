"""Records in bulk: content hashes, and applying a run's staged rows in one transaction.

At commit, one transaction copies the staged rows (see ``staging``) into
``records`` with a single ``INSERT ... SELECT ... ON CONFLICT DO UPDATE``, marks
removed and unseen records deleted, and drops the staging rows. Unchanged records
are never written. A record a webhook wrote while the run was reading keeps the
webhook's version: the run's copy of it may be older.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import (
    Boolean,
    Integer,
    and_,
    cast,
    delete,
    func,
    literal,
    null,
    or_,
    select,
    text,
    true,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.sql.elements import ColumnElement

from connectors.base.canonical import CanonicalRecord
from connectors.base.errors import PipError
from pip_service.db.base import UTCDateTime
from pip_service.records.models import Record
from pip_service.sync.models import SyncStagedRecord

BATCH_SIZE = 1000
ANALYZE_AFTER_ROWS = 1000
GUARDED_DELETES = 10  # deleting this many records or fewer never trips the guard
UPSERT, REMOVE, SOURCE = "upsert", "remove", "source"
_RECORD_KEY = ["connection_id", "stream", "external_id"]


@dataclass(frozen=True)
class RecordRow:
    """A canonical record as it is stored: merge key, JSON data and its hash."""

    external_id: str
    entity: str
    entity_key: str
    data: dict[str, Any]
    json: str
    content_hash: str
    source_hash: str | None = None


@dataclass(frozen=True)
class Applied:
    """What applying a run changed, per entity kind."""

    created: dict[str, int]
    updated: dict[str, int]
    deleted: dict[str, int]
    superseded: int = 0
    """Staged changes dropped because a webhook wrote the record while the run read."""

    def total(self, kind: str) -> int:
        """The sum of ``created``, ``updated`` or ``deleted`` over entity kinds."""
        counts: dict[str, int] = getattr(self, kind)
        return sum(counts.values())

    def changed_entities(self) -> set[str]:
        """Entity kinds with at least one created, updated or deleted record."""
        return {
            k for part in (self.created, self.updated, self.deleted) for k, n in part.items() if n
        }


def canonical_json(data: dict[str, Any]) -> bytes:
    """Canonical JSON of a record's data: sorted keys, no whitespace."""
    return orjson.dumps(data, option=orjson.OPT_SORT_KEYS)


def content_hash(data: dict[str, Any]) -> str:
    """SHA-256 of the canonical JSON of a record's data."""
    return hashlib.sha256(canonical_json(data)).hexdigest()


def to_row(record: CanonicalRecord, source_hash: str | None = None) -> RecordRow:
    """The stored form of a canonical record (``source_id`` becomes ``external_id``)."""
    data = record.model_dump(mode="json", exclude_none=True)
    data.pop("source_id", None)
    blob = canonical_json(data)
    digest = hashlib.sha256(blob).hexdigest()
    return RecordRow(
        record.source_id, record.entity.value, record.key, data, blob.decode(), digest, source_hash
    )


def chunked(items: Sequence[Any], size: int = BATCH_SIZE) -> Iterator[Sequence[Any]]:
    """Consecutive slices of at most ``size`` items."""
    for start in range(0, len(items), size):
        yield items[start : start + size]


async def discard_staged(session: AsyncSession, run_ids: Sequence[int]) -> None:
    """Drop the staged rows of runs that will never commit."""
    if run_ids:
        await session.execute(delete(SyncStagedRecord).where(SyncStagedRecord.run_id.in_(run_ids)))


async def apply_staged(
    session: AsyncSession,
    *,
    run_id: int,
    connection_id: int,
    is_demo: bool,
    now: datetime,
    streams: dict[str, str],
    unseen: dict[str, set[str]],
    live_at_start: Mapping[str, Collection[str]] | None = None,
    max_delete_fraction: float | None = None,
    started_at: datetime | None = None,
) -> Applied:
    """Apply a run's staged rows to ``records`` inside the caller's transaction.

    ``streams`` maps each stream of the run to its entity kind; ``unseen`` maps the
    streams that ran in full mode to the external ids they saw (the others are
    marked deleted).
    ``live_at_start`` gives, for some of those streams, the ids that were live when
    the run began reading them: only those can be marked deleted (a record a
    webhook wrote while the run was reading is not evidence the run missed).
    ``max_delete_fraction``: MassDeletionError (nothing applied: the caller's
    transaction rolls back) when a stream would lose more than that share of its
    live records to "not seen", and more than ``GUARDED_DELETES`` of them.
    ``started_at``: when the run began. A record written outside the run since then
    (a webhook's object) is newer than, or as new as, what the run read of it: its
    staged change is dropped and it is never marked deleted by this run.
    """
    commit = _Commit(session, run_id, connection_id, now, _untouched_since(started_at))
    touched = await _touched_since(commit, streams, started_at)
    superseded = await _drop_superseded(commit, touched)
    created, updated = await _count_upserts(commit)
    await _upsert_from_staging(commit, is_demo)
    await _source_hashes_from_staging(commit)
    deleted: dict[str, int] = {}
    for stream, entity in streams.items():
        gone = await _mark_removed(commit, stream)
        if stream in unseen:
            seen = unseen[stream] | touched.get(stream, set())
            candidates = (live_at_start or {}).get(stream)
            gone += await _mark_unseen(commit, stream, seen, candidates, max_delete_fraction)
        deleted[entity] = deleted.get(entity, 0) + gone
    await discard_staged(session, [run_id])
    return Applied(created, updated, deleted, superseded)


@dataclass(frozen=True)
class _Commit:
    """One run's commit: its transaction, stamp, and the records it may still write."""

    session: AsyncSession
    run_id: int
    connection_id: int
    now: datetime
    untouched: ColumnElement[bool]


def _untouched_since(since: datetime | None) -> ColumnElement[bool]:
    """Records not written outside the run since it began (every record without ``since``).

    The statements that apply the run repeat this test on each row they write: a
    webhook that commits after ``_touched_since`` looked, and before the row is
    written, still wins (PostgreSQL re-checks it on the row it waited for).
    """
    if since is None:
        return true()
    return and_(Record.updated_at <= since, Record.last_seen_at <= since)


async def _touched_since(
    commit: _Commit, streams: Collection[str], since: datetime | None
) -> dict[str, set[str]]:
    """Stream → ids of the records written outside a run after ``since``.

    Runs of one connection never overlap, so everything in ``records`` stamped after
    the run began came from a webhook (``updated_at`` when it changed the record,
    ``last_seen_at`` when it confirmed the stored content).
    """
    if since is None or not streams:
        return {}
    rows = await commit.session.execute(
        select(Record.stream, Record.external_id).where(
            Record.connection_id == commit.connection_id,
            Record.stream.in_(list(streams)),
            or_(Record.updated_at > since, Record.last_seen_at > since),
        )
    )
    touched: dict[str, set[str]] = {}
    for stream, external_id in rows:
        touched.setdefault(stream, set()).add(external_id)
    return touched


async def _drop_superseded(commit: _Commit, touched: Mapping[str, set[str]]) -> int:
    """Drop the run's staged changes of records a webhook wrote since the run began."""
    dropped = 0
    for stream, ids in touched.items():
        for chunk in chunked(sorted(ids)):
            result = await commit.session.execute(
                delete(SyncStagedRecord).where(
                    SyncStagedRecord.run_id == commit.run_id,
                    SyncStagedRecord.stream == stream,
                    SyncStagedRecord.external_id.in_(chunk),
                )
            )
            dropped += int(getattr(result, "rowcount", 0) or 0)
    return dropped


async def _count_upserts(commit: _Commit) -> tuple[dict[str, int], dict[str, int]]:
    session, run_id, connection_id = commit.session, commit.run_id, commit.connection_id
    staged = SyncStagedRecord
    existing = func.count(Record.id)
    query = (
        select(staged.entity, func.count(), existing)
        .select_from(staged)
        .outerjoin(
            Record,
            (Record.connection_id == connection_id)
            & (Record.stream == staged.stream)
            & (Record.external_id == staged.external_id),
        )
        .where(staged.run_id == run_id, staged.op == UPSERT)
        .group_by(staged.entity)
    )
    rows = [(e, int(total), int(found)) for e, total, found in await session.execute(query)]
    return {e: total - found for e, total, found in rows}, {e: found for e, _, found in rows}


async def _upsert_from_staging(commit: _Commit, is_demo: bool) -> None:
    session, run_id, connection_id = commit.session, commit.run_id, commit.connection_id
    staged = SyncStagedRecord
    stamp = literal(commit.now, UTCDateTime())
    source = select(
        literal(connection_id, Integer()), staged.stream, staged.entity, staged.external_id,
        staged.entity_key, _as_json(session, staged.data), staged.content_hash,
        staged.source_hash, stamp, stamp, stamp, null(), literal(run_id, Integer()),
        literal(is_demo, Boolean()),
    ).where(staged.run_id == run_id, staged.op == UPSERT)  # fmt: skip
    columns = [
        "connection_id", "stream", "entity", "external_id", "entity_key", "data", "content_hash",
        "source_hash", "first_seen_at", "last_seen_at", "updated_at", "deleted_at", "last_run_id",
        "is_demo",
    ]  # fmt: skip
    stmt = _insert(session, Record).from_select(columns, source)
    refreshed = (
        "entity", "entity_key", "data", "content_hash", "source_hash", "last_seen_at",
        "updated_at",
    )  # fmt: skip
    stmt = stmt.on_conflict_do_update(
        index_elements=_RECORD_KEY,
        set_={
            **{c: stmt.excluded[c] for c in refreshed},
            "deleted_at": None,
            "last_run_id": run_id,
        },
        where=commit.untouched,
    )
    await session.execute(stmt)


async def _source_hashes_from_staging(commit: _Commit) -> None:
    """Records read with unchanged content but a new raw form: store the new source hash."""
    staged = SyncStagedRecord
    mine = (staged.run_id == commit.run_id) & (staged.op == SOURCE)
    if await commit.session.scalar(select(staged.external_id).where(mine).limit(1)) is None:
        return
    await commit.session.execute(
        update(Record)
        .where(
            mine,
            Record.connection_id == commit.connection_id,
            Record.stream == staged.stream,
            Record.external_id == staged.external_id,
            commit.untouched,
        )
        .values(source_hash=staged.source_hash)
        .execution_options(synchronize_session=False)
    )


async def _mark_removed(commit: _Commit, stream: str) -> int:
    removed = select(SyncStagedRecord.external_id).where(
        SyncStagedRecord.run_id == commit.run_id,
        SyncStagedRecord.stream == stream,
        SyncStagedRecord.op == REMOVE,
    )
    # Without this check PostgreSQL, lacking statistics on rows inserted in this very
    # transaction, plans the UPDATE below as a nested loop over every staged row of
    # the run for every record: quadratic (100,000 demo audit events: hours).
    if await commit.session.scalar(removed.limit(1)) is None:
        return 0
    return await _mark_deleted(commit, stream, removed)


async def _mark_unseen(
    commit: _Commit,
    stream: str,
    seen: set[str],
    candidates: Collection[str] | None,
    max_delete_fraction: float | None,
) -> int:
    if candidates is None:
        candidates = list(
            await commit.session.scalars(
                select(Record.external_id).where(
                    Record.connection_id == commit.connection_id,
                    Record.stream == stream,
                    Record.deleted_at.is_(None),
                )
            )
        )
    gone = [external_id for external_id in candidates if external_id not in seen]
    _check_deletions(stream, len(gone), len(candidates), max_delete_fraction)
    marked = 0
    for chunk in chunked(gone):
        marked += await _mark_deleted(commit, stream, chunk)
    return marked


class MassDeletionError(PipError):
    """A full run would delete most of a stream: refused, nothing applied."""

    code = "mass_deletion_refused"


def _check_deletions(stream: str, gone: int, live: int, fraction: float | None) -> None:
    if fraction is None or fraction >= 1 or gone <= GUARDED_DELETES or gone <= fraction * live:
        return
    raise MassDeletionError(
        f"Stream {stream}: this full run did not see {gone:,} of the {live:,} stored records, "
        f"more than the {fraction:.0%} allowed (PIP_SYNC_MAX_DELETE_FRACTION); nothing was "
        "applied. If the source really lost them, run a full sync with force."
    )


async def _mark_deleted(commit: _Commit, stream: str, external_ids: Any) -> int:
    result = await commit.session.execute(
        update(Record)
        .where(
            Record.connection_id == commit.connection_id,
            Record.stream == stream,
            Record.deleted_at.is_(None),
            Record.external_id.in_(external_ids),
            commit.untouched,
        )
        .values(deleted_at=commit.now, updated_at=commit.now, last_run_id=commit.run_id)
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)


async def refresh_statistics(sessions: async_sessionmaker[AsyncSession], changed_rows: int) -> None:
    """ANALYZE ``records`` on PostgreSQL after a bulk change.

    Without fresh statistics right after a first bulk load the planner reads a
    whole stream for every page's hash lookup instead of using the unique index.
    """
    if changed_rows < ANALYZE_AFTER_ROWS:
        return
    async with sessions() as session:
        if not is_postgres(session):
            return
        await session.execute(text("ANALYZE records"))
        await session.commit()


def _as_json(session: AsyncSession, column: Any) -> Any:
    """Staged data is canonical JSON text; PostgreSQL wants it as JSONB."""
    return cast(column, JSONB) if is_postgres(session) else column


def is_postgres(session: AsyncSession) -> bool:
    """Whether the session talks to PostgreSQL."""
    return bool(session.get_bind().dialect.name == "postgresql")


def _insert(session: AsyncSession, model: type[Any]) -> Any:
    module = postgresql if is_postgres(session) else sqlite
    return module.insert(model)


async def upsert_record(
    session: AsyncSession,
    *,
    connection_id: int,
    stream: str,
    row: RecordRow,
    is_demo: bool,
    now: datetime,
) -> bool:
    """Insert or update one record outside a run (a webhook's object); True when it changed."""
    confirmed = await session.execute(  # live and as stored: stamped, so a running sync keeps it
        update(Record)
        .where(
            _one_record(connection_id, stream, row.external_id),
            Record.content_hash == row.content_hash,
            Record.deleted_at.is_(None),
        )
        .values(last_seen_at=now)
        .execution_options(synchronize_session=False)
    )
    if getattr(confirmed, "rowcount", 0):
        return False
    values = {
        "connection_id": connection_id, "stream": stream, "entity": row.entity,
        "external_id": row.external_id, "entity_key": row.entity_key, "data": row.data,
        "content_hash": row.content_hash, "source_hash": row.source_hash, "first_seen_at": now,
        "last_seen_at": now, "updated_at": now, "deleted_at": None, "last_run_id": None,
        "is_demo": is_demo,
    }  # fmt: skip
    stmt = _insert(session, Record).values(**values)
    refreshed = (
        "entity", "entity_key", "data", "content_hash", "source_hash", "last_seen_at",
        "updated_at",
    )  # fmt: skip
    stmt = stmt.on_conflict_do_update(
        index_elements=_RECORD_KEY,
        set_={**{c: stmt.excluded[c] for c in refreshed}, "deleted_at": None},
    )
    await session.execute(stmt)
    return True


async def remove_record(
    session: AsyncSession, *, connection_id: int, stream: str, external_id: str, now: datetime
) -> bool:
    """Mark one record deleted outside a run (the source said it is gone); True when it was live."""
    result = await session.execute(
        update(Record)
        .where(_one_record(connection_id, stream, external_id), Record.deleted_at.is_(None))
        .values(deleted_at=now, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    return bool(getattr(result, "rowcount", 0))


def _one_record(connection_id: int, stream: str, external_id: str) -> ColumnElement[bool]:
    """The record of one object of a connection's stream."""
    return and_(
        Record.connection_id == connection_id,
        Record.stream == stream,
        Record.external_id == external_id,
    )
