"""Keeping push subscriptions alive: create them, renew them before they expire.

Microsoft Graph subscriptions for users and groups last at most 41,760 minutes
(under 29 days). Every hour the scheduler runs :func:`keep_subscriptions`: each
enabled connection whose connector has ``ensure_subscriptions`` and a configured
``webhook_client_state`` gets its subscriptions created, or renewed when they
expire within the connector's renewal margin (three days for Graph), pointing at
``<PIP_PUBLIC_URL>/webhooks/{connection_id}``. A subscription Graph removed is
recreated by the next run. A failing connection is logged and the others go on.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import select

from connectors.base import registry
from connectors.base.errors import PipError
from pip_service.connections.models import Connection
from pip_service.logging import redact

if TYPE_CHECKING:
    from pip_service.runtime import Runtime

logger = logging.getLogger(__name__)

JOB_ID = "webhook-subscriptions"
EVERY_SECONDS = 3600


def notification_url(runtime: Runtime, connection_id: int) -> str:
    """Where the source delivers: the connection's webhook URL on the public base URL."""
    return f"{runtime.settings.public_url.rstrip('/')}/webhooks/{connection_id}"


async def keep_subscriptions(runtime: Runtime, *, now: datetime | None = None) -> dict[int, Any]:
    """Ensure every subscribing connection's subscriptions; results by connection id."""
    now = now or datetime.now(UTC)
    results: dict[int, Any] = {}
    for connection in await _subscribing(runtime):
        try:
            results[connection.id] = await ensure_for(runtime, connection, now=now)
        except PipError as err:
            logger.warning(
                "subscriptions of connection %s not ensured: %s", connection.id, redact(err.message)
            )
        except Exception as err:  # one connection's failure must not stop the others
            logger.error(
                "subscriptions of connection %s failed: %s", connection.id, type(err).__name__
            )
    return results


async def ensure_for(runtime: Runtime, connection: Connection, *, now: datetime) -> Any:
    """Create or renew one connection's subscriptions (None: no client state configured)."""
    async with runtime.connector_for(connection) as connector:
        secret = getattr(connector.config, "webhook_client_state", None)
        if secret is None or not secret.get_secret_value():
            return None
        subscriber: Any = connector
        url = notification_url(runtime, connection.id)
        return await subscriber.ensure_subscriptions(url, secret.get_secret_value(), now=now)


def schedule_subscription_renewal(runtime: Runtime) -> None:
    """Add the hourly job to the runtime's scheduler (no scheduler: nothing to do)."""
    if runtime.scheduler is None:
        return
    runtime.scheduler.scheduler.add_job(
        keep_subscriptions, trigger=IntervalTrigger(seconds=EVERY_SECONDS), args=[runtime],
        id=JOB_ID, name="renew webhook subscriptions", replace_existing=True, coalesce=True,
        max_instances=1, next_run_time=datetime.now(UTC),
    )  # fmt: skip


async def _subscribing(runtime: Runtime) -> list[Connection]:
    async with runtime.sessions() as session:
        connections = list(await session.scalars(select(Connection).order_by(Connection.id)))
    return [c for c in connections if c.enabled and _can_subscribe(c.connector_type)]


def _can_subscribe(connector_type: str) -> bool:
    try:
        connector_class = registry.get_connector_class(connector_type)
    except PipError:
        return False
    return hasattr(connector_class, "ensure_subscriptions")
