"""Saved incremental cursors: read when a run is planned, written only in the run's commit."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from pip_service.connections.models import StreamCursor
from pip_service.db.base import utcnow


async def load_cursors(session: AsyncSession, connection_id: int) -> dict[str, dict[str, Any]]:
    """The saved cursor of every stream of a connection, by stream name."""
    rows = await session.scalars(
        select(StreamCursor).where(StreamCursor.connection_id == connection_id)
    )
    return {row.stream: dict(row.state) for row in rows}


async def save_cursors(
    session: AsyncSession, *, connection_id: int, run_id: int, cursors: dict[str, dict[str, Any]]
) -> None:
    """Store the cursors a committing run ended with (inside its transaction)."""
    for stream, state in cursors.items():
        row = await session.get(StreamCursor, (connection_id, stream))
        if row is None:
            session.add(
                StreamCursor(connection_id=connection_id, stream=stream, state=state, run_id=run_id)
            )
            continue
        row.state, row.run_id, row.updated_at = state, run_id, utcnow()
    await session.flush()
