"""Recording audit events: who changed what, never with a secret in the details."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from pip_service.audit.models import AuditEvent

logger = logging.getLogger(__name__)


async def record_event(
    session: AsyncSession,
    *,
    actor: str,
    action: str,
    target_type: str | None = None,
    target_id: str | int | None = None,
    details: Mapping[str, Any] | None = None,
    correlation_id: str | None = None,
) -> AuditEvent:
    """Add an audit event to the caller's transaction (committed with the change it records)."""
    event = AuditEvent(
        actor=actor,
        action=action,
        target_type=target_type,
        target_id=None if target_id is None else str(target_id),
        details=dict(details or {}),
        correlation_id=correlation_id,
    )
    session.add(event)
    await session.flush()
    logger.info("audit: %s %s %s/%s", actor, action, target_type, target_id)
    return event
