"""What the document service hands out: served documents, build results, listings."""

from __future__ import annotations

import gzip
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import orjson

from connectors.base.types import Sensitivity


@dataclass(frozen=True)
class SourceMark:
    """A connection feeding a document, and when it last refreshed successfully."""

    connection_id: int
    name: str
    connector: str
    last_success_at: datetime

    def to_json(self) -> dict[str, Any]:
        """The form stored in the snapshot row and the cache."""
        return {
            "connection_id": self.connection_id,
            "name": self.name,
            "connector": self.connector,
            "last_success_at": self.last_success_at.isoformat(),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SourceMark:
        """Read the stored form back."""
        return cls(
            connection_id=int(data["connection_id"]),
            name=str(data["name"]),
            connector=str(data["connector"]),
            last_success_at=datetime.fromisoformat(data["last_success_at"]),
        )


@dataclass(frozen=True)
class SnapshotMeta:
    """Everything about a stored document version except its body."""

    name: str
    revision: int
    etag: str
    sensitivity: Sensitivity
    size: int
    size_gz: int
    entity_count: int
    built_at: datetime
    refreshed_at: datetime
    sources: tuple[SourceMark, ...] = ()

    def expires_at(self, ttl_seconds: int) -> datetime:
        """When the data goes stale without another successful refresh."""
        return self.refreshed_at + timedelta(seconds=ttl_seconds)

    def to_bytes(self) -> bytes:
        """Serialized for the cache."""
        return orjson.dumps(
            {
                **{k: getattr(self, k) for k in ("name", "revision", "etag", "size", "size_gz")},
                "entity_count": self.entity_count,
                "sensitivity": int(self.sensitivity),
                "built_at": self.built_at.isoformat(),
                "refreshed_at": self.refreshed_at.isoformat(),
                "sources": [mark.to_json() for mark in self.sources],
            }
        )

    @classmethod
    def from_bytes(cls, raw: bytes) -> SnapshotMeta:
        """Read a cached form back."""
        data = orjson.loads(raw)
        return cls(
            name=data["name"],
            revision=data["revision"],
            etag=data["etag"],
            sensitivity=Sensitivity(data["sensitivity"]),
            size=data["size"],
            size_gz=data["size_gz"],
            entity_count=data["entity_count"],
            built_at=datetime.fromisoformat(data["built_at"]),
            refreshed_at=datetime.fromisoformat(data["refreshed_at"]),
            sources=tuple(SourceMark.from_json(mark) for mark in data["sources"]),
        )


@dataclass(frozen=True)
class ServedDocument:
    """A document as the OPAL endpoint serves it."""

    name: str
    body_gz: bytes
    etag: str
    revision: int
    sensitivity: Sensitivity
    ttl_seconds: int
    built_at: datetime
    refreshed_at: datetime
    stale: bool
    size: int
    entity_count: int

    @property
    def expires_at(self) -> datetime:
        """``refreshed_at + ttl_seconds``: stale from then on."""
        return self.refreshed_at + timedelta(seconds=self.ttl_seconds)

    def body(self) -> bytes:
        """The uncompressed JSON body."""
        return gzip.decompress(self.body_gz)

    def data(self) -> Any:
        """The parsed body."""
        return orjson.loads(self.body())


@dataclass(frozen=True)
class BuildResult:
    """What ``rebuild`` did to one document."""

    name: str
    revision: int
    etag: str
    changed: bool
    skipped: bool
    entity_count: int
    size: int
    sensitivity: Sensitivity
    seconds: float


@dataclass(frozen=True)
class DocumentInfo:
    """A document as the admin API lists it; ``built`` False until its first build."""

    name: str
    dst_path: str
    built: bool
    revision: int = 0
    etag: str | None = None
    sensitivity: Sensitivity | None = None
    ttl_seconds: int | None = None
    stale_action: str | None = None
    size: int = 0
    size_gz: int = 0
    entity_count: int = 0
    built_at: datetime | None = None
    refreshed_at: datetime | None = None
    expires_at: datetime | None = None
    stale: bool = False
    sources: list[SourceMark] = field(default_factory=list)
