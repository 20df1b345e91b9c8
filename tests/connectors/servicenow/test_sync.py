"""ServiceNow through the sync engine: full, incremental, deletions, throttling, garbage."""

from __future__ import annotations

import random
from datetime import UTC, datetime

import pytest

from tests.connectors.engine_rig import EngineRig
from tests.connectors.servicenow.harness import Harness
from tests.fakes.servicenow_data import computer, sys_id

COMPUTERS, RELATIONSHIPS, CHANGES = 40, 60, 25


@pytest.fixture
async def connection(rig: EngineRig, servicenow: Harness) -> int:
    servicenow.fake.reset(COMPUTERS, relationships=RELATIONSHIPS, changes=CHANGES)
    return await rig.connect("servicenow", "servicenow", {**servicenow.config(), "page_size": 10})


async def test_full_run_stores_devices_edges_and_changes(
    rig: EngineRig, connection: int, servicenow: Harness
) -> None:
    result = await rig.sync(connection, mode=None)
    assert result.status == "success" and result.mode == "full"
    assert result.created == COMPUTERS + RELATIONSHIPS + CHANGES
    assert result.changed_entities == {"device", "relationship", "change"}
    changes = await rig.stored(connection, "changes")
    number = servicenow.fake.rows("change_request")[3]["number"]
    stored = next(r for r in changes.values() if r.entity_key == number)
    assert stored.entity == "change" and stored.data["number"] == number


async def test_incremental_run_after_created_updated_deleted_and_approved(
    rig: EngineRig, connection: int, servicenow: Harness
) -> None:
    fake = servicenow.fake
    await rig.sync(connection, mode=None)
    new = {**computer(999, random.Random(3), updated=datetime.now(UTC)), "sys_id": sys_id("new", 1)}
    fake.add([new])
    updated, deleted = fake.rows()[5]["sys_id"], fake.rows()[6]["sys_id"]
    fake.touch([updated], os_version="99.9")
    fake.delete([deleted])
    waiting = next(r for r in fake.rows("change_request") if r["approval"] == "requested")
    approvals = [a["sys_id"] for a in fake.rows("sysapproval_approver")
                 if a["sysapproval"] == waiting["sys_id"]]  # fmt: skip
    fake.touch(approvals, table="sysapproval_approver", state="approved")
    fake.touch([waiting["sys_id"]], table="change_request", approval="approved", state="-2")

    second = await rig.sync(connection, mode=None)
    assert (second.status, second.mode) == ("success", "incremental")
    devices = await rig.stored(connection, "computers")
    assert new["sys_id"] in devices and devices[updated].data["os_version"] == "99.9"
    assert deleted in devices, "an incremental run cannot see deletions"
    change = (await rig.stored(connection, "changes"))[waiting["sys_id"]].data
    assert (change["approval"], change["state"]) == ("approved", "scheduled")
    assert {a["state"] for a in change["approvals"]} == {"approved"}

    reconcile = await rig.sync(connection)
    assert reconcile.deleted == 1 and deleted not in await rig.stored(connection, "computers")


async def test_429_mid_run_is_waited_out_and_nothing_is_lost(
    rig: EngineRig, connection: int, servicenow: Harness
) -> None:
    servicenow.fake.fail_on_page(3, 429, times=2, retry_after="0")
    result = await rig.sync(connection, mode=None)
    assert result.status == "success"
    assert len(await rig.stored(connection)) == COMPUTERS + RELATIONSHIPS + CHANGES


async def test_garbage_mid_run_fails_clearly_and_changes_nothing(
    rig: EngineRig, connection: int, servicenow: Harness
) -> None:
    await rig.sync(connection, mode=None)
    before = {k: r.content_hash for k, r in (await rig.stored(connection)).items()}
    servicenow.fake.touch([r["sys_id"] for r in servicenow.fake.rows()[:3]], os_version="1.0")
    servicenow.fake.fail_on_page(2, 200, times=1, garbage=True)
    failed = await rig.sync(connection)
    assert failed.status == "failed" and failed.error_code == "source_failed"
    assert failed.error is not None and "not JSON" in failed.error
    after = {k: r.content_hash for k, r in (await rig.stored(connection)).items()}
    assert after == before
    retried = await rig.sync(connection)
    assert retried.status == "success" and retried.updated == 3 and retried.deleted == 0
