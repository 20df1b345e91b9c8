"""Freshservice assets, relationships and changes as canonical records."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from connectors.base.canonical import CanonicalChange, CanonicalDevice, CanonicalRelationship
from connectors.base.errors import FatalSourceError
from connectors.base.registry import parse_config
from connectors.base.stream import SyncContext
from connectors.base.testing import RecordingSleep, StreamRun, now, read_stream
from connectors.freshservice import FreshserviceConnector
from tests.connectors.freshservice.harness import Harness


async def read(harness: Harness, stream: str, **config: Any) -> StreamRun:
    original = harness.config
    harness.config = lambda: {**original(), **config}  # type: ignore[method-assign]
    try:
        async with harness.connect() as connector:
            return await read_stream(connector, stream, SyncContext(now()))
    finally:
        harness.config = original  # type: ignore[method-assign]


def devices(run: StreamRun) -> dict[str, CanonicalDevice]:
    return {r.source_id: r for r in run.records if isinstance(r, CanonicalDevice)}


async def test_device_assets_map_type_fields_owner_location_and_state(
    freshservice: Harness,
) -> None:
    freshservice.fake.reset(0, assets=12)
    found = devices(await read(freshservice, "assets"))
    rows = {str(a["display_id"]): a for a in freshservice.fake.data.assets}
    software = [k for k, a in rows.items() if a["asset_type_id"] == 6]
    assert set(found) == set(rows) - set(software), "only computer types are devices"
    for source_id, device in found.items():
        raw = rows[source_id]
        fields = {k.rsplit("_", 1)[0]: v for k, v in raw["type_fields"].items()}
        assert device.serial_number == (fields["serial_number"] or None)
        assert device.hostname == fields["hostname"] and device.os == fields["os"]
        assert (
            device.asset_tag == raw["asset_tag"] and device.install_status == fields["asset_state"]
        )
        assert device.owner == f"user{raw['user_id']}@example.com"
        assert device.location == f"Office {raw['location_id']}"
        kind = {3: "laptop", 4: "desktop", 5: "server"}[raw["asset_type_id"]]
        assert device.device_type == kind and device.cmdb_class == kind.capitalize()
        expected = {"In Use": "active", "In Stock": "inactive", "In Repair": "maintenance"}
        assert device.status == expected.get(fields["asset_state"], "retired")
    assert any(d.key.startswith("tag:") for d in found.values()), "serial-less assets key by tag"


async def test_relationships_join_devices_by_their_keys(freshservice: Harness) -> None:
    freshservice.fake.reset(0, assets=8, relationships=10)
    keys = {d.source_id: d.key for d in devices(await read(freshservice, "assets")).values()}
    run = await read(freshservice, "relationships")
    edges = {r.source_id: r for r in run.records if isinstance(r, CanonicalRelationship)}
    assert len(edges) == 10
    for row in freshservice.fake.data.relationships:
        edge = edges[str(row["id"])]
        assert (edge.parent, edge.child) == (
            keys[str(row["primary_id"])],
            keys[str(row["secondary_id"])],
        )
        assert edge.type in {"Depends On::Used By", "Runs On::Runs"}


async def test_changes_map_codes_window_approvals_and_affected_cis(freshservice: Harness) -> None:
    freshservice.fake.reset(20, assets=6)
    keys = {d.source_id: d.key for d in devices(await read(freshservice, "assets")).values()}
    run = await read(freshservice, "changes")
    changes = {r.number: r for r in run.records if isinstance(r, CanonicalChange)}
    assert len(changes) == 20
    states = {1: "new", 2: "assess", 3: "authorize", 4: "scheduled", 5: "review", 6: "closed"}
    for row in freshservice.fake.data.changes:
        got = changes[f"CHN-{row['id']}"]
        assert got.state == states[row["status"]]
        assert got.risk == [None, "low", "moderate", "high", "very_high"][row["risk"]]
        assert (
            got.type
            == {1: "normal", 2: "standard", 3: "normal", 4: "emergency"}[row["change_type"]]
        )
        assert got.cab_required == (row["risk"] >= 3 or row["change_type"] >= 3)
        assert got.planned_start is not None and got.planned_start.isoformat().startswith(
            row["planned_start_date"][:19]
        )
        assert got.affected_cis == sorted({keys[str(a["display_id"])] for a in row["assets"]})
        approvals = freshservice.fake.data.approvals[row["id"]]
        assert [a.approver for a in got.approvals] == sorted(
            f"approver{a['member_id']}@example.com" for a in approvals
        )
        expected = (
            "not_requested"
            if not approvals
            else ("requested" if row["status"] == 3 else "approved")
        )
        assert got.approval == expected


async def test_incremental_run_sends_updated_since_and_sees_an_approval(
    freshservice: Harness,
) -> None:
    freshservice.fake.reset(8)
    async with freshservice.connect() as connector:
        full = await read_stream(connector, "changes", SyncContext(now()))
    waiting = next(c for c in freshservice.fake.data.changes if c["status"] in (1, 2, 3))
    freshservice.fake.approve(waiting["id"])
    async with freshservice.connect() as connector:
        later = await read_stream(
            connector, "changes", SyncContext(now(), "incremental", full.cursor)
        )
    got = {r.source_id: r for r in later.records if isinstance(r, CanonicalChange)}
    assert str(waiting["id"]) in got and len(got) < 8
    approved = got[str(waiting["id"])]
    assert (approved.state, approved.approval) == ("scheduled", "approved")
    assert {a.state for a in approved.approvals} == {"approved"} and approved.approvals[0].at


async def test_json_without_the_list_is_a_clear_error(freshservice: Harness) -> None:
    freshservice.fake.reset(3)
    freshservice.fake.fail_next(200)  # a 200 whose JSON body holds no "changes"
    with pytest.raises(FatalSourceError, match="without a list of changes"):
        await freshservice.read(sleep=RecordingSleep())


async def test_connection_refused_without_leaking_the_key(freshservice: Harness) -> None:
    freshservice.fake.reset(2)
    wrong = "fs-Key-not-the-right-one"
    config = parse_config(FreshserviceConnector, {**freshservice.config(), "api_key": wrong})
    async with httpx.AsyncClient() as client:
        connector = FreshserviceConnector(config, http_client=client, sleep=RecordingSleep())  # type: ignore[arg-type]
        result = await connector.test_connection()
    assert not result.ok and result.error_code == "needs_reconnect" and "401" in result.message
    assert wrong not in result.message


async def test_used_up_minute_budget_waits_for_the_next_minute(freshservice: Harness) -> None:
    freshservice.fake.reset(12)
    freshservice.fake.use_up_rate_limit()
    sleep = RecordingSleep()
    run = await freshservice.read(sleep=sleep)
    assert len(sleep.waits) == 1 and 0 < sleep.waits[0] <= 60
    assert set(run.ids) == freshservice.source_ids()
