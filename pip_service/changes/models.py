"""The change_request_links table: which change an idempotency key created, and where."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from pip_service.db.base import Base, BigIntPK, UTCDateTime, utcnow


class ChangeRequestLink(Base):
    """One deployment intent's change request; the idempotency key is unique.

    ``status`` is ``pending`` while the ITSM system is asked (or after a failed
    attempt; ``error`` says why) and ``created`` once the change is known.
    ``request_hash`` fingerprints the request, so a key reused for a different
    request is refused instead of answered with the wrong change.
    """

    __tablename__ = "change_request_links"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    connection_id: Mapped[int] = mapped_column(
        ForeignKey("connections.id", ondelete="CASCADE"), index=True
    )
    request_hash: Mapped[str] = mapped_column(String(64))
    correlation_id: Mapped[str] = mapped_column(String(200))
    change_number: Mapped[str | None] = mapped_column(String(40), nullable=True)
    source_id: Mapped[str | None] = mapped_column(String(100), nullable=True)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    attempt_started_at: Mapped[datetime | None] = mapped_column(
        UTCDateTime(), nullable=True, doc="Set while one request is asking the ITSM system"
    )
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
