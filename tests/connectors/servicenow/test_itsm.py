"""Relationships (cmdb_rel_ci) and change requests with affected CIs and approvals."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from connectors.base.canonical import CanonicalChange, CanonicalRelationship
from connectors.base.stream import SyncContext
from connectors.base.testing import StreamRun, now, read_stream
from connectors.servicenow.change_mapping import change
from connectors.servicenow.mapping import computer_to_device
from tests.connectors.servicenow.harness import Harness


async def read(harness: Harness, stream: str, context: SyncContext | None = None) -> StreamRun:
    async with harness.connect() as connector:
        return await read_stream(connector, stream, context or SyncContext(now()))


def device_keys(harness: Harness) -> dict[str, str]:
    return {row["sys_id"]: computer_to_device(row).key for row in harness.fake.rows()}


def changes_by_number(run: StreamRun) -> dict[str, CanonicalChange]:
    return {r.number: r for r in run.records if isinstance(r, CanonicalChange)}


async def test_relationships_join_devices_by_their_key(servicenow: Harness) -> None:
    servicenow.fake.reset(30, relationships=40)
    run = await read(servicenow, "relationships")
    keys = device_keys(servicenow)
    types = {r["sys_id"]: r["name"] for r in servicenow.fake.rows("cmdb_rel_type")}
    edges = {r.source_id: r for r in run.records if isinstance(r, CanonicalRelationship)}
    assert len(edges) == 40
    for row in servicenow.fake.rows("cmdb_rel_ci"):
        edge = edges[row["sys_id"]]
        assert (edge.parent, edge.child) == (keys[row["parent"]], keys[row["child"]])
        assert edge.type == types[row["type"]] and "::" in edge.type
    assert any(key.startswith("SN") for key in keys.values())


async def test_edge_to_a_ci_without_serial_uses_the_same_fallback_key(servicenow: Harness) -> None:
    servicenow.fake.reset(5, relationships=6)
    edge = servicenow.fake.rows("cmdb_rel_ci")[0]
    servicenow.fake.touch([edge["parent"]], serial_number="", asset_tag="a-17")
    run = await read(servicenow, "relationships")
    found = next(r for r in run.records if r.source_id == edge["sys_id"])
    assert isinstance(found, CanonicalRelationship) and found.parent == "tag:A-17"


async def test_changes_are_mapped_with_cis_approvals_and_utc_window(servicenow: Harness) -> None:
    servicenow.fake.reset(20, changes=30)
    run = await read(servicenow, "changes")
    changes = changes_by_number(run)
    keys = device_keys(servicenow)
    users = {u["sys_id"]: u["email"] for u in servicenow.fake.rows("sys_user")}
    groups = {g["sys_id"]: g["name"] for g in servicenow.fake.rows("sys_user_group")}
    states = {"-5": "new", "-4": "assess", "-3": "authorize", "-2": "scheduled",
              "-1": "implement", "0": "review", "3": "closed", "4": "canceled"}  # fmt: skip
    assert len(changes) == 30
    for row in servicenow.fake.rows("change_request"):
        got = changes[row["number"]]
        assert got.state == states[row["state"]] and got.type == row["type"]
        assert got.risk == {"2": "high", "3": "moderate", "4": "low"}[row["risk"]]
        assert got.approval == row["approval"].replace(" ", "_")
        assert got.requested_by == users[row["requested_by"]]
        assert got.assignment_group == groups[row["assignment_group"]]
        assert got.planned_start == datetime.strptime(
            row["start_date"], "%Y-%m-%d %H:%M:%S"
        ).replace(tzinfo=UTC)
        cis = [
            keys[t["ci_item"]]
            for t in servicenow.fake.rows("task_ci")
            if t["task"] == row["sys_id"]
        ]
        assert got.affected_cis == sorted(set(cis))
        approvers = [
            users[a["approver"]]
            for a in servicenow.fake.rows("sysapproval_approver")
            if a["sysapproval"] == row["sys_id"]
        ]
        assert sorted(a.approver for a in got.approvals) == sorted(approvers)
    assert servicenow.fake.invalid_query_parts == []


async def test_approval_decided_later_reaches_an_incremental_run(servicenow: Harness) -> None:
    servicenow.fake.reset(10, changes=12)
    full = await read(servicenow, "changes")
    assert full.cursor is not None and set(full.cursor) == {
        "change_request", "sysapproval_approver", "task_ci"
    }  # fmt: skip
    pending = next(
        r for r in servicenow.fake.rows("change_request") if r["approval"] == "requested"
    )
    mine = [a["sys_id"] for a in servicenow.fake.rows("sysapproval_approver")
            if a["sysapproval"] == pending["sys_id"]]  # fmt: skip
    servicenow.fake.touch(mine, table="sysapproval_approver", state="approved")
    later = await read(servicenow, "changes", SyncContext(now(), "incremental", full.cursor))
    updated = changes_by_number(later)
    assert set(updated) - at_cursor(servicenow, full.cursor) == {pending["number"]}
    assert [a.state for a in updated[pending["number"]].approvals] == ["approved", "approved"]


async def test_incremental_run_with_nothing_changed_reads_only_the_boundary(
    servicenow: Harness,
) -> None:
    servicenow.fake.reset(10, changes=12)
    full = await read(servicenow, "changes")
    assert full.cursor is not None
    again = await read(servicenow, "changes", SyncContext(now(), "incremental", full.cursor))
    assert set(changes_by_number(again)) <= at_cursor(servicenow, full.cursor)
    assert len(again.records) < 4


def at_cursor(harness: Harness, cursor: dict[str, Any]) -> set[str]:
    """Numbers of changes an inclusive cursor reads again (a row stamped exactly at it)."""
    fake = harness.fake
    numbers = {r["sys_id"]: r["number"] for r in fake.rows("change_request")}
    column = {"change_request": "sys_id", "sysapproval_approver": "sysapproval", "task_ci": "task"}
    return {
        numbers[row[ref]]
        for table, ref in column.items()
        for row in fake.rows(table)
        if row["sys_updated_on"] == cursor[table]["sys_updated_on"]
    }


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        (
            {"state": "-3", "risk": "1", "approval": "approved"},
            ("authorize", "very_high", "approved"),
        ),
        ({"state": "42", "risk": "9", "approval": "weird"}, ("unknown", None, "not_requested")),
    ],
)
def test_plain_values_and_unknown_codes(fields: dict[str, str], expected: tuple[Any, ...]) -> None:
    raw = {"sys_id": "a" * 32, "number": "CHG0000001", "type": "odd", **fields}
    mapped = change(raw, [], [])
    assert (mapped.state, mapped.risk, mapped.approval) == expected and mapped.type == "normal"
