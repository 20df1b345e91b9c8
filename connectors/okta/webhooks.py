"""Okta event hooks (developer.okta.com/docs/concepts/event-hooks).

- One-time verification: a GET carrying ``X-Okta-Verification-Challenge`` is
  answered ``{"verification": "<the challenge>"}``.
- Authentication: the hook's authentication field (``Authorization`` by
  default, ``webhook_header`` in the config) carries the ``webhook_secret``,
  on the verification GET and on every delivery; compared in constant time.
- Deliveries: ``{"eventType": "com.okta.event_hook", "eventId", "eventTime",
  "data": {"events": [{"uuid", "eventType", "published", "target": [...]}]}}``;
  each event's ``uuid`` is its idempotency key, ``eventTime`` is checked
  against the replay window. A user event (``user.lifecycle.*``,
  ``user.account.*``) re-reads the ``User`` target; a group event
  (``group.user_membership.*``, ``group.profile.update``, ``group.lifecycle.*``)
  re-reads the ``UserGroup`` target with its members. The payload is not
  trusted (it has no profile): objects are read again from the API.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

import orjson

from connectors.base.webhooks import (
    HandshakeReply,
    ObjectChange,
    Verified,
    WebhookCapable,
    WebhookEvent,
    WebhookMalformedError,
    WebhookRejectedError,
    WebhookRequest,
    same_secret,
    webhook_secret,
)
from connectors.okta.mapping import to_group, to_user
from connectors.okta.streams import GroupsStream, OktaStream

CHALLENGE_HEADER = "x-okta-verification-challenge"
TARGETS = {"User": "users", "UserGroup": "groups"}
DELETED = frozenset({"user.lifecycle.delete.completed", "group.lifecycle.delete"})


class OktaEventHooks(WebhookCapable):
    """Okta event hooks on the Okta connector."""

    webhook_provider: ClassVar[str] = "okta"

    def handshake(self, request: WebhookRequest) -> HandshakeReply | None:
        """The one-time verification GET (authenticated like deliveries)."""
        challenge = request.header(CHALLENGE_HEADER)
        if request.method != "GET":
            return None
        self.verify_webhook(request)
        if not challenge:
            raise WebhookMalformedError(f"A verification GET needs {CHALLENGE_HEADER}")
        return HandshakeReply(orjson.dumps({"verification": challenge}))

    def verify_webhook(self, request: WebhookRequest) -> Verified:
        """The authentication header must carry the webhook secret."""
        secret = webhook_secret(getattr(self, "config", None))
        if secret is None:
            raise WebhookRejectedError("This connection has no webhook secret configured")
        header = getattr(getattr(self, "config", None), "webhook_header", None) or "authorization"
        if not same_secret(request.header(header), secret):
            raise WebhookRejectedError("The event hook's authentication header is wrong")
        body = request.json() if request.method == "POST" else {}
        return Verified(signed_at=_time(body.get("eventTime") if isinstance(body, dict) else None))

    def parse_events(self, request: WebhookRequest) -> list[WebhookEvent]:
        """One event per target object of each Okta event."""
        body = request.json()
        events = body.get("data", {}).get("events") if isinstance(body, dict) else None
        if not isinstance(events, list):
            raise WebhookMalformedError("An Okta event hook delivery needs data.events")
        return [found for raw in events for found in _events(raw)]

    async def fetch_object(self, event: WebhookEvent) -> ObjectChange:
        """The user, or the group with its members, as Okta has it now."""
        assert event.stream is not None and event.source_id is not None
        if event.removed:
            return ObjectChange(event.stream, event.source_id, None)
        stream = self._okta_stream(event.stream)
        url = f"{stream.config.base_url}/{stream.path}"
        fetched = await stream.rest_connector.source_client.get_json(
            url, params={"filter": f'id eq "{event.source_id}"', "limit": 1}
        )
        raws = stream.extract_records(fetched.body)
        found = [raw for raw in raws if raw.get("id") == event.source_id]
        if not found:
            return ObjectChange(event.stream, event.source_id, None)
        record = to_user(found[0]) if event.stream == "users" else to_group(found[0], [])
        if isinstance(stream, GroupsStream):
            await stream._fill(record)  # the stream's own member reader
        return ObjectChange(event.stream, event.source_id, record)

    def _okta_stream(self, name: str) -> OktaStream:
        for stream in self.get_streams():  # type: ignore[attr-defined]
            if isinstance(stream, OktaStream) and stream.name == name:
                return stream
        raise WebhookMalformedError(f"No Okta stream {name!r}")


def _events(raw: Any) -> list[WebhookEvent]:
    if not isinstance(raw, dict) or not isinstance(raw.get("uuid"), str):
        raise WebhookMalformedError("Each Okta event needs a uuid")
    kind = str(raw.get("eventType", ""))
    wanted = "UserGroup" if kind.startswith("group.") else "User"
    targets = [
        t for t in raw.get("target") or [] if isinstance(t, dict) and t.get("type") == wanted
    ]
    return [
        WebhookEvent(
            event_id=raw["uuid"] if index == 0 else f"{raw['uuid']}:{index}",
            action=kind, stream=TARGETS[wanted], source_id=str(target.get("id")),
            removed=kind in DELETED,
        )
        for index, target in enumerate(targets)
        if target.get("id")
    ]  # fmt: skip


def _time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as err:
        raise WebhookMalformedError("eventTime is not an ISO 8601 time") from err
