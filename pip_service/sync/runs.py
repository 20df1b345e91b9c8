"""The sync run log: a row per run, opened before fetching and closed with its outcome.

A run row left ``running`` by a process that died is closed as failed
(``interrupted``) by the next run of the same connection, which holds the lock
and therefore knows nobody else is running it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from pip_service.connections.models import Connection
from pip_service.db.base import utcnow
from pip_service.sync.breaker import BreakerPolicy, record_failure
from pip_service.sync.models import SyncRun
from pip_service.sync.progress import ProgressTracker
from pip_service.sync.writer import discard_staged

logger = logging.getLogger(__name__)

RUNNING, SUCCESS, FAILED, CANCELLED = "running", "success", "failed", "cancelled"
INTERRUPTED_MESSAGE = "the process running this sync stopped before it finished"


@dataclass(frozen=True)
class Failure:
    """Why a run did not commit; ``message`` is already free of secrets."""

    status: str
    code: str
    message: str
    needs_reconnect: bool = False


async def open_run(
    sessions: async_sessionmaker[AsyncSession],
    *,
    connection_id: int,
    mode: str,
    trigger: str,
    correlation_id: str,
) -> SyncRun:
    """Close stale runs of the connection, then add this run's row (status ``running``)."""
    async with sessions.begin() as session:
        await close_interrupted(session, connection_id)
        run = SyncRun(
            connection_id=connection_id,
            mode=mode,
            trigger=trigger,
            status=RUNNING,
            correlation_id=correlation_id,
            progress={},
        )
        session.add(run)
        await session.flush()
    return run


async def close_interrupted(session: AsyncSession, connection_id: int) -> list[int]:
    """Mark runs still ``running`` as failed/interrupted and drop their staged rows."""
    stale = list(
        await session.scalars(
            select(SyncRun.id).where(
                SyncRun.connection_id == connection_id, SyncRun.status == RUNNING
            )
        )
    )
    if not stale:
        return []
    await session.execute(
        update(SyncRun)
        .where(SyncRun.id.in_(stale))
        .values(
            status=FAILED, error_code="interrupted", error=INTERRUPTED_MESSAGE, finished_at=utcnow()
        )
    )
    await discard_staged(session, stale)
    logger.warning("closed interrupted sync runs %s of connection %s", stale, connection_id)
    return stale


async def close_unsuccessful(
    sessions: async_sessionmaker[AsyncSession],
    *,
    run: SyncRun,
    failure: Failure,
    tracker: ProgressTracker,
    policy: BreakerPolicy,
) -> None:
    """Record a failed or cancelled run; nothing it fetched is kept."""
    now = utcnow()
    async with sessions.begin() as session:
        await session.execute(
            update(SyncRun)
            .where(SyncRun.id == run.id)
            .values(
                mode=run.mode,
                status=failure.status,
                error_code=failure.code,
                error=failure.message,
                finished_at=now,
                fetched=tracker.records,
                pages=tracker.pages,
                progress=tracker.as_dict(),
            )
        )
        await discard_staged(session, [run.id])
        connection = await session.get(Connection, run.connection_id)
        if connection is None:  # deleted while running
            return
        connection.last_sync_at, connection.last_sync_status = now, failure.status
        if failure.status == FAILED:
            record_failure(
                connection,
                policy,
                now,
                reason=failure.message,
                needs_reconnect=failure.needs_reconnect,
            )
