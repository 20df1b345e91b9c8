"""The ``document_snapshots`` table: the last good version of every document."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import defer

from connectors.base.types import Sensitivity
from pip_service.documents.models import DocumentSnapshot
from pip_service.documents.schemas import SnapshotMeta, SourceMark
from pip_service.documents.serialize import EncodedBody
from pip_service.documents.timestamps import aware


@dataclass(frozen=True)
class NewVersion:
    """A freshly built body and what goes with it."""

    encoded: EncodedBody
    entity_count: int
    sensitivity: Sensitivity
    inputs_hash: str


def marks_of(row: DocumentSnapshot) -> tuple[SourceMark, ...]:
    """The source marks stored in a row."""
    return tuple(SourceMark.from_json(mark) for mark in row.sources or ())


def meta_of(row: DocumentSnapshot, size_gz: int | None = None) -> SnapshotMeta:
    """A row's metadata (``size_gz`` given when the body was not loaded)."""
    return SnapshotMeta(
        name=row.name,
        revision=row.revision,
        etag=row.etag,
        sensitivity=Sensitivity.parse(row.sensitivity),
        size=row.size,
        size_gz=len(row.body_gz) if size_gz is None else size_gz,
        entity_count=row.entity_count,
        built_at=aware(row.built_at),
        refreshed_at=aware(row.refreshed_at),
        sources=marks_of(row),
    )


async def load(session: AsyncSession, name: str) -> DocumentSnapshot | None:
    """The full row of one document, body included."""
    return await session.get(DocumentSnapshot, name)


async def load_meta(session: AsyncSession, name: str) -> SnapshotMeta | None:
    """One document's metadata; its body stays in the database."""
    stmt = (
        select(DocumentSnapshot, func.length(DocumentSnapshot.body_gz))
        .options(defer(DocumentSnapshot.body_gz))
        .where(DocumentSnapshot.name == name)
    )
    found = (await session.execute(stmt)).first()
    return None if found is None else meta_of(found[0], int(found[1] or 0))


async def load_heads(session: AsyncSession, *, lock: bool = False) -> dict[str, DocumentSnapshot]:
    """Every row without its body, by name."""
    stmt = select(DocumentSnapshot).options(defer(DocumentSnapshot.body_gz))
    if lock:
        stmt = stmt.with_for_update()
    return {row.name: row for row in (await session.execute(stmt)).scalars()}


async def load_metas(session: AsyncSession) -> dict[str, SnapshotMeta]:
    """Metadata of every stored document, by name (bodies stay in the database)."""
    stmt = select(DocumentSnapshot, func.length(DocumentSnapshot.body_gz)).options(
        defer(DocumentSnapshot.body_gz)
    )
    rows = (await session.execute(stmt)).all()
    return {row.name: meta_of(row, size_gz) for row, size_gz in rows}


async def store_version(
    session: AsyncSession,
    name: str,
    version: NewVersion,
    marks: tuple[SourceMark, ...],
    refreshed_at: datetime,
    now: datetime,
) -> tuple[SnapshotMeta, bool]:
    """Save a built body; a new ETag bumps the revision. Returns the metadata and if it changed."""
    row = await session.get(DocumentSnapshot, name, with_for_update=True)
    changed = row is None or row.etag != version.encoded.etag
    if row is None:
        row = DocumentSnapshot(name=name, revision=0)
        session.add(row)
    if changed:
        _set_body(row, version, now)
    row.sensitivity = version.sensitivity.label
    row.inputs_hash = version.inputs_hash
    _set_marks(row, marks, refreshed_at)
    await session.flush()
    return meta_of(row), changed


async def store_marks(
    session: AsyncSession,
    row: DocumentSnapshot,
    marks: tuple[SourceMark, ...],
    refreshed_at: datetime,
    inputs_hash: str | None = None,
) -> SnapshotMeta:
    """Save new freshness marks on a row loaded (and locked) in ``session``."""
    _set_marks(row, marks, refreshed_at)
    if inputs_hash is not None:
        row.inputs_hash = inputs_hash
    await session.flush()
    size_gz = await session.scalar(
        select(func.length(DocumentSnapshot.body_gz)).where(DocumentSnapshot.name == row.name)
    )
    return meta_of(row, int(size_gz or 0))


def _set_body(row: DocumentSnapshot, version: NewVersion, now: datetime) -> None:
    row.revision = (row.revision or 0) + 1
    row.etag = version.encoded.etag
    row.body_gz = version.encoded.gz
    row.size = len(version.encoded.json)
    row.entity_count = version.entity_count
    row.built_at = now


def _set_marks(row: DocumentSnapshot, marks: tuple[SourceMark, ...], refreshed: datetime) -> None:
    row.sources = [mark.to_json() for mark in marks]
    row.refreshed_at = refreshed
