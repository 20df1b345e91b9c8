"""Targeted refresh: apply verified webhook events in the background.

Events queue up; one worker takes everything queued, reads each object again
from the source (or takes the payload when it is trusted), upserts or deletes
its record through the sync writer, then rebuilds only the documents fed by
the entity kinds that changed, once for the whole batch, and publishes them to
OPAL. A connector that cannot read one object gets an incremental sync instead;
a subscription lifecycle event (Graph ``missed``, ``subscriptionRemoved``...) too.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from connectors.base import registry
from connectors.base.errors import PipError
from connectors.base.webhooks import FetchUnsupportedError, ObjectChange, WebhookEvent
from pip_service.connections.models import Connection
from pip_service.connections.service import get_connection
from pip_service.db.base import utcnow
from pip_service.db.session import transaction
from pip_service.records.models import Record
from pip_service.sync.writer import remove_record, to_row, upsert_record
from pip_service.webhooks.models import APPLIED, FAILED, WebhookEventRow

if TYPE_CHECKING:
    from pip_service.runtime import Runtime

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Pending:
    """A verified event waiting to be applied."""

    row_id: int
    connection_id: int
    event: WebhookEvent
    received: float


@dataclass
class _Outcome:
    keys: dict[str, set[str]]
    """Entity kind → the entity keys whose records changed (before and after)."""
    resync: bool = False
    error: str | None = None


class WebhookApplier:
    """The background worker of one runtime."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self._queue: asyncio.Queue[Pending] = asyncio.Queue()
        self._worker: asyncio.Task[None] | None = None
        self.idle = asyncio.Event()
        self.idle.set()

    def submit(self, items: list[Pending]) -> None:
        """Queue events; the worker starts on first use."""
        for item in items:
            self._queue.put_nowait(item)
        if items:
            self.idle.clear()
        if self._worker is None or self._worker.done():
            self._worker = asyncio.create_task(self._run(), name="webhook-applier")

    async def wait_idle(self) -> None:
        """Wait until everything queued was applied (tests, benchmarks)."""
        await self.idle.wait()

    async def aclose(self) -> None:
        """Stop the worker (queued events stay received, not applied)."""
        if self._worker is not None:
            self._worker.cancel()
            await asyncio.gather(self._worker, return_exceptions=True)
            self._worker = None

    async def _run(self) -> None:
        while True:
            batch = [await self._queue.get()]
            while not self._queue.empty():
                batch.append(self._queue.get_nowait())
            try:
                await self.apply(batch)
            except Exception:  # the worker must survive anything one batch does
                logger.exception("applying %d webhook events failed", len(batch))
            if self._queue.empty():
                self.idle.set()

    async def apply(self, batch: list[Pending]) -> None:
        """Apply a batch: objects first, then one rebuild and publish."""
        keys: dict[str, set[str]] = {}
        resync: set[int] = set()
        outcomes: list[tuple[Pending, _Outcome]] = []
        for item in batch:
            outcome = await self._apply_one(item)
            for entity, changed in outcome.keys.items():
                keys.setdefault(entity, set()).update(changed)
            if outcome.resync:
                resync.add(item.connection_id)
            outcomes.append((item, outcome))
        if keys:
            await self.runtime.rebuild_documents(sorted(keys), changed_keys=keys)
        for item, outcome in outcomes:
            await _finish(self.runtime, item, outcome)
        for connection_id in sorted(resync):
            await self._resync(connection_id)

    async def _apply_one(self, item: Pending) -> _Outcome:
        try:
            return await self._refresh(item)
        except FetchUnsupportedError:
            return _Outcome({}, resync=True)
        except PipError as err:
            return _Outcome({}, error=f"{err.code}: {err.message}"[:500])
        except Exception as err:  # recorded on the event; the batch goes on
            logger.exception("webhook event %s failed", item.event.event_id)
            return _Outcome({}, error=type(err).__name__)

    async def _refresh(self, item: Pending) -> _Outcome:
        event = item.event
        if event.lifecycle is not None:
            return await self._lifecycle(item)
        async with self.runtime.sessions() as session:
            connection = await get_connection(session, item.connection_id)
        async with self.runtime.connector_for(connection) as connector:
            change: ObjectChange = await connector.fetch_object(event)  # type: ignore[attr-defined]
        changed = await store_change(self.runtime, connection, change)
        return _Outcome(changed)

    async def _lifecycle(self, item: Pending) -> _Outcome:
        async with self.runtime.sessions() as session:
            connection = await get_connection(session, item.connection_id)
        async with self.runtime.connector_for(connection) as connector:
            handler = getattr(connector, "handle_lifecycle", None)
            resync = bool(await handler(item.event)) if handler is not None else True
        return _Outcome({}, resync=resync)

    async def _resync(self, connection_id: int) -> None:
        try:
            await self.runtime.trigger_sync(connection_id, mode="incremental", actor="webhook")
        except PipError as err:  # already running: that run reads the change too
            logger.info("webhook sync of connection %s not started: %s", connection_id, err.code)


async def store_change(
    runtime: Runtime, connection: Connection, change: ObjectChange
) -> dict[str, set[str]]:
    """Upsert or delete one object's record; entity kind → the entity keys it changed."""
    now = utcnow()
    async with transaction(runtime.sessions) as session:
        before = await _live_key(session, connection.id, change.stream, change.source_id)
        if change.record is None:
            gone = await remove_record(
                session, connection_id=connection.id, stream=change.stream,
                external_id=change.source_id, now=now,
            )  # fmt: skip
            return _keys(before) if gone else {}
        row = to_row(change.record)
        changed = await upsert_record(
            session, connection_id=connection.id, stream=change.stream, row=row,
            is_demo=connection.is_demo, now=now,
        )  # fmt: skip
    return _keys(before, (row.entity, row.entity_key)) if changed else {}


async def _live_key(
    session: AsyncSession, connection_id: int, stream: str, external_id: str
) -> tuple[str, str] | None:
    """The entity kind and key of the live record of one object, if there is one."""
    found = (
        await session.execute(
            select(Record.entity, Record.entity_key).where(
                Record.connection_id == connection_id,
                Record.stream == stream,
                Record.external_id == external_id,
                Record.deleted_at.is_(None),
            )
        )
    ).first()
    return None if found is None else (str(found[0]), str(found[1]))


def _keys(*found: tuple[str, str] | None) -> dict[str, set[str]]:
    keys: dict[str, set[str]] = {}
    for item in found:
        if item is not None:
            keys.setdefault(item[0], set()).add(item[1])
    return keys


def stream_entity(connection: Connection, stream: str) -> str:
    """The entity kind of a stream of the connection's connector."""
    connector_class = registry.get_connector_class(connection.connector_type)
    for stream_class in connector_class.streams:
        if stream_class.name == stream:
            return str(stream_class.record_model.entity.value)
    raise PipError(f"Connector {connection.connector_type} has no stream {stream!r}")


async def _finish(runtime: Runtime, item: Pending, outcome: _Outcome) -> None:
    values: dict[str, Any] = {
        "status": FAILED if outcome.error else APPLIED,
        "error": outcome.error,
        "duration_ms": int((time.monotonic() - item.received) * 1000),
    }
    if outcome.error is None:
        values["applied_at"] = utcnow()
    async with transaction(runtime.sessions) as session:
        await session.execute(
            update(WebhookEventRow).where(WebhookEventRow.id == item.row_id).values(**values)
        )
