"""Intune through the sync engine: reconcile, compliance changes, failures that lose nothing."""

from __future__ import annotations

from tests.connectors.engine_rig import EngineRig
from tests.connectors.intune.harness import Harness


async def test_full_runs_reconcile_removed_devices(rig: EngineRig, intune: Harness) -> None:
    intune.reset(9)
    connection = await rig.connect("Intune", "intune", intune.config())
    first = await rig.sync(connection)
    assert (first.status, first.created, first.changed_entities) == ("success", 9, {"device"})

    gone = sorted(intune.fake.managed)[4]
    del intune.fake.managed[gone]
    second = await rig.sync(connection)

    records = await rig.records(connection)
    assert (second.status, second.deleted, second.unchanged) == ("success", 1, 8)
    assert f"managed_devices/{gone}" not in records and len(records) == 8


async def test_device_becoming_noncompliant_is_updated_with_reason(
    rig: EngineRig, intune: Harness
) -> None:
    intune.reset(5)
    connection = await rig.connect("Intune", "intune", intune.config())
    await rig.sync(connection)
    target = intune.fake.managed[sorted(intune.fake.managed)[1]]
    target.update(complianceState="noncompliant", isEncrypted=False)

    result = await rig.sync(connection)

    data = (await rig.records(connection))[f"managed_devices/{target['id']}"]
    assert (result.updated, result.unchanged) == (1, 4)
    assert data["compliance_state"] == "noncompliant" and data["encrypted"] is False
    assert data["compliance_reasons"] == ["storage is not encrypted"]


async def test_revoked_secret_needs_reconnect_and_loses_nothing(
    rig: EngineRig, intune: Harness
) -> None:
    intune.reset(6)
    connection = await rig.connect("Intune", "intune", intune.config())
    await rig.sync(connection)
    before = await rig.records(connection)
    secret = intune.fake.identity.client_secret
    del intune.fake.managed[sorted(intune.fake.managed)[0]]
    intune.fake.identity.client_secret = "rotated~in~the~portal"
    try:
        result = await rig.sync(connection)
    finally:
        intune.fake.identity.client_secret = secret

    assert (result.status, result.error_code) == ("failed", "needs_reconnect")
    assert secret not in (result.error or "")
    assert (await rig.connection(connection)).state == "needs_reconnect"
    assert await rig.records(connection) == before


async def test_garbage_answer_fails_the_run_and_loses_nothing(
    rig: EngineRig, intune: Harness
) -> None:
    intune.reset(6)
    connection = await rig.connect("Intune", "intune", intune.config())
    await rig.sync(connection)
    before = await rig.records(connection)
    del intune.fake.managed[sorted(intune.fake.managed)[0]]
    intune.fake.fail_next(200, garbage=True)

    result = await rig.sync(connection)

    assert (result.status, result.error_code) == ("failed", "source_failed")
    assert "not JSON" in (result.error or "")
    assert await rig.records(connection) == before
