"""What the PIP published to OPAL, and which clients reported applying it.

``opal_publications`` holds one row per DataUpdate (document, revision, patch or
refetch, bytes); ``opal_deliveries`` one row per entry of each client report
posted to the update's callback (``DataUpdateReport``): fetched, saved, hash.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Integer, String, Text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from opal.models import DataUpdateReport
from pip_service.db.base import Base, BigIntPK, UTCDateTime, utcnow


class OpalPublication(Base):
    """One DataUpdate sent to the OPAL server."""

    __tablename__ = "opal_publications"

    update_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    document: Mapped[str] = mapped_column(String(100), index=True)
    revision: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(16), doc="patch or refetch")
    size: Mapped[int] = mapped_column(Integer, doc="bytes of the DataUpdate JSON")
    reason: Mapped[str] = mapped_column(String(200))
    published_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    status: Mapped[str] = mapped_column(String(16), default="published")
    error: Mapped[str | None] = mapped_column(Text, nullable=True)


class OpalDelivery(Base):
    """One entry of one client's report: did it fetch and save it."""

    __tablename__ = "opal_deliveries"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    update_id: Mapped[str] = mapped_column(String(64), index=True)
    client: Mapped[str] = mapped_column(String(200))
    dst_path: Mapped[str] = mapped_column(String(200))
    save_method: Mapped[str] = mapped_column(String(8))
    fetched: Mapped[bool] = mapped_column(Boolean, default=False)
    saved: Mapped[bool] = mapped_column(Boolean, default=False)
    hash: Mapped[str | None] = mapped_column(String(128), nullable=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


async def record_report(session: AsyncSession, report: DataUpdateReport, client: str) -> int:
    """Store a client's report; returns how many entries it did not save."""
    failed = 0
    for item in report.reports:
        session.add(
            OpalDelivery(
                update_id=(report.update_id or "")[:64], client=client[:200],
                dst_path=item.entry.dst_path[:200], save_method=item.entry.save_method,
                fetched=bool(item.fetched), saved=bool(item.saved), hash=item.hash,
            )
        )  # fmt: skip
        failed += 0 if item.saved else 1
    return failed
