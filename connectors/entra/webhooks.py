"""Microsoft Graph change notifications on the Entra ID connector.

Follows these Microsoft Learn pages (learn.microsoft.com/graph):

- "Set up notifications for changes in resource data" (change-notifications-overview,
  change-notifications-delivery-webhooks): on subscription creation Graph POSTs
  ``{notificationUrl}?validationToken=<token>``; the endpoint answers 200, ``text/plain``,
  the token as the body, within 10 seconds. Notifications are answered 202 quickly.
- "changeNotification resource type": ``{"value": [{"subscriptionId", "clientState",
  "changeType": "created"|"updated"|"deleted", "resource": "Users/{id}",
  "resourceData": {"id", "@odata.type"}, "tenantId", "subscriptionExpirationDateTime"}]}``;
  ``lifecycleEvent`` (``reauthorizationRequired``, ``missed``, ``subscriptionRemoved``)
  replaces ``changeType`` in lifecycle notifications. Every notification carries the
  subscription's ``clientState``: compared in constant time, one mismatch rejects the
  whole delivery. The payload has no resource data: users and groups are read again.
- "Reduce missing subscriptions and change notifications" (change-notifications-lifecycle-
  events): reauthorizationRequired → renew (PATCH ``expirationDateTime``); missed →
  an incremental sync; subscriptionRemoved → an incremental sync now, the subscription is
  recreated by ``ensure_subscriptions`` (the renewal job; it holds the notification URL).
- "subscription resource type", "Create subscription", "Update subscription", "List
  subscriptions": ``POST /subscriptions``, ``PATCH /subscriptions/{id}``, ``GET
  /subscriptions``; users and groups live at most 41,760 minutes (under 29 days).
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

import orjson

from connectors.base.http import RetryPolicy, SourceClient
from connectors.base.webhooks import (
    DELETE,
    UPSERT,
    HandshakeReply,
    ObjectChange,
    Verified,
    WebhookCapable,
    WebhookEvent,
    WebhookMalformedError,
    WebhookRejectedError,
    WebhookRequest,
    same_secret,
)
from connectors.graph.streams import GraphStream

logger = logging.getLogger(__name__)

VALIDATION_PARAM = "validationToken"
RESOURCES = ("users", "groups")
CHANGE_TYPES = "created,updated,deleted"
MAX_LIFETIME = timedelta(minutes=41_760)  # user, group: "41760 minutes (under 29 days)"
LIFETIME_MARGIN = timedelta(hours=1)
RENEW_BEFORE = timedelta(days=3)
LIFECYCLE_EVENTS = frozenset({"reauthorizationRequired", "missed", "subscriptionRemoved"})
ONCE = RetryPolicy(max_attempts=1)


@dataclass(frozen=True)
class SubscriptionState:
    """What ``ensure_subscriptions`` did to one resource's subscription."""

    resource: str
    subscription_id: str
    expires: datetime
    action: str  # created | renewed | kept


class GraphChangeNotifications(WebhookCapable):
    """Graph change notifications for users and groups (config ``webhook_client_state``)."""

    webhook_provider: ClassVar[str] = "graph"
    webhook_ack_status: ClassVar[int] = 202

    def handshake(self, request: WebhookRequest) -> HandshakeReply | None:
        """Echo ``?validationToken=`` as text/plain (Graph's endpoint validation)."""
        token = request.query.get(VALIDATION_PARAM)
        if token is None:
            return None
        return HandshakeReply(token.encode(), media_type="text/plain")

    def verify_webhook(self, request: WebhookRequest) -> Verified:
        """Every notification must carry the configured clientState."""
        expected = client_state(getattr(self, "config", None))
        if expected is None:
            raise WebhookRejectedError("This connection has no webhook client state configured")
        items = _items(request)
        if not all(same_secret(_text(item.get("clientState")), expected) for item in items):
            raise WebhookRejectedError("A notification's clientState does not match")
        return Verified()

    def parse_events(self, request: WebhookRequest) -> list[WebhookEvent]:
        """One event per user or group notification, and per lifecycle notification."""
        events = [_event(item, request.received_at) for item in _items(request)]
        return [event for event in events if event is not None]

    async def fetch_object(self, event: WebhookEvent) -> ObjectChange:
        """The user, or the group with its members, as Graph has it now (None: gone)."""
        assert event.stream is not None and event.source_id is not None
        if event.removed:
            return ObjectChange(event.stream, event.source_id, None)
        stream = self._graph_stream(event.stream)
        raws = [raw for raw in await stream.reread([event.source_id])]
        found = [raw for raw in raws if raw.get("id") == event.source_id]
        if not found:
            return ObjectChange(event.stream, event.source_id, None)
        [record] = await stream.to_records(found[:1])
        return ObjectChange(event.stream, event.source_id, record)

    async def handle_lifecycle(self, event: WebhookEvent) -> bool:
        """Act on a lifecycle notification; True when the connection must sync."""
        subscription_id = str(event.details.get("subscription_id") or "")
        if event.lifecycle == "reauthorizationRequired" and subscription_id:
            await self.renew_subscription(subscription_id)
            return False
        return True  # missed, subscriptionRemoved: read what notifications did not bring

    # --- subscriptions ---------------------------------------------------------

    async def ensure_subscriptions(
        self, notification_url: str, client_state: str, *, now: datetime | None = None
    ) -> list[SubscriptionState]:
        """Create the users and groups subscriptions, or renew those expiring soon."""
        now = now or datetime.now(UTC)
        existing = await self._subscriptions(notification_url)
        states: list[SubscriptionState] = []
        for resource in RESOURCES:
            found = existing.get(resource)
            if found is None:
                states.append(await self._create(resource, notification_url, client_state, now))
                continue
            expires = _time(found.get("expirationDateTime")) or now
            if expires - now > RENEW_BEFORE:
                states.append(SubscriptionState(resource, str(found["id"]), expires, "kept"))
                continue
            renewed = await self.renew_subscription(str(found["id"]), now=now)
            states.append(SubscriptionState(resource, str(found["id"]), renewed, "renewed"))
        return states

    async def renew_subscription(
        self, subscription_id: str, *, now: datetime | None = None
    ) -> datetime:
        """PATCH the subscription to the longest lifetime Graph allows; its new expiry."""
        expires = _expiry(now or datetime.now(UTC))
        url = self.reader.url(f"subscriptions/{subscription_id}")  # type: ignore[attr-defined]
        await self._writer().request("PATCH", url, json={"expirationDateTime": _iso(expires)})
        logger.info("renewed Graph subscription %s until %s", subscription_id, _iso(expires))
        return expires

    async def _create(
        self, resource: str, notification_url: str, state: str, now: datetime
    ) -> SubscriptionState:
        expires = _expiry(now)
        body = {
            "changeType": CHANGE_TYPES, "notificationUrl": notification_url,
            "lifecycleNotificationUrl": notification_url, "resource": resource,
            "expirationDateTime": _iso(expires), "clientState": state,
        }  # fmt: skip
        url = self.reader.url("subscriptions")  # type: ignore[attr-defined]
        created = (await self._writer().request("POST", url, json=body)).json()
        logger.info("created Graph subscription %s on %s", created.get("id"), resource)
        return SubscriptionState(resource, str(created.get("id")), expires, "created")

    async def _subscriptions(self, notification_url: str) -> dict[str, dict[str, Any]]:
        """This connection's subscriptions (same notification URL) by resource."""
        found = await self.reader.all("subscriptions", {})  # type: ignore[attr-defined]
        mine = [s for s in found if s.get("notificationUrl") == notification_url]
        return {resource: s for s in mine if (resource := _resource(s.get("resource")))}

    def _writer(self) -> SourceClient:
        """A client that sends a write once (a retried POST could subscribe twice)."""
        connector: Any = self
        return SourceClient(
            connector._http(), source=connector.title, auth=connector.auth(), policy=ONCE
        )

    def _graph_stream(self, name: str) -> GraphStream:
        for stream in self.get_streams():  # type: ignore[attr-defined]
            if isinstance(stream, GraphStream) and stream.name == name:
                return stream
        raise WebhookMalformedError(f"No Entra ID stream {name!r}")


def client_state(config: Any) -> str | None:
    """The ``webhook_client_state`` of a connector config, when set."""
    secret = getattr(config, "webhook_client_state", None)
    value = secret.get_secret_value() if secret is not None else ""
    return value or None


def _items(request: WebhookRequest) -> list[dict[str, Any]]:
    body = request.json()
    items = body.get("value") if isinstance(body, dict) else None
    if not isinstance(items, list) or not items or not all(isinstance(i, dict) for i in items):
        raise WebhookMalformedError("A Graph notification delivery needs a non-empty value list")
    return items


def _event(item: dict[str, Any], received_at: datetime) -> WebhookEvent | None:
    lifecycle = item.get("lifecycleEvent")
    if lifecycle is not None:
        return _lifecycle_event(item, str(lifecycle))
    change = item.get("changeType")
    stream = _resource(item.get("resource"))
    data = item.get("resourceData")
    source_id = data.get("id") if isinstance(data, dict) else None
    if change not in ("created", "updated", "deleted") or not isinstance(source_id, str):
        raise WebhookMalformedError("A change notification needs changeType and resourceData.id")
    if stream is None:
        return None  # a resource this connector does not subscribe to
    removed = change == "deleted"
    return WebhookEvent(
        event_id=_event_id(item, received_at), action=DELETE if removed else UPSERT,
        stream=stream, source_id=source_id, removed=removed,
        details={"change_type": change},
    )  # fmt: skip


def _lifecycle_event(item: dict[str, Any], lifecycle: str) -> WebhookEvent:
    if lifecycle not in LIFECYCLE_EVENTS:
        raise WebhookMalformedError(f"Unknown lifecycle event {lifecycle!r}")
    subscription = _text(item.get("subscriptionId"))
    expiry = _text(item.get("subscriptionExpirationDateTime"))
    return WebhookEvent(
        event_id=f"lifecycle:{subscription}:{lifecycle}:{expiry}", action=f"lifecycle.{lifecycle}",
        lifecycle=lifecycle, details={"subscription_id": subscription},
    )  # fmt: skip


def _event_id(item: dict[str, Any], received_at: datetime) -> str:
    """The notification's ``id``; else a digest of it and its arrival (redelivery re-reads)."""
    if isinstance(item.get("id"), str) and item["id"]:
        return str(item["id"])
    digest = hashlib.sha256(orjson.dumps(item, option=orjson.OPT_SORT_KEYS))
    digest.update(received_at.isoformat().encode())
    return f"graph:{digest.hexdigest()[:40]}"


def _resource(value: Any) -> str | None:
    """``Users/{id}``, ``/users``, ``groups`` → ``users`` / ``groups``."""
    head = str(value or "").strip("/").split("/", 1)[0].lower()
    return head if head in RESOURCES else None


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _expiry(now: datetime) -> datetime:
    return (now + MAX_LIFETIME - LIFETIME_MARGIN).replace(microsecond=0)


def _iso(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
