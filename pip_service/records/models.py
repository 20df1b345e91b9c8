"""The record table: one row per (connection, stream, external id)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from pip_service.db.base import Base, BigIntPK, JSONType, UTCDateTime, utcnow


class Record(Base):
    """A canonical record as the last committed run saw it.

    ``entity`` and ``entity_key`` are the canonical entity kind and merge key
    (email, serial number...), so documents are built without re-parsing.
    ``deleted_at`` is set only after a complete full run no longer saw it, or
    when the source reported it removed.
    """

    __tablename__ = "records"
    __table_args__ = (
        UniqueConstraint("connection_id", "stream", "external_id"),
        Index("ix_records_entity_key", "entity", "entity_key"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    connection_id: Mapped[int] = mapped_column(
        ForeignKey("connections.id", ondelete="CASCADE"), index=True
    )
    stream: Mapped[str] = mapped_column(String(100))
    entity: Mapped[str] = mapped_column(String(32))
    external_id: Mapped[str] = mapped_column(String(500))
    entity_key: Mapped[str] = mapped_column(String(500))
    data: Mapped[dict[str, Any]] = mapped_column(JSONType)
    content_hash: Mapped[str] = mapped_column(String(64))
    source_hash: Mapped[str | None] = mapped_column(
        String(64), nullable=True, doc="Hash of the raw record (pure-normalize streams only)"
    )
    first_seen_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    last_run_id: Mapped[int | None] = mapped_column(nullable=True)
    is_demo: Mapped[bool] = mapped_column(Boolean, default=False, index=True)
