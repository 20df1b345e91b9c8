"""Live progress of a run: given to a callback on every page, stored on the run row now and then."""

from __future__ import annotations

import inspect
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from pip_service.sync.models import SyncRun

PERSIST_EVERY_SECONDS = 2.0


@dataclass(frozen=True)
class SyncProgress:
    """Figures of a running sync."""

    run_id: int
    connection_id: int
    stream: str
    pages: int
    records: int
    elapsed_seconds: float
    records_per_second: float

    def as_dict(self) -> dict[str, Any]:
        """The figures as JSON-ready values."""
        return asdict(self)


ProgressCallback = Callable[[SyncProgress], Awaitable[None] | None]


class ProgressTracker:
    """Counts pages and records; tells when the run row is due for an update."""

    def __init__(
        self,
        *,
        run_id: int,
        connection_id: int,
        callback: ProgressCallback | None,
        persist_every: float = PERSIST_EVERY_SECONDS,
    ) -> None:
        self.run_id = run_id
        self.connection_id = connection_id
        self.callback = callback
        self.persist_every = persist_every
        self.pages = 0
        self.records = 0
        self.latest: SyncProgress | None = None
        self._began = time.monotonic()
        self._persisted = self._began

    def page_done(self, stream: str, records: int) -> SyncProgress:
        """Count one page of ``records`` records and return the figures so far."""
        self.pages += 1
        self.records += records
        elapsed = time.monotonic() - self._began
        rate = self.records / elapsed if elapsed > 0 else 0.0
        self.latest = SyncProgress(
            self.run_id,
            self.connection_id,
            stream,
            self.pages,
            self.records,
            round(elapsed, 3),
            round(rate, 1),
        )
        return self.latest

    def as_dict(self) -> dict[str, Any]:
        """The latest figures (empty before the first page)."""
        return self.latest.as_dict() if self.latest else {}

    async def report(self, progress: SyncProgress) -> None:
        """Hand the figures to the callback (sync or async)."""
        if self.callback is None:
            return
        outcome = self.callback(progress)
        if inspect.isawaitable(outcome):
            await outcome

    async def persist_if_due(self, session: AsyncSession, progress: SyncProgress) -> None:
        """Store the figures on the run row when the last store is old enough."""
        now = time.monotonic()
        if now - self._persisted < self.persist_every:
            return
        self._persisted = now
        await session.execute(
            update(SyncRun)
            .where(SyncRun.id == self.run_id)
            .values(progress=progress.as_dict(), fetched=progress.records, pages=progress.pages)
        )
