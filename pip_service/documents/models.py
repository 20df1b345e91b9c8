"""The last-known-good document snapshots."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from pip_service.db.base import Base, JSONType, UTCDateTime, utcnow


class DocumentSnapshot(Base):
    """The current version of one document, kept so a flushed cache refills without sources.

    ``body_gz`` is the gzip-compressed canonical JSON body; ``etag`` its hash.
    ``inputs_hash`` summarizes the records it was built from, so an unchanged
    input skips the rebuild. ``refreshed_at`` is the last successful sync of
    its inputs (freshness); ``built_at`` when the body last changed.
    """

    __tablename__ = "document_snapshots"

    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    revision: Mapped[int] = mapped_column(Integer, default=0)
    etag: Mapped[str] = mapped_column(String(80))
    sensitivity: Mapped[str] = mapped_column(String(16))
    body_gz: Mapped[bytes] = mapped_column(LargeBinary)
    size: Mapped[int] = mapped_column(Integer)
    entity_count: Mapped[int] = mapped_column(Integer, default=0)
    inputs_hash: Mapped[str] = mapped_column(String(64), default="")
    sources: Mapped[list[Any]] = mapped_column(JSONType, default=list)
    built_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    refreshed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
