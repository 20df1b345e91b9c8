"""Okta event hooks end to end in the PIP: verification, targeted refresh, idempotency, refusals."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from sqlalchemy import func, select

from pip_service.records.models import Record
from pip_service.webhooks.models import WebhookEventRow
from tests.webhooks.conftest import HOOK_SECRET, Setup
from tests.webhooks.okta_events import deactivate, delivery, group_target, okta_event, user_target

USER = "00u00000000000000003"
EMAIL = "user00003@example.com"


def hook_headers(secret: str = HOOK_SECRET) -> dict[str, str]:
    """What the Okta event hook sends: the authentication field and JSON."""
    return {"Authorization": secret, "Content-Type": "application/json"}


async def post(setup: Setup, body: Any, secret: str = HOOK_SECRET) -> Any:
    """Deliver ``body`` to the connection's webhook URL."""
    return await setup.http.post(
        f"/webhooks/{setup.connection_id}", content=orjson.dumps(body), headers=hook_headers(secret)
    )


async def users(setup: Setup) -> dict[str, Any]:
    """The users document as served."""
    data: dict[str, Any] = (await setup.runtime.documents.get("identity/users")).data()
    return data


async def state(setup: Setup) -> tuple[Any, ...]:
    """Everything a webhook could change: records, document revisions and bodies."""
    async with setup.runtime.sessions() as session:
        records = sorted(
            (r.external_id, r.content_hash, r.deleted_at is None)
            for r in await session.scalars(select(Record))
        )
    infos = [(i.name, i.revision, i.etag) for i in await setup.runtime.documents.list()]
    return records, infos


async def events(setup: Setup) -> list[WebhookEventRow]:
    """The event log, oldest first."""
    async with setup.runtime.sessions() as session:
        return list(await session.scalars(select(WebhookEventRow).order_by(WebhookEventRow.id)))


async def test_verification_challenge_is_echoed_only_with_the_secret(setup: Setup) -> None:
    url = f"/webhooks/{setup.connection_id}"
    challenge = {"X-Okta-Verification-Challenge": "Xz9-challenge"}
    answer = await setup.http.get(url, headers={**challenge, "Authorization": HOOK_SECRET})
    assert answer.status_code == 200
    assert answer.json() == {"verification": "Xz9-challenge"}
    refused = await setup.http.get(url, headers={**challenge, "Authorization": "wrong"})
    assert refused.status_code == 401
    assert refused.headers["content-type"] == "application/problem+json"


async def test_deactivation_disables_the_user_and_touches_only_identity(setup: Setup) -> None:
    assert (await users(setup))[EMAIL]["enabled"] is True
    devices_before = (await setup.runtime.documents.get("assets/devices")).revision
    setup.okta.touch_user(USER, status="DEPROVISIONED")
    answer = await post(setup, deactivate(USER))
    assert answer.status_code == 200
    assert answer.json() == {"accepted": 1, "duplicates": 0}
    await setup.runtime.webhooks.wait_idle()
    assert (await users(setup))[EMAIL]["enabled"] is False
    assert (await setup.runtime.documents.get("assets/devices")).revision == devices_before
    [row] = await events(setup)
    assert (row.status, row.verified, row.provider) == ("applied", True, "okta")
    assert row.applied_at is not None and row.duration_ms is not None
    assert row.object_refs == {"action": "user.lifecycle.deactivate", "stream": "users",
                               "source_id": USER}  # fmt: skip


async def test_a_redelivered_event_is_applied_once(setup: Setup) -> None:
    setup.okta.touch_user(USER, status="SUSPENDED")
    body = deactivate(USER, "evt-fixed-uuid-1")
    assert (await post(setup, body)).status_code == 200
    await setup.runtime.webhooks.wait_idle()
    before = await state(setup)
    setup.okta.touch_user(USER, status="ACTIVE")  # a second apply would re-enable the user
    again = await post(setup, body)
    assert again.status_code == 200
    assert again.json() == {"accepted": 0, "duplicates": 1}
    await setup.runtime.webhooks.wait_idle()
    assert await state(setup) == before
    assert [row.event_id for row in await events(setup)] == ["evt-fixed-uuid-1"]


async def test_forged_replayed_future_and_oversized_deliveries_change_nothing(
    setup: Setup,
) -> None:
    setup.okta.touch_user(USER, status="DEPROVISIONED")
    before = await state(setup)
    forged = await post(setup, deactivate(USER), secret="not-the-secret")
    replayed = await post(setup, deactivate(USER, at=datetime.now(UTC) - timedelta(hours=1)))
    future = await post(setup, deactivate(USER, at=datetime.now(UTC) + timedelta(hours=1)))
    padding = {**deactivate(USER), "padding": "x" * (1024 * 1024)}
    oversized = await post(setup, padding)
    assert [r.status_code for r in (forged, replayed, future, oversized)] == [401, 401, 400, 413]
    for answer in (forged, replayed, future, oversized):
        assert answer.headers["content-type"] == "application/problem+json"
        assert HOOK_SECRET not in answer.text
    await setup.runtime.webhooks.wait_idle()
    assert await state(setup) == before
    assert (await users(setup))[EMAIL]["enabled"] is True
    logged = await events(setup)
    assert [(r.status, r.verified, r.event_id) for r in logged] == [("rejected", False, None)] * 4


async def test_membership_event_refreshes_the_group_members(setup: Setup) -> None:
    gid = sorted(setup.okta.data.groups)[0]
    setup.okta.set_members(gid, [USER])
    body = delivery(okta_event("group.user_membership.add", [user_target(USER), group_target(gid)]))
    assert (await post(setup, body)).status_code == 200
    await setup.runtime.webhooks.wait_idle()
    groups = (await setup.runtime.documents.get("identity/groups")).data()
    assert groups["team 0000"]["members"] == [EMAIL]
    assert "team 0000" in (await users(setup))[EMAIL]["groups"]


async def test_a_malformed_delivery_is_a_400_and_logged(setup: Setup) -> None:
    answer = await setup.http.post(
        f"/webhooks/{setup.connection_id}", content=b"{not json", headers=hook_headers()
    )
    assert answer.status_code == 400
    assert answer.json()["code"] == "webhook_malformed"
    async with setup.runtime.sessions() as session:
        assert await session.scalar(select(func.count(WebhookEventRow.id))) == 1


async def test_unknown_connection_is_404(setup: Setup) -> None:
    answer = await setup.http.post("/webhooks/9999", content=b"{}", headers=hook_headers())
    assert answer.status_code == 404
