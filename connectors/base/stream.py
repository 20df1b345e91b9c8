"""Streams: one kind of object read from a source, declared by class attributes."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar, Literal, Protocol

from connectors.base.canonical import CanonicalRecord
from connectors.base.types import EntityKind, Sensitivity

if TYPE_CHECKING:
    from connectors.base.connector import Connector

SyncMode = Literal["full", "incremental"]


class KnownSources(Protocol):
    """Looks up the source hashes stored for some of a stream's records."""

    async def __call__(self, source_ids: Sequence[str]) -> Mapping[str, str]:
        """``{source id: source hash}`` of the live stored records among ``source_ids``."""
        ...


@dataclass(frozen=True)
class SyncContext:
    """What a stream is told about the run it is part of.

    ``started_at`` is the signpost: no saved cursor may point past it, so that
    records changed while the run was going are read again next time.
    ``cursor`` is the state saved by the last committed run (None on a full run).
    ``known`` (given to streams with ``pure_normalize``) looks up the source
    hashes of stored records, so a record read exactly as before is not normalized
    again (see :mod:`connectors.base.source_hash`).
    """

    started_at: datetime
    mode: SyncMode = "full"
    cursor: dict[str, Any] | None = None
    known: KnownSources | None = None


@dataclass
class Page:
    """One page of normalized records.

    ``removed`` holds source ids the source reported deleted (delta queries).
    ``cursor`` is the state to save for the stream if the run commits after
    this page; the engine keeps the last non-None one it saw.
    ``unchanged`` holds source ids read exactly as stored (same source hash), not
    normalized again; ``source_hashes`` the source hash of records in ``records``.
    """

    records: list[CanonicalRecord]
    removed: list[str] = field(default_factory=list)
    cursor: dict[str, Any] | None = None
    unchanged: list[str] = field(default_factory=list)
    source_hashes: dict[str, str] = field(default_factory=dict)


class Stream(ABC):
    """Base of every stream. Subclasses declare, and override hooks only where the API is odd."""

    name: ClassVar[str]
    path: ClassVar[str] = ""
    primary_key: ClassVar[str] = "id"
    replication_key: ClassVar[str | None] = None
    record_model: ClassVar[type[CanonicalRecord]]
    records_path: ClassVar[str] = ""
    field_sensitivity: ClassVar[dict[str, Sensitivity]] = {}
    pure_normalize: ClassVar[bool] = False
    """True when a record's canonical form depends only on its raw form and the
    connection's config (no lookups, no other requests): a record read exactly as
    stored is then not normalized again. Bump ``normalizer_version`` when the
    stream's normalization changes, so every record is normalized anew."""
    normalizer_version: ClassVar[str] = "1"

    def __init__(self, connector: Connector[Any]) -> None:
        self.connector = connector

    @property
    def entity(self) -> EntityKind:
        """The canonical entity this stream's records are."""
        return self.record_model.entity

    @property
    def supports_incremental(self) -> bool:
        """Whether the stream can resume from a saved cursor."""
        return self.replication_key is not None

    @classmethod
    def sensitivities(cls) -> dict[str, Sensitivity]:
        """Sensitivity of every field: the canonical defaults, overridden by the stream."""
        fields = cls.record_model.model_fields
        merged = {name: Sensitivity.INTERNAL for name in fields if name != "source_id"}
        merged.update(cls.record_model.default_sensitivity)
        merged.update(cls.field_sensitivity)
        return merged

    @abstractmethod
    def pages(self, context: SyncContext) -> AsyncIterator[Page]:
        """Yield the stream's pages for one run.

        Args:
            context: the run's mode, signpost and the stream's saved cursor.

        Returns:
            An async iterator of pages; the last page's cursor is saved on commit.

        Raises:
            TransientSourceError: after retries are exhausted.
            FatalSourceError: the source answered garbage or a non-retriable error.
            SourceAuthError: the credentials were refused.
        """
