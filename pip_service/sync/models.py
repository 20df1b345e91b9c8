"""The sync run log."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from pip_service.db.base import Base, BigIntPK, JSONType, UTCDateTime, utcnow


class SyncRun(Base):
    """One run of one connection.

    ``status``: ``running``, ``success``, ``failed``, ``partial``, ``cancelled``.
    ``progress`` holds live figures while running (records, pages, rate).
    """

    __tablename__ = "sync_runs"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    connection_id: Mapped[int] = mapped_column(
        ForeignKey("connections.id", ondelete="CASCADE"), index=True
    )
    mode: Mapped[str] = mapped_column(String(16))
    trigger: Mapped[str] = mapped_column(String(32), default="manual")
    status: Mapped[str] = mapped_column(String(16), default="running", index=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    fetched: Mapped[int] = mapped_column(Integer, default=0)
    created: Mapped[int] = mapped_column(Integer, default=0)
    updated: Mapped[int] = mapped_column(Integer, default=0)
    unchanged: Mapped[int] = mapped_column(Integer, default=0)
    deleted: Mapped[int] = mapped_column(Integer, default=0)
    pages: Mapped[int] = mapped_column(Integer, default=0)
    error_code: Mapped[str | None] = mapped_column(String(64), nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    correlation_id: Mapped[str] = mapped_column(String(64), index=True)
    progress: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)


class SyncStagedRecord(Base):
    """A record change a running sync has fetched but not yet applied.

    Rows are written page by page while the run goes, read by nobody but the
    engine, and applied to ``records`` in the run's one commit transaction (then
    deleted). A failed, cancelled or killed run leaves ``records`` untouched;
    its staged rows are removed by the next run (or with the run row).
    ``op`` is ``upsert`` (data and hash set), ``remove`` (the source deleted it) or
    ``source`` (content unchanged, only the record's source hash is new).
    """

    __tablename__ = "sync_staged_records"

    run_id: Mapped[int] = mapped_column(
        ForeignKey("sync_runs.id", ondelete="CASCADE"), primary_key=True
    )
    stream: Mapped[str] = mapped_column(String(100), primary_key=True)
    external_id: Mapped[str] = mapped_column(String(500), primary_key=True)
    op: Mapped[str] = mapped_column(String(8))
    entity: Mapped[str] = mapped_column(String(32))
    entity_key: Mapped[str | None] = mapped_column(String(500), nullable=True)
    data: Mapped[str | None] = mapped_column(Text, nullable=True, doc="Canonical JSON")
    content_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)
    source_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)
