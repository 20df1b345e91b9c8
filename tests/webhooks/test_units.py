"""Pure parts: HMAC signatures, the replay window, entity-keyed JSON Patches."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

import orjson
import pytest
from pydantic import BaseModel, SecretStr

from connectors.base.canonical import CanonicalUser
from connectors.base.webhooks import (
    HmacWebhooks,
    WebhookMalformedError,
    WebhookRejectedError,
    WebhookRequest,
    hmac_signature,
)
from opal.models import DataSourceEntry
from opal.patches import apply_patch, document_patch
from opal.updates import patch_entry
from pip_service.webhooks.service import check_window

SECRET = "hmac-secret-for-tests-000000000001"


class _Config(BaseModel):
    webhook_secret: SecretStr | None = None


class _Users:
    name = "users"
    record_model = CanonicalUser


class Receiver(HmacWebhooks):
    """A connector-like object with the mixin and one stream."""

    streams: ClassVar[tuple[Any, ...]] = (_Users,)

    def __init__(self, secret: str | None = SECRET) -> None:
        self.config = _Config(webhook_secret=SecretStr(secret) if secret else None)


def signed(body: dict[str, Any], *, at: int | None = None, secret: str = SECRET) -> WebhookRequest:
    """A request signed the way senders sign it."""
    raw = orjson.dumps(body)
    stamp = str(at if at is not None else int(datetime.now(UTC).timestamp()))
    headers = {"x-timestamp": stamp, "x-signature": hmac_signature(secret, stamp, raw)}
    return WebhookRequest("POST", headers, {}, raw, datetime.now(UTC))


EVENT = {"id": "e1", "stream": "users", "source_id": "u1", "action": "upsert",
         "record": {"email": "Ann@Example.com", "enabled": False}}  # fmt: skip


def test_a_good_signature_verifies_and_carries_the_signed_time() -> None:
    verified = Receiver().verify_webhook(signed(EVENT, at=1_800_000_000))
    assert verified.signed_at == datetime.fromtimestamp(1_800_000_000, UTC)


@pytest.mark.parametrize(
    "request_", [
        signed(EVENT, secret="another-secret"),
        WebhookRequest("POST", {"x-timestamp": "1", "x-signature": "sha256=00"}, {}, b"{}",
                       datetime.now(UTC)),
    ],
)  # fmt: skip
def test_a_wrong_signature_is_rejected(request_: WebhookRequest) -> None:
    with pytest.raises(WebhookRejectedError):
        Receiver().verify_webhook(request_)


def test_a_body_changed_after_signing_is_rejected() -> None:
    good = signed(EVENT)
    tampered = WebhookRequest(
        "POST", good.headers, {}, good.body.replace(b"u1", b"u2"), good.received_at
    )
    with pytest.raises(WebhookRejectedError):
        Receiver().verify_webhook(tampered)


def test_no_secret_configured_rejects_everything() -> None:
    with pytest.raises(WebhookRejectedError):
        Receiver(secret=None).verify_webhook(signed(EVENT))


def test_a_missing_timestamp_is_malformed() -> None:
    request = WebhookRequest("POST", {"x-signature": "sha256=00"}, {}, b"{}", datetime.now(UTC))
    with pytest.raises(WebhookMalformedError):
        Receiver().verify_webhook(request)


def test_events_carry_a_trusted_record() -> None:
    [event] = Receiver().parse_events(signed({"events": [EVENT]}))
    assert (event.event_id, event.stream, event.source_id, event.removed) == (
        "e1",
        "users",
        "u1",
        False,
    )
    assert isinstance(event.record, CanonicalUser) and event.record.enabled is False


@pytest.mark.parametrize(
    "body",
    [{"events": []}, {**EVENT, "stream": "nope"}, {**EVENT, "action": "explode"},
     {**EVENT, "record": {"enabled": "maybe"}}, {"id": "x"}],
)  # fmt: skip
def test_unreadable_events_are_malformed(body: dict[str, Any]) -> None:
    with pytest.raises(WebhookMalformedError):
        Receiver().parse_events(signed(body))


def test_replay_window_refuses_old_and_future_times() -> None:
    now = datetime.now(UTC)
    check_window(now - timedelta(seconds=299), now, 300)
    with pytest.raises(WebhookRejectedError):
        check_window(now - timedelta(seconds=301), now, 300)
    with pytest.raises(WebhookMalformedError):
        check_window(now + timedelta(seconds=301), now, 300)


OLD = {
    "a@x": {"key": "a@x", "enabled": True},
    "b/c~d@x": {"key": "b/c~d@x"},
    "gone@x": {"key": "g"},
}
NEW = {
    "a@x": {"key": "a@x", "enabled": False},
    "b/c~d@x": {"key": "b/c~d@x"},
    "new@x": {"key": "n"},
}


def test_patch_is_one_operation_per_changed_entity_and_applies() -> None:
    ops = document_patch(OLD, NEW)
    assert [(op["op"], op["path"]) for op in ops] == [
        ("add", "/a@x"), ("remove", "/gone@x"), ("add", "/new@x"),
    ]  # fmt: skip
    assert apply_patch(OLD, ops) == NEW


def test_patch_applies_the_same_on_a_store_that_already_has_it() -> None:
    ops = [op for op in document_patch(OLD, NEW) if op["op"] == "add"]
    assert apply_patch(NEW, ops) == NEW


def test_keys_with_slash_and_tilde_are_escaped() -> None:
    changed = {**OLD, "b/c~d@x": {"key": "b/c~d@x", "enabled": False}}
    [op] = document_patch(OLD, changed)
    assert op["path"] == "/b~1c~0d@x"
    assert apply_patch(OLD, [op]) == changed


def test_patch_entry_is_a_valid_opal_patch_entry() -> None:
    entry = patch_entry("identity/users", document_patch(OLD, NEW))
    wire = DataSourceEntry.model_validate(entry.model_dump(by_alias=True))
    assert (wire.save_method, wire.url, wire.dst_path) == ("PATCH", "", "/pip/identity/users")
