"""Jira Service Management through the sync engine: full, incremental, deletions, 429, garbage."""

from __future__ import annotations

from tests.connectors.engine_rig import EngineRig
from tests.connectors.jira_service_management.harness import Harness

OBJECTS, CHANGES = 12, 14
SLUG = "jira_service_management"


async def connect(rig: EngineRig, jira: Harness) -> int:
    jira.fake.reset(CHANGES, objects=OBJECTS)
    return await rig.connect("jsm", SLUG, jira.config())


def of(records: dict[str, dict[str, object]], stream: str) -> dict[str, dict[str, object]]:
    return {k.split("/", 1)[1]: v for k, v in records.items() if k.startswith(f"{stream}/")}


def edges(jira: Harness) -> int:
    return sum(
        1 for o in jira.fake.objects.values() if o["type"] == "11" and o["values"]["Depends on"]
    )


async def test_full_run_stores_devices_edges_and_changes(rig: EngineRig, jira: Harness) -> None:
    connection = await connect(rig, jira)
    result = await rig.sync(connection)
    assert result.status == "success"
    assert result.changed_entities == {"device", "relationship", "change"}
    records = await rig.records(connection)
    assert len(of(records, "objects")) == OBJECTS and len(of(records, "changes")) == CHANGES
    assert len(of(records, "relationships")) == edges(jira) > 0
    assert of(records, "changes")["10001"]["number"] == "CHG-1"


async def test_incremental_run_after_created_updated_deleted_cis_and_an_approval(
    rig: EngineRig, jira: Harness
) -> None:
    connection = await connect(rig, jira)
    await rig.sync(connection)
    fake = jira.fake
    fake.add_object(500)
    fake.set_values("2", OS_Version="99.9")
    doomed = next(o["id"] for o in fake.objects.values() if o["type"] == "10" and o["id"] != "2")
    fake.delete_object(doomed)
    waiting = next(i for i in fake.issues if i["fields"]["status"]["name"] in ("Open", "Planning"))
    fake.approve(waiting["key"])

    second = await rig.sync(connection, mode="incremental")
    assert (second.status, second.mode) == ("success", "incremental")
    records = await rig.records(connection)
    objects = of(records, "objects")
    assert "500" in objects and objects["2"]["os_version"] == "99.9"
    assert doomed not in objects, "objects are read in full, so a deletion is seen at once"
    assert len(of(records, "relationships")) == edges(jira)
    change = of(records, "changes")[waiting["id"]]
    assert (change["state"], change["approval"]) == ("scheduled", "approved")
    read_in_full = len(objects) + edges(jira)
    assert second.fetched <= read_in_full + 3, "changes were read incrementally"


async def test_429_mid_run_is_waited_out_and_nothing_is_lost(rig: EngineRig, jira: Harness) -> None:
    connection = await connect(rig, jira)
    jira.fake.fail_on_page(2, "search", 429, times=2, retry_after="0")
    result = await rig.sync(connection)
    assert result.status == "success"
    assert len(of(await rig.records(connection), "changes")) == CHANGES


async def test_garbage_mid_run_fails_clearly_and_changes_nothing(
    rig: EngineRig, jira: Harness
) -> None:
    connection = await connect(rig, jira)
    await rig.sync(connection)
    before = await rig.records(connection)
    jira.fake.set_values("1", Operating_System="Plan 9")
    jira.fake.fail_on_page(2, "search", 200, times=1, garbage=True)
    failed = await rig.sync(connection)
    assert failed.status == "failed" and failed.error_code == "source_failed"
    assert failed.error is not None and "not JSON" in failed.error
    assert await rig.records(connection) == before
    retried = await rig.sync(connection)
    assert retried.status == "success"
    assert of(await rig.records(connection), "objects")["1"]["os"] == "Plan 9"
