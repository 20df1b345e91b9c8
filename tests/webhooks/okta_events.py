"""Okta event hook deliveries as Okta sends them (developer.okta.com/docs/concepts/event-hooks)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any


def okta_event(
    event_type: str, targets: list[dict[str, str]], uid: str | None = None
) -> dict[str, Any]:
    """One event of ``data.events``."""
    return {
        "uuid": uid or str(uuid.uuid4()),
        "published": datetime.now(UTC).isoformat(),
        "eventType": event_type,
        "displayMessage": event_type,
        "severity": "INFO",
        "actor": {"id": "00uadmin", "type": "User", "alternateId": "admin@example.com"},
        "target": targets,
    }


def delivery(*events: dict[str, Any], at: datetime | None = None) -> dict[str, Any]:
    """A delivery of ``events``; ``eventTime`` is ``at`` (now by default)."""
    when = (at or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    return {
        "eventType": "com.okta.event_hook",
        "eventTypeVersion": "1.0",
        "cloudEventsVersion": "0.1",
        "source": "https://acme.okta.com/api/v1/eventHooks/who8example",
        "eventId": str(uuid.uuid4()),
        "eventTime": when,
        "contentType": "application/json",
        "data": {"events": list(events)},
    }


def user_target(uid: str) -> dict[str, str]:
    """A ``User`` target."""
    return {"id": uid, "type": "User", "alternateId": f"{uid}@example.com"}


def group_target(gid: str) -> dict[str, str]:
    """A ``UserGroup`` target."""
    return {"id": gid, "type": "UserGroup", "alternateId": "unknown"}


def deactivate(
    uid: str, event_uuid: str | None = None, *, at: datetime | None = None
) -> dict[str, Any]:
    """A delivery saying a user was deactivated."""
    return delivery(okta_event("user.lifecycle.deactivate", [user_target(uid)], event_uuid), at=at)


OLD = timedelta(minutes=30)
