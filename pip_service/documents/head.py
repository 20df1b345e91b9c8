"""A document version without its body: what a 304 answer needs (ETag, revision, freshness)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from connectors.base.types import Sensitivity
from pip_service.documents.schemas import ServedDocument, SnapshotMeta


@dataclass(frozen=True)
class DocumentHead:
    """A servable version's ETag and freshness; ``body_gz`` only when it was read anyway."""

    name: str
    etag: str
    revision: int
    sensitivity: Sensitivity
    ttl_seconds: int
    built_at: datetime
    refreshed_at: datetime
    stale: bool
    size: int
    entity_count: int
    body_gz: bytes | None = None

    @classmethod
    def of(
        cls, meta: SnapshotMeta, ttl_seconds: int, stale: bool, body_gz: bytes | None = None
    ) -> DocumentHead:
        """The head of a stored version."""
        return cls(
            name=meta.name,
            etag=meta.etag,
            revision=meta.revision,
            sensitivity=meta.sensitivity,
            ttl_seconds=ttl_seconds,
            built_at=meta.built_at,
            refreshed_at=meta.refreshed_at,
            stale=stale,
            size=meta.size,
            entity_count=meta.entity_count,
            body_gz=body_gz,
        )

    def with_body(self, body_gz: bytes) -> ServedDocument:
        """The served document: this head and the body of its ETag."""
        return ServedDocument(
            name=self.name,
            body_gz=body_gz,
            etag=self.etag,
            revision=self.revision,
            sensitivity=self.sensitivity,
            ttl_seconds=self.ttl_seconds,
            built_at=self.built_at,
            refreshed_at=self.refreshed_at,
            stale=self.stale,
            size=self.size,
            entity_count=self.entity_count,
        )
