"""Android Enterprise through the sync engine: reconcile, compliance, failures that lose nothing."""

from __future__ import annotations

from tests.connectors.android_enterprise.harness import Harness
from tests.connectors.engine_rig import EngineRig
from tests.fakes.android_enterprise import make_noncompliant


def device_id(raw: dict[str, object]) -> str:
    return str(raw["name"]).rsplit("/", 1)[-1]


async def test_full_runs_reconcile_removed_devices(rig: EngineRig, android: Harness) -> None:
    android.reset(9)
    connection = await rig.connect("Android", "android_enterprise", android.config())
    first = await rig.sync(connection)
    assert (first.status, first.created, first.changed_entities) == ("success", 9, {"device"})

    gone = android.fake.devices.pop(4)  # deleted devices are no longer listed
    second = await rig.sync(connection)

    records = await rig.records(connection)
    assert (second.status, second.deleted, second.unchanged) == ("success", 1, 8)
    assert f"devices/{device_id(gone)}" not in records and len(records) == 8


async def test_device_becoming_noncompliant_is_updated_with_reason(
    rig: EngineRig, android: Harness
) -> None:
    android.reset(5)
    connection = await rig.connect("Android", "android_enterprise", android.config())
    await rig.sync(connection)
    target = android.fake.devices[1]
    make_noncompliant(target, "encryptionPolicy", "USER_ACTION")

    result = await rig.sync(connection)

    data = (await rig.records(connection))[f"devices/{device_id(target)}"]
    assert (result.updated, result.unchanged) == (1, 4)
    assert data["compliance_state"] == "noncompliant"
    assert data["compliance_reasons"] == ["encryptionPolicy: USER_ACTION"]


async def test_deleted_key_needs_reconnect_and_loses_nothing(
    rig: EngineRig, android: Harness
) -> None:
    android.reset(6)
    connection = await rig.connect("Android", "android_enterprise", android.config())
    await rig.sync(connection)
    before = await rig.records(connection)
    android.fake.devices.pop(0)
    android.fake.delete_key()

    result = await rig.sync(connection)

    assert (result.status, result.error_code) == ("failed", "needs_reconnect")
    assert all(secret not in (result.error or "") for secret in android.secrets())
    assert (await rig.connection(connection)).state == "needs_reconnect"
    assert await rig.records(connection) == before


async def test_garbage_answer_fails_the_run_and_loses_nothing(
    rig: EngineRig, android: Harness
) -> None:
    android.reset(6)
    connection = await rig.connect("Android", "android_enterprise", android.config())
    await rig.sync(connection)
    before = await rig.records(connection)
    android.fake.devices.pop(0)
    android.fake.fail_next(200, garbage=True)

    result = await rig.sync(connection)

    assert (result.status, result.error_code) == ("failed", "source_failed")
    assert "not JSON" in (result.error or "")
    assert await rig.records(connection) == before
