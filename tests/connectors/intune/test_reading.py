"""Intune: $select and paging, throttling with and without Retry-After, tokens, mapping."""

from __future__ import annotations

import logging

import httpx
import pytest

from connectors.base.errors import SourceAuthError
from connectors.base.registry import parse_config
from connectors.base.stream import SyncContext
from connectors.base.testing import RecordingSleep, now, read_stream
from connectors.intune import IntuneConnector
from connectors.intune.mapping import FIELDS, to_device
from tests.connectors.intune.harness import Harness
from tests.fakes.graph_intune import PATH, PERMISSION


def device_requests(intune: Harness) -> list[dict[str, str]]:
    return [params for path, params in intune.fake.requests if path == PATH]


async def test_reads_mapped_fields_page_by_page(intune: Harness) -> None:
    intune.reset(12)
    run = await intune.read()
    pages = device_requests(intune)
    assert len(pages) == 3 and "$skiptoken" not in pages[0]
    assert all("$skiptoken" in p for p in pages[1:]), "the next links were not followed"
    assert pages[0]["$select"].split(",") == list(FIELDS) and pages[0]["$top"] == "5"
    raw = next(iter(intune.fake.managed.values()))
    device = next(r for r in run.records if r.source_id == raw["id"])
    assert device.serial_number == raw["serialNumber"] and device.hostname == raw["deviceName"]
    assert device.owner == raw["userPrincipalName"].lower()
    assert device.management_state == "managed" and device.enrollment_state == "enrolled"
    assert "imei" not in device.extra and "wiFiMacAddress" not in str(device.model_dump())


async def test_noncompliant_devices_carry_reasons_and_ownership(intune: Harness) -> None:
    intune.reset(12)
    records = {r.source_id: r for r in (await intune.read()).records}
    for raw in intune.fake.managed.values():
        device = records[raw["id"]]
        expected = "compliant" if raw["complianceState"] == "compliant" else "noncompliant"
        assert device.compliance_state == expected
        if expected == "noncompliant":
            assert device.compliance_reasons == ["storage is not encrypted"]
        owner = {"company": "corporate", "personal": "personal"}[raw["managedDeviceOwnerType"]]
        assert device.ownership == owner and device.encrypted is raw["isEncrypted"]


async def test_throttling_without_retry_after_backs_off_until_the_window_passes(
    intune: Harness,
) -> None:
    intune.reset(12)
    intune.fake.throttle(1, per_seconds=4.0)  # Intune's budget, shrunk: one request per 4 s
    waits: list[float] = []

    async def sleep(seconds: float) -> None:  # the fake's clock moves as the client waits
        waits.append(seconds)
        intune.fake.offset += seconds

    async with intune.connect() as connector:
        connector._sleep = sleep  # type: ignore[attr-defined]
        connector._source_client = None  # type: ignore[attr-defined]
        stream = connector.get_streams()[0]
        records = [r async for page in stream.pages(SyncContext(now())) for r in page.records]
    assert {r.source_id for r in records} == intune.source_ids()
    assert intune.fake.throttled >= 2, "the fake never throttled"
    assert all(w > 0 for w in waits) and sum(waits) >= 8, "did not wait out the window"
    assert max(waits) > min(waits), "no exponential backoff without Retry-After"


async def test_retry_after_is_waited_exactly(intune: Harness) -> None:
    intune.reset(6)
    intune.fake.fail_next(429, times=2, retry_after="3")
    sleep = RecordingSleep()
    run = await intune.read(sleep=sleep)
    assert sleep.waits == [3, 3] and len(run.records) == 6


async def test_token_expiring_mid_run_is_fetched_again(intune: Harness) -> None:
    intune.reset(12)
    before, records = intune.fake.identity.requests, []
    async with intune.connect() as connector:
        async for page in connector.get_streams()[0].pages(SyncContext(now())):
            records.extend(page.records)
            intune.fake.expire_tokens()
    assert {r.source_id for r in records} == intune.source_ids()
    assert intune.fake.identity.requests - before == 3, "expected one token per page of three"


async def test_wrong_secret_needs_reconnect_without_leaking_it(
    intune: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    intune.reset(3)
    stale = "stale~Secret~value.987"
    config = parse_config(IntuneConnector, {**intune.config(), "client_secret": stale})
    async with httpx.AsyncClient() as client:
        connector = IntuneConnector(config, http_client=client, sleep=RecordingSleep())  # type: ignore[arg-type]
        with caplog.at_level(logging.DEBUG), pytest.raises(SourceAuthError) as caught:
            await read_stream(connector, "managed_devices", SyncContext(now()))
    assert "AADSTS7000215" in caught.value.message
    assert stale not in caught.value.message and stale not in caplog.text


async def test_connection_names_the_missing_permission(intune: Harness) -> None:
    intune.reset(2)
    intune.fake.permissions.discard(PERMISSION)
    async with intune.connect() as connector:
        result = await connector.test_connection()
    assert not result.ok and result.missing == [PERMISSION]
    assert PERMISSION in result.message


def test_intune_states_map_to_canonical_compliance() -> None:
    base = {"id": "x", "isEncrypted": True, "jailBroken": "Unknown"}
    grace = to_device(
        {
            **base,
            "complianceState": "inGracePeriod",
            "complianceGracePeriodExpirationDateTime": "2026-03-04T00:00:00Z",
            "jailBroken": "True",
        }
    )
    assert grace.compliance_state == "in_grace_period" and grace.jailbroken is True
    assert grace.compliance_reasons == [
        "grace period ends 2026-03-04T00:00:00Z",
        "device is jailbroken or rooted",
    ]
    conflict = to_device({**base, "complianceState": "conflict"})
    assert conflict.compliance_state == "noncompliant"
    assert conflict.compliance_reasons == ["Intune compliance evaluation ended in 'conflict'"]
    assert to_device({**base, "complianceState": "configManager"}).compliance_state == "unknown"
    unset = to_device({**base, "enrolledDateTime": "0001-01-01T00:00:00Z", "serialNumber": ""})
    assert unset.enrolled_at is None and unset.serial_number is None
    retiring = to_device({**base, "managementState": "retirePending"})
    assert (retiring.management_state, retiring.enrollment_state) == (
        "retire_pending",
        "unenrolling",
    )
