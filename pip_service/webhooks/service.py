"""Receiving a webhook: handshake, verification, replay window, event log, idempotency.

Everything here runs before the answer goes out and is cheap: the connector
verifies and parses; each event is logged once per (connection, event id)
with ``INSERT ... ON CONFLICT DO NOTHING`` (a redelivery finds its row and is
answered 2xx without doing anything again); new events go to the background
applier. A delivery that fails verification is logged as ``rejected`` with no
event id and changes nothing else.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import orjson
from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from connectors.base import registry
from connectors.base.webhooks import (
    WebhookCapable,
    WebhookEvent,
    WebhookMalformedError,
    WebhookRejectedError,
    WebhookRequest,
)
from pip_service.connections.models import Connection
from pip_service.connections.service import get_connection
from pip_service.db.session import transaction
from pip_service.errors import NotFoundError
from pip_service.logging import redact
from pip_service.webhooks.apply import Pending
from pip_service.webhooks.models import REJECTED, WebhookEventRow

if TYPE_CHECKING:
    from pip_service.runtime import Runtime

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Receipt:
    """The answer to send: status, body, media type."""

    status: int
    body: bytes
    media_type: str = "application/json"


def check_window(signed_at: datetime | None, now: datetime, seconds: int) -> None:
    """Refuse a signed time outside ``now ± seconds`` (401 too old, 400 in the future)."""
    if signed_at is None:
        return
    window = timedelta(seconds=seconds)
    if signed_at < now - window:
        raise WebhookRejectedError("The webhook timestamp is outside the replay window")
    if signed_at > now + window:
        raise WebhookMalformedError("The webhook timestamp is in the future")


async def receive(runtime: Runtime, *, connection_id: int, request: WebhookRequest) -> Receipt:
    """Handle one delivery to ``/webhooks/{connection_id}``."""
    began = time.monotonic()
    connection = await _webhook_connection(runtime, connection_id)
    provider = _provider(connection)
    async with runtime.connector_for(connection) as connector:
        assert isinstance(connector, WebhookCapable)
        reply = connector.handshake(request)
        if reply is not None:
            return Receipt(reply.status, reply.body, reply.media_type)
        try:
            events = _verified_events(
                connector, request, runtime.settings.webhook_replay_window_seconds
            )
        except (WebhookRejectedError, WebhookMalformedError) as err:
            await log_rejection(runtime, connection_id, provider, err.message, began)
            raise
    fresh, duplicates = await _log_events(runtime, connection_id, provider, events)
    runtime.webhooks.submit([Pending(row, connection_id, event, began) for row, event in fresh])
    body = {"accepted": len(fresh), "duplicates": duplicates}
    return Receipt(connector.webhook_ack_status, orjson.dumps(body))


def _verified_events(
    connector: WebhookCapable, request: WebhookRequest, window: int
) -> list[WebhookEvent]:
    verified = connector.verify_webhook(request)
    check_window(verified.signed_at, request.received_at, window)
    return connector.parse_events(request)


async def _webhook_connection(runtime: Runtime, connection_id: int) -> Connection:
    async with runtime.sessions() as session:
        connection = await get_connection(session, connection_id)
    if not issubclass(registry.get_connector_class(connection.connector_type), WebhookCapable):
        raise NotFoundError(f"Connection {connection_id} does not receive webhooks")
    return connection


def _provider(connection: Connection) -> str:
    connector_class: Any = registry.get_connector_class(connection.connector_type)
    return str(getattr(connector_class, "webhook_provider", "none"))


async def log_rejection(
    runtime: Runtime, connection_id: int, provider: str | None, reason: str, began: float
) -> None:
    """Log a delivery refused before any event could be trusted (no event id)."""
    async with transaction(runtime.sessions) as session:
        if provider is None:
            connection = await session.get(Connection, connection_id)
            if connection is None:
                return
            provider = _provider(connection)
        session.add(
            WebhookEventRow(
                connection_id=connection_id, provider=provider, verified=False,
                status=REJECTED, error=redact(reason)[:500], duration_ms=_ms(began),
            )
        )  # fmt: skip
    logger.warning("webhook for connection %s rejected: %s", connection_id, redact(reason))


async def _log_events(
    runtime: Runtime, connection_id: int, provider: str, events: list[WebhookEvent]
) -> tuple[list[tuple[int, WebhookEvent]], int]:
    fresh: list[tuple[int, WebhookEvent]] = []
    async with transaction(runtime.sessions) as session:
        for event in events:
            row_id = await _insert_once(session, connection_id, provider, event)
            if row_id is not None:
                fresh.append((row_id, event))
    return fresh, len(events) - len(fresh)


async def _insert_once(
    session: AsyncSession, connection_id: int, provider: str, event: WebhookEvent
) -> int | None:
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    values = {
        "connection_id": connection_id, "provider": provider, "event_id": event.event_id[:200],
        "verified": True, "status": "received", "object_refs": event.refs(),
    }  # fmt: skip
    stmt = (
        dialect.insert(WebhookEventRow)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["connection_id", "event_id"])
        .returning(WebhookEventRow.id)
    )
    row_id: int | None = await session.scalar(stmt)
    return row_id


async def list_events(
    session: AsyncSession, connection_id: int, limit: int = 100
) -> list[WebhookEventRow]:
    """The newest events of a connection."""
    rows = await session.scalars(
        select(WebhookEventRow)
        .where(WebhookEventRow.connection_id == connection_id)
        .order_by(WebhookEventRow.id.desc())
        .limit(limit)
    )
    return list(rows)


def _ms(began: float) -> int:
    return int((time.monotonic() - began) * 1000)
