"""The webhook event log: one row per event received (and per rejected delivery)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from pip_service.db.base import Base, BigIntPK, JSONType, UTCDateTime, utcnow

RECEIVED, APPLIED, FAILED, REJECTED = "received", "applied", "failed", "rejected"


class WebhookEventRow(Base):
    """An event a source sent: when it came, whether it verified, when it was applied.

    ``event_id`` is unique per connection (a redelivery is not applied twice); a
    delivery that failed verification is logged with no event id (it cannot be
    trusted) and status ``rejected``. ``object_refs`` names the object, never
    the payload.
    """

    __tablename__ = "webhook_events"
    __table_args__ = (UniqueConstraint("connection_id", "event_id"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    connection_id: Mapped[int] = mapped_column(
        ForeignKey("connections.id", ondelete="CASCADE"), index=True
    )
    provider: Mapped[str] = mapped_column(String(32))
    event_id: Mapped[str | None] = mapped_column(String(200), nullable=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    verified: Mapped[bool] = mapped_column(Boolean, default=False)
    applied_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    status: Mapped[str] = mapped_column(String(16), default=RECEIVED)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    duration_ms: Mapped[int | None] = mapped_column(Integer, nullable=True)
    object_refs: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
