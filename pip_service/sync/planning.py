"""Which mode a run uses, and how each stream is read in it.

A requested ``full`` run reads every stream from the start. ``incremental``
resumes every stream that supports it from its saved cursor; a stream without
one is read in full. With no mode requested, a run is incremental when every
stream can resume, unless the connection's periodic full reconcile is due
(``full_sync_every``: after that many runs, the next one is full).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from connectors.base.connector import Connector
from connectors.base.stream import KnownSources, Page, Stream, SyncContext, SyncMode
from pip_service.connections.models import Connection
from pip_service.sync.models import SyncRun

FULL: SyncMode = "full"
INCREMENTAL: SyncMode = "incremental"


@dataclass(frozen=True)
class StreamPlan:
    """One stream of a run with the mode and cursor it is read with."""

    stream: Stream
    mode: SyncMode
    cursor: dict[str, Any] | None

    @property
    def full(self) -> bool:
        """Whether the stream is read in full (so records it does not return are deleted)."""
        return self.mode == FULL

    def pages(self, started_at: datetime, known: KnownSources | None = None) -> AsyncIterator[Page]:
        """The stream's pages for a run that started at ``started_at`` (the signpost).

        ``known`` is passed on to streams with ``pure_normalize`` only.
        """
        context = SyncContext(
            started_at=started_at,
            mode=self.mode,
            cursor=self.cursor,
            known=known if self.stream.pure_normalize else None,
        )
        return self.stream.pages(context)


async def resolve_mode(
    session: AsyncSession,
    connection: Connection,
    connector: Connector[Any],
    requested: Literal["full", "incremental"] | None,
    cursors: dict[str, dict[str, Any]],
) -> SyncMode:
    """The run's mode: the one requested, else incremental when possible and no reconcile is due."""
    if requested is not None:
        return requested
    streams = connector.get_streams()
    if not all(s.supports_incremental and s.name in cursors for s in streams):
        return FULL
    if await _reconcile_due(session, connection):
        return FULL
    return INCREMENTAL


def plan_streams(
    connector: Connector[Any], mode: SyncMode, cursors: dict[str, dict[str, Any]]
) -> list[StreamPlan]:
    """Every stream of the connector with the mode and cursor it is read with."""
    plans = []
    for stream in connector.get_streams():
        cursor = cursors.get(stream.name)
        resumable = mode == INCREMENTAL and stream.supports_incremental and cursor is not None
        plans.append(
            StreamPlan(stream, INCREMENTAL if resumable else FULL, cursor if resumable else None)
        )
    return plans


async def _reconcile_due(session: AsyncSession, connection: Connection) -> bool:
    every = connection.full_sync_every or 0
    if every <= 0:
        return False
    if every == 1:
        return True
    modes = list(
        await session.scalars(
            select(SyncRun.mode)
            .where(SyncRun.connection_id == connection.id, SyncRun.status == "success")
            .order_by(SyncRun.id.desc())
            .limit(every - 1)
        )
    )
    return len(modes) == every - 1 and all(mode == INCREMENTAL for mode in modes)
