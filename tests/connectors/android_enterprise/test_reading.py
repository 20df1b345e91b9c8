"""Android Enterprise: the service-account JWT, pageToken paging, mapping, Google errors."""

from __future__ import annotations

import logging

import pytest

from connectors.base.errors import FatalSourceError, RateLimitedError, SourceAuthError
from connectors.base.stream import SyncContext
from connectors.base.testing import RecordingSleep, now
from tests.connectors.android_enterprise.harness import Harness
from tests.fakes.android_enterprise import SCOPE, make_noncompliant


async def test_assertion_is_rs256_signed_and_token_is_reused(android: Harness) -> None:
    android.reset(12)
    run = await android.read()
    assert set(run.ids) == android.source_ids()
    assert android.fake.token_requests == 1, "the access token was not cached for the run"
    header, claims = android.fake.assertions[0]["header"], android.fake.assertions[0]["claims"]
    assert header["alg"] == "RS256" and header["kid"] == android.fake.key_id
    assert claims["iss"] == android.fake.client_email and claims["scope"] == SCOPE
    assert claims["aud"] == f"{android.server.url}/token"
    assert 0 < claims["exp"] - claims["iat"] <= 3600


async def test_pages_follow_page_tokens_and_ask_only_for_mapped_fields(android: Harness) -> None:
    android.reset(12)
    await android.read()
    queries = android.fake.requests
    assert len(queries) == 3 and "pageToken" not in queries[0]
    assert all("pageToken" in q for q in queries[1:])
    assert all(q["pageSize"] == "5" for q in queries)
    assert "hardwareInfo(serialNumber" in queries[0]["fields"]
    assert "networkInfo" not in queries[0]["fields"]


async def test_devices_map_compliance_posture_and_owner(android: Harness) -> None:
    android.reset(8)
    raw = android.fake.devices[3]
    make_noncompliant(raw, "applications", "APP_NOT_INSTALLED")
    raw["nonComplianceDetails"][0]["packageName"] = "com.acme.vpn"
    raw["securityPosture"] = {
        "devicePosture": "POTENTIALLY_COMPROMISED",
        "postureDetails": [{"securityRisk": "COMPROMISED_OS"}],
    }
    devices = {d.source_id: d for d in (await android.read()).records}
    device = devices[raw["name"].rsplit("/", 1)[-1]]
    assert device.serial_number == raw["hardwareInfo"]["serialNumber"]
    assert (device.os, device.os_version) == ("Android", "14")
    assert device.compliance_state == "noncompliant" and device.jailbroken is True
    assert device.compliance_reasons == ["applications: APP_NOT_INSTALLED (com.acme.vpn)"]
    assert device.owner == "user00003@example.com" and device.ownership == "personal"
    assert device.extra["security_patch_level"] == "2025-08-05"
    assert device.extra["management_mode"] == "PROFILE_OWNER"
    assert device.extra["security_posture"] == "POTENTIALLY_COMPROMISED"
    assert device.management_state == "active" and device.enrollment_state == "enrolled"
    healthy = devices[android.fake.devices[0]["name"].rsplit("/", 1)[-1]]
    assert healthy.compliance_state == "compliant" and healthy.jailbroken is False
    assert healthy.ownership == "corporate" and healthy.encrypted is True


async def test_token_expiring_mid_run_is_fetched_again(android: Harness) -> None:
    android.reset(12)
    records = []
    async with android.connect() as connector:
        async for page in connector.get_streams()[0].pages(SyncContext(now())):
            records.extend(page.records)
            android.fake.expire_tokens()
    assert {r.source_id for r in records} == android.source_ids()
    assert android.fake.token_requests == 3, "expected one token per page of three"


async def test_deleted_key_needs_reconnect_without_leaking_it(
    android: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    android.reset(3)
    android.fake.delete_key()
    with caplog.at_level(logging.DEBUG), pytest.raises(SourceAuthError) as caught:
        await android.read()
    assert "invalid_grant" in caught.value.message
    for secret in android.secrets():
        assert secret not in caught.value.message and secret not in caplog.text


async def test_google_error_bodies_are_reported(android: Harness) -> None:
    android.reset(3)
    android.fake.fail_next(429, times=10)
    with pytest.raises(RateLimitedError, match="Quota exceeded"):
        await android.read(sleep=RecordingSleep())
    config = {**android.config(), "enterprise_id": "LC0unknown"}
    android.config = lambda: config  # type: ignore[method-assign]
    try:
        with pytest.raises(FatalSourceError, match="Enterprise LC0unknown not found"):
            await android.read()
    finally:
        del android.config
