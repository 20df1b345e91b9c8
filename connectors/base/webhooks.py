"""Webhooks a connector can receive: a small optional interface, and generic HMAC signatures.

A connector that can receive webhooks also inherits :class:`WebhookCapable` and
implements ``verify_webhook`` (the provider's own check, secrets compared in
constant time), ``parse_events`` (the delivery as events about single objects)
and ``fetch_object`` (read one object again from the source). ``handshake``
answers a provider's validation request before anything else.

:class:`HmacWebhooks` is the generic scheme for ServiceNow business rules, Jamf
and custom senders: ``X-Timestamp: <unix seconds>`` and
``X-Signature: sha256=<hex HMAC-SHA256(secret, timestamp + "." + body)>``.

Errors (``PipError``): ``WebhookRejectedError`` (401: unauthenticated or
replayed), ``WebhookMalformedError`` (400: unreadable delivery),
``FetchUnsupportedError`` (no single-object read: the connection is synced).
"""

from __future__ import annotations

import hashlib
import hmac
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, ClassVar

import orjson
from pydantic import SecretStr, ValidationError

from connectors.base.canonical import CanonicalRecord
from connectors.base.errors import PipError

SIGNATURE_HEADER = "x-signature"
TIMESTAMP_HEADER = "x-timestamp"
SIGNATURE_PREFIX = "sha256="
UPSERT, DELETE = "upsert", "delete"


class WebhookRejectedError(PipError):
    """The delivery is not authentic (wrong secret or signature) or was replayed."""

    code = "webhook_rejected"


class WebhookMalformedError(PipError):
    """The delivery cannot be read (missing headers, not JSON, unknown shape)."""

    code = "webhook_malformed"


class FetchUnsupportedError(PipError):
    """The connector cannot read a single object; the receiver syncs the connection instead."""

    code = "fetch_unsupported"


@dataclass(frozen=True)
class WebhookRequest:
    """What the receiver hands a connector: method, lower-case headers, query, raw body."""

    method: str
    headers: Mapping[str, str]
    query: Mapping[str, str]
    body: bytes
    received_at: datetime

    def header(self, name: str) -> str | None:
        """A header by case-insensitive name."""
        return self.headers.get(name.lower())

    def json(self) -> Any:
        """The body as JSON; WebhookMalformedError otherwise."""
        try:
            return orjson.loads(self.body)
        except orjson.JSONDecodeError as err:
            raise WebhookMalformedError("The webhook body is not JSON") from err


@dataclass(frozen=True)
class HandshakeReply:
    """An answer to a validation request (Okta's challenge, Graph's validationToken)."""

    body: bytes
    media_type: str = "application/json"
    status: int = 200


@dataclass(frozen=True)
class Verified:
    """A delivery found authentic; ``signed_at`` is the sender's time for the replay window."""

    signed_at: datetime | None = None


@dataclass(frozen=True)
class WebhookEvent:
    """One event about one object (or a subscription lifecycle event).

    ``record`` is set when the payload is trustworthy enough to be stored as
    is; otherwise the object is fetched from the source.
    """

    event_id: str
    action: str
    stream: str | None = None
    source_id: str | None = None
    removed: bool = False
    record: CanonicalRecord | None = None
    lifecycle: str | None = None
    details: dict[str, Any] = field(default_factory=dict)

    def refs(self) -> dict[str, Any]:
        """The object it is about, for the event log (never the payload)."""
        refs = {"action": self.action, "stream": self.stream, "source_id": self.source_id}
        if self.lifecycle:
            refs["lifecycle"] = self.lifecycle
        return {k: v for k, v in refs.items() if v is not None}


@dataclass(frozen=True)
class ObjectChange:
    """One object as the source has it now; ``record`` None means it is gone."""

    stream: str
    source_id: str
    record: CanonicalRecord | None


class WebhookCapable(ABC):
    """Mixin of connectors that receive webhooks."""

    webhook_provider: ClassVar[str]
    webhook_ack_status: ClassVar[int] = 200

    def handshake(self, request: WebhookRequest) -> HandshakeReply | None:
        """The answer to a validation request, or None for an ordinary delivery."""
        return None

    @abstractmethod
    def verify_webhook(self, request: WebhookRequest) -> Verified:
        """Check the delivery is authentic.

        Args:
            request: the delivery as received.

        Returns:
            The verdict, with the sender's timestamp when it signs one.

        Raises:
            WebhookRejectedError: wrong or missing secret or signature.
            WebhookMalformedError: a header needed to verify is unreadable.
        """

    @abstractmethod
    def parse_events(self, request: WebhookRequest) -> list[WebhookEvent]:
        """The events of a verified delivery (WebhookMalformedError when unreadable)."""

    @abstractmethod
    async def fetch_object(self, event: WebhookEvent) -> ObjectChange:
        """Read the object an event is about from the source (record None: it is gone)."""


def webhook_secret(config: Any) -> str | None:
    """The ``webhook_secret`` of a connector config, when set."""
    secret = getattr(config, "webhook_secret", None)
    if isinstance(secret, SecretStr) and secret.get_secret_value():
        return secret.get_secret_value()
    return None


def same_secret(offered: str | None, expected: str) -> bool:
    """Constant-time comparison of a secret."""
    return hmac.compare_digest((offered or "").encode(), expected.encode())


def hmac_signature(secret: str, timestamp: str, body: bytes) -> str:
    """``sha256=<hex>`` of HMAC-SHA256(secret, timestamp + "." + body)."""
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return SIGNATURE_PREFIX + digest.hexdigest()


def parse_unix_time(value: str | None) -> datetime:
    """A unix-seconds header as an aware datetime; WebhookMalformedError otherwise."""
    try:
        return datetime.fromtimestamp(int((value or "").strip()), UTC)
    except (ValueError, OverflowError, OSError) as err:
        raise WebhookMalformedError(f"{TIMESTAMP_HEADER} must be unix seconds") from err


class HmacWebhooks(WebhookCapable):
    """Generic signed webhooks; enable with a ``webhook_secret: SecretStr`` config field.

    The body is ``{"events": [...]}`` or one event: ``{"id", "stream", "source_id",
    "action": "upsert"|"delete", "record": {...}?}``. A ``record`` (canonical fields of
    the stream's record model) is stored as is: the signature vouches for it.
    """

    webhook_provider = "hmac"

    def verify_webhook(self, request: WebhookRequest) -> Verified:
        """Check ``X-Signature`` against the body and ``X-Timestamp``."""
        secret = webhook_secret(getattr(self, "config", None))
        if secret is None:
            raise WebhookRejectedError("This connection has no webhook secret configured")
        timestamp = request.header(TIMESTAMP_HEADER)
        signed_at = parse_unix_time(timestamp)
        expected = hmac_signature(secret, (timestamp or "").strip(), request.body)
        if not same_secret(request.header(SIGNATURE_HEADER), expected):
            raise WebhookRejectedError("The webhook signature does not match")
        return Verified(signed_at=signed_at)

    def parse_events(self, request: WebhookRequest) -> list[WebhookEvent]:
        """Every event of the delivery."""
        body = request.json()
        items = body.get("events") if isinstance(body, dict) and "events" in body else [body]
        if not isinstance(items, list) or not items:
            raise WebhookMalformedError("The webhook carries no events")
        return [self._event(item) for item in items]

    def _event(self, item: Any) -> WebhookEvent:
        if not isinstance(item, dict):
            raise WebhookMalformedError("Each webhook event must be an object")
        event_id, stream, source_id = (item.get(k) for k in ("id", "stream", "source_id"))
        action = item.get("action", UPSERT)
        if not all(isinstance(v, str) and v for v in (event_id, stream, source_id)):
            raise WebhookMalformedError("Each event needs string id, stream and source_id")
        if action not in (UPSERT, DELETE) or stream not in self._stream_models():
            raise WebhookMalformedError(f"Unknown action or stream in event {event_id}")
        record = self._record(str(stream), str(source_id), item.get("record"))
        return WebhookEvent(
            event_id=str(event_id), action=str(action), stream=str(stream),
            source_id=str(source_id), removed=action == DELETE, record=record,
        )  # fmt: skip

    def _stream_models(self) -> dict[str, type[CanonicalRecord]]:
        streams = getattr(self, "streams", ())
        return {stream.name: stream.record_model for stream in streams}

    def _record(self, stream: str, source_id: str, raw: Any) -> CanonicalRecord | None:
        if raw is None:
            return None
        if not isinstance(raw, dict):
            raise WebhookMalformedError("An event's record must be an object")
        try:
            return self._stream_models()[stream].model_validate({**raw, "source_id": source_id})
        except ValidationError as err:
            fields = sorted({".".join(map(str, e["loc"])) for e in err.errors()})
            raise WebhookMalformedError(f"Invalid record fields: {', '.join(fields)}") from err

    async def fetch_object(self, event: WebhookEvent) -> ObjectChange:
        """The payload's record; connectors that can read one object override this."""
        assert event.stream is not None and event.source_id is not None
        if event.removed or event.record is not None:
            return ObjectChange(event.stream, event.source_id, event.record)
        raise FetchUnsupportedError(f"{type(self).__name__} cannot read one object; sync instead")
