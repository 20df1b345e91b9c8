"""Apple Business Manager: the ES256 client assertion, paging, assignments, failures."""

from __future__ import annotations

import logging
from urllib.parse import parse_qs, urlsplit

import pytest

from connectors.base.errors import SourceAuthError
from connectors.base.stream import SyncContext
from connectors.base.testing import now
from tests.connectors.apple_business_manager.harness import Harness
from tests.connectors.engine_rig import EngineRig


async def test_client_assertion_is_es256_signed_and_token_is_reused(abm: Harness) -> None:
    abm.reset(23)
    run = await abm.read()
    assert set(run.ids) == abm.source_ids()
    assert abm.fake.token_requests == 1, "the access token was not cached for the run"
    header, claims = abm.fake.assertions[0]["header"], abm.fake.assertions[0]["claims"]
    assert header["alg"] == "ES256" and header["kid"] == abm.fake.key_id
    assert claims["iss"] == claims["sub"] == abm.fake.client_id
    assert claims["aud"] == "https://account.apple.com/auth/oauth2/v2/token"
    assert 0 < claims["exp"] - claims["iat"] <= 180 * 24 * 3600


async def test_devices_carry_their_assigned_mdm_server(abm: Harness) -> None:
    abm.fake.reset(10, servers=2)
    devices = {d.source_id: d for d in (await abm.read()).records}
    for raw in abm.fake.devices:
        server = abm.fake.assigned.get(raw["id"])
        expected = abm.fake.servers[server] if server else None
        device = devices[raw["id"]]
        assert device.mdm_server == expected
        assert device.serial_number == raw["attributes"]["serialNumber"]
        assert device.model == raw["attributes"]["deviceModel"]
        assert device.extra["abm_status"] == raw["attributes"]["status"]
        assert device.extra["order_number"] == raw["attributes"]["orderNumber"]
        assert device.extra["purchase_source"] == raw["attributes"]["purchaseSourceType"]
    assert any(d.mdm_server is None for d in devices.values()), "none unassigned"


async def test_pages_follow_the_cursor_and_ask_only_for_mapped_fields(abm: Harness) -> None:
    abm.reset(12)
    await abm.read()
    device_pages = [u for u in abm.fake.requests if urlsplit(u).path == "/v1/orgDevices"]
    queries = [parse_qs(urlsplit(u).query) for u in device_pages]
    assert len(queries) == 3 and "cursor" not in queries[0]
    assert all("cursor" in q for q in queries[1:])
    fields = queries[0]["fields[orgDevices]"][0].split(",")
    assert "serialNumber" in fields and "imei" not in fields and "eid" not in fields
    assert all(q["limit"] == ["5"] for q in queries)


async def test_released_device_is_retired_and_not_assigned(abm: Harness) -> None:
    abm.reset(3)
    target = next(d for d in abm.fake.devices if d["id"] in abm.fake.assigned)
    target["attributes"]["releasedFromOrgDateTime"] = "2026-02-01T10:00:00.000Z"
    device = next(d for d in (await abm.read()).records if d.source_id == target["id"])
    assert device.status == "retired" and device.mdm_server is None


async def test_token_expiring_mid_run_is_fetched_again(abm: Harness) -> None:
    abm.reset(12)
    records = []
    async with abm.connect() as connector:
        async for page in connector.get_streams()[0].pages(SyncContext(now())):
            records.extend(page.records)
            abm.fake.expire_tokens()  # every token times out after each page
    assert {r.source_id for r in records} == abm.source_ids()
    assert abm.fake.token_requests == 3, "expected one token per page of three"


async def test_revoked_key_needs_reconnect_without_leaking_the_key(
    abm: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    abm.reset(3)
    pem = abm.fake.private_pem
    abm.fake.rotate_key()
    with caplog.at_level(logging.DEBUG), pytest.raises(SourceAuthError) as caught:
        await abm.read()
    assert "invalid_client" in caught.value.message
    body = pem.splitlines()[1]
    assert body not in caught.value.message and body not in caplog.text


async def test_removed_device_is_deleted_by_the_next_full_run(rig: EngineRig, abm: Harness) -> None:
    abm.reset(8)
    connection = await rig.connect("ABM", "apple_business_manager", abm.config())
    assert (await rig.sync(connection)).created == 8
    gone = abm.fake.devices.pop(2)
    result = await rig.sync(connection)
    records = await rig.records(connection)
    assert (result.status, result.deleted) == ("success", 1)
    assert f"devices/{gone['id']}" not in records and len(records) == 7
