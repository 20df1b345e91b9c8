"""The connection table."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from pip_service.db.base import Base, BigIntPK, JSONType, UTCDateTime, utcnow


class Connection(Base):
    """A configured source: which connector, its non-secret config, encrypted secrets, state.

    ``state`` is one of: ``active``, ``paused``, ``needs_reconnect``, ``circuit_open``.
    """

    __tablename__ = "connections"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    connector_type: Mapped[str] = mapped_column(String(100), index=True)
    config: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    secrets: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    secret_key_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    secret_fields: Mapped[list[str]] = mapped_column(
        JSONType, default=list, doc="Names (never values) of the secrets stored in ``secrets``"
    )
    secret_ref: Mapped[str | None] = mapped_column(
        String(500), nullable=True, doc="External secret reference (vault:, env:, file:)"
    )
    interval_seconds: Mapped[int | None] = mapped_column(Integer, nullable=True)
    full_sync_every: Mapped[int] = mapped_column(
        Integer, default=24, doc="Every Nth scheduled run is a full reconcile"
    )
    include_restricted: Mapped[bool] = mapped_column(Boolean, default=False)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    is_demo: Mapped[bool] = mapped_column(Boolean, default=False, index=True)
    state: Mapped[str] = mapped_column(String(32), default="active")
    state_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    consecutive_failures: Mapped[int] = mapped_column(Integer, default=0)
    circuit_open_until: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    last_sync_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    last_success_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    last_sync_status: Mapped[str | None] = mapped_column(String(32), nullable=True)
    created_by: Mapped[str | None] = mapped_column(String(200), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


class StreamCursor(Base):
    """The saved incremental cursor of one stream of one connection."""

    __tablename__ = "stream_cursors"

    connection_id: Mapped[int] = mapped_column(
        ForeignKey("connections.id", ondelete="CASCADE"), primary_key=True
    )
    stream: Mapped[str] = mapped_column(String(100), primary_key=True)
    state: Mapped[dict[str, Any]] = mapped_column(JSONType)
    run_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
