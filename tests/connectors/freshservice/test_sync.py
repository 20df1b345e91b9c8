"""Freshservice through the sync engine: full, incremental, deletions, throttling, garbage."""

from __future__ import annotations

from tests.connectors.engine_rig import EngineRig
from tests.connectors.freshservice.harness import Harness

ASSETS, RELATIONSHIPS, CHANGES = 12, 10, 14


async def connect(rig: EngineRig, freshservice: Harness) -> int:
    freshservice.fake.reset(CHANGES, assets=ASSETS, relationships=RELATIONSHIPS)
    return await rig.connect("freshservice", "freshservice", freshservice.config())


def count(records: dict[str, dict[str, object]], stream: str) -> int:
    return sum(1 for key in records if key.startswith(f"{stream}/"))


async def test_full_run_stores_devices_edges_and_changes(
    rig: EngineRig, freshservice: Harness
) -> None:
    connection = await connect(rig, freshservice)
    result = await rig.sync(connection)
    assert result.status == "success"
    assert result.changed_entities == {"device", "relationship", "change"}
    records = await rig.records(connection)
    assert count(records, "assets") == ASSETS, "the software asset is not a device"
    assert count(records, "relationships") == RELATIONSHIPS and count(records, "changes") == CHANGES
    assert records["changes/1"]["number"] == "CHN-1"


async def test_incremental_run_after_created_updated_deleted_cis_and_an_approval(
    rig: EngineRig, freshservice: Harness
) -> None:
    connection = await connect(rig, freshservice)
    await rig.sync(connection)
    fake = freshservice.fake
    fake.add_asset(500)
    fake.touch_asset(2, os_version="99.9")
    fake.delete_asset(3)
    waiting = next(c for c in fake.data.changes if c["status"] in (1, 2, 3))
    fake.approve(waiting["id"])

    second = await rig.sync(connection, mode="incremental")
    assert (second.status, second.mode) == ("success", "incremental")
    records = await rig.records(connection)
    assert "assets/500" in records and records["assets/2"]["os_version"] == "99.9"
    assert "assets/3" not in records, "assets are read in full, so a deletion is seen at once"
    assert not any("id:3" in (r.get("parent"), r.get("child")) for r in records.values())
    change = records[f"changes/{waiting['id']}"]
    assert (change["state"], change["approval"]) == ("scheduled", "approved")
    assert second.deleted >= 1 and second.created >= 1


async def test_429_mid_run_is_waited_out_and_nothing_is_lost(
    rig: EngineRig, freshservice: Harness
) -> None:
    connection = await connect(rig, freshservice)
    freshservice.fake.fail_on_page(2, "changes", 429, times=2, retry_after="0")
    result = await rig.sync(connection)
    assert result.status == "success"
    assert count(await rig.records(connection), "changes") == CHANGES


async def test_garbage_mid_run_fails_clearly_and_changes_nothing(
    rig: EngineRig, freshservice: Harness
) -> None:
    connection = await connect(rig, freshservice)
    await rig.sync(connection)
    before = await rig.records(connection)
    freshservice.fake.touch_asset(1, os="Plan 9")
    edges = [
        r for r in freshservice.fake.data.relationships if 4 in (r["primary_id"], r["secondary_id"])
    ]
    freshservice.fake.delete_asset(4)
    freshservice.fake.fail_on_page(2, "changes", 200, times=1, garbage=True)
    failed = await rig.sync(connection)
    assert failed.status == "failed" and failed.error_code == "source_failed"
    assert failed.error is not None and "not JSON" in failed.error
    assert await rig.records(connection) == before
    retried = await rig.sync(connection)
    assert retried.status == "success" and retried.deleted == 1 + len(edges)
    assert (await rig.records(connection))["assets/1"]["os"] == "Plan 9"
