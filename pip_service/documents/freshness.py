"""When a document was last refreshed, per source and overall.

A document is as fresh as its least recently refreshed source: each source's
mark is the latest of the connection's ``last_success_at``, the mark kept in
the snapshot and "now" when the rebuild was triggered by that connection's
successful sync. A source seen for the first time without any of these gets
the build time. A document without sources is refreshed whenever it is rebuilt.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from pip_service.documents.schemas import SnapshotMeta, SourceMark
from pip_service.documents.sources import Source


def marks_for(
    source_ids: Iterable[int],
    sources: dict[int, Source],
    previous: Iterable[SourceMark],
    refreshed: set[int],
    now: datetime,
) -> tuple[SourceMark, ...]:
    """Marks of the sources of a document, sorted by connection name."""
    before = {mark.connection_id: mark.last_success_at for mark in previous}
    marks = []
    for source_id in source_ids:
        source = sources[source_id]
        candidates = [source.last_success_at, before.get(source_id)]
        if source_id in refreshed:
            candidates.append(now)
        known = [moment for moment in candidates if moment is not None]
        at = max(known) if known else now
        marks.append(SourceMark(source.id, source.name, source.connector, at))
    return tuple(sorted(marks, key=lambda mark: (mark.name, mark.connection_id)))


def refreshed_at(marks: Iterable[SourceMark], now: datetime) -> datetime:
    """The oldest mark (``now`` when the document has no sources)."""
    return min((mark.last_success_at for mark in marks), default=now)


def is_stale(meta: SnapshotMeta, ttl_seconds: int, now: datetime) -> bool:
    """Past ``refreshed_at + ttl`` without a successful refresh."""
    return now >= meta.expires_at(ttl_seconds)
