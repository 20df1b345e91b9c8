"""Jamf Pro through the sync engine: reconcile, compliance changes, failures that lose nothing."""

from __future__ import annotations

from typing import Any

from tests.connectors.engine_rig import EngineRig
from tests.connectors.jamf_pro.harness import Harness

COMPLIANCE = {"source": "smart_group", "noncompliant_groups": ["FileVault Off"]}


async def connect(rig: EngineRig, jamf: Harness, **extra: Any) -> int:
    config = {**jamf.config(), "compliance": COMPLIANCE, **extra}
    return await rig.connect("Jamf", "jamf_pro", config)


async def test_full_runs_reconcile_removed_devices(rig: EngineRig, jamf: Harness) -> None:
    jamf.fake.reset(9, mobiles=3)
    connection = await connect(rig, jamf)
    first = await rig.sync(connection)
    assert (first.status, first.created, first.changed_entities) == ("success", 12, {"device"})

    gone = jamf.fake.computers.pop(4)
    second = await rig.sync(connection)

    records = await rig.records(connection)
    assert (second.deleted, second.unchanged) == (1, 11)
    assert f"computers/{gone['id']}" not in records and len(records) == 11


async def test_device_becoming_noncompliant_is_updated_with_reason(
    rig: EngineRig, jamf: Harness
) -> None:
    jamf.fake.reset(5)
    connection = await connect(rig, jamf, read_mobile_devices=False)
    await rig.sync(connection)
    target = jamf.fake.computers[1]
    target["groupMemberships"].append({"groupId": "9", "groupName": "FileVault Off"})

    result = await rig.sync(connection)

    data = (await rig.records(connection))[f"computers/{target['id']}"]
    assert (result.updated, result.unchanged) == (1, 4)
    assert data["compliance_state"] == "noncompliant"
    assert data["compliance_reasons"] == ["member of smart group 'FileVault Off'"]


async def test_revoked_credentials_need_reconnect_and_lose_nothing(
    rig: EngineRig, jamf: Harness
) -> None:
    jamf.fake.reset(6)
    connection = await connect(rig, jamf, read_mobile_devices=False)
    await rig.sync(connection)
    before = await rig.records(connection)
    jamf.fake.computers.pop(0)
    jamf.fake.revoke()

    result = await rig.sync(connection)

    assert (result.status, result.error_code) == ("failed", "needs_reconnect")
    assert jamf.fake.client_secret not in (result.error or "")
    assert (await rig.connection(connection)).state == "needs_reconnect"
    assert await rig.records(connection) == before


async def test_garbage_answer_fails_the_run_and_loses_nothing(
    rig: EngineRig, jamf: Harness
) -> None:
    jamf.fake.reset(6)
    connection = await connect(rig, jamf, read_mobile_devices=False)
    await rig.sync(connection)
    before = await rig.records(connection)
    jamf.fake.computers.pop(0)
    jamf.fake.fail_next(200, garbage=True)

    result = await rig.sync(connection)

    assert (result.status, result.error_code) == ("failed", "source_failed")
    assert "not JSON" in (result.error or "")
    assert await rig.records(connection) == before
