"""ServiceNow computers: the requests sent, the mapping, tables and incremental queries."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from connectors.base.canonical import CanonicalDevice
from connectors.base.stream import SyncContext
from connectors.base.testing import now
from connectors.servicenow.mapping import computer_to_device
from tests.connectors.servicenow.harness import Harness
from tests.fakes.servicenow_data import computer, sys_id


def by_id(records: list[Any]) -> dict[str, CanonicalDevice]:
    return {r.source_id: r for r in records}


async def test_requests_only_mapped_fields_with_values_and_display_values(
    servicenow: Harness,
) -> None:
    servicenow.reset(12)
    await servicenow.read()
    first = servicenow.fake.requests[0]
    assert first["sysparm_display_value"] == "all"
    assert first["sysparm_exclude_reference_link"] == "true"
    assert first["sysparm_limit"] == "5"
    assert first["sysparm_query"] == "ORDERBYsys_updated_on^ORDERBYsys_id"
    assert "assigned_to.email" in first["sysparm_fields"].split(",")
    assert "ip_address" not in first["sysparm_fields"]
    rows = sorted(servicenow.fake.rows(), key=lambda r: (r["sys_updated_on"], r["sys_id"]))
    keysets = [
        f"sys_updated_on>{r['sys_updated_on']}^NQsys_updated_on={r['sys_updated_on']}"
        f"^sys_id>{r['sys_id']}^ORDERBYsys_updated_on^ORDERBYsys_id"
        for r in (rows[4], rows[9])
    ]
    later = list(servicenow.fake.requests)[1:]
    assert [r["sysparm_query"] for r in later] == keysets
    assert all("sysparm_offset" not in r for r in later)
    assert servicenow.fake.invalid_query_parts == []


async def test_computer_is_mapped_with_display_names_and_owner_email(servicenow: Harness) -> None:
    servicenow.reset(40)
    records = by_id((await servicenow.read()).records)
    tables = servicenow.fake.data.tables
    names = {
        r["sys_id"]: r.get("name") or r.get("display_name") for t in tables.values() for r in t
    }
    emails = {u["sys_id"]: u["email"] for u in tables["sys_user"]}
    for row in servicenow.fake.rows():
        device = records[row["sys_id"]]
        assert device.hostname == row["name"] and device.asset_tag == row["asset_tag"]
        assert device.serial_number == (row["serial_number"] or None)
        assert device.location == names[row["location"]]
        assert device.manufacturer == names[row["manufacturer"]]
        assert device.model == names[row["model_id"]]
        assert device.owner == emails.get(row["assigned_to"])
        assert device.cmdb_class == row["sys_class_name"]
        assert (device.device_type == "server") == (row["sys_class_name"] == "cmdb_ci_server")


@pytest.mark.parametrize(
    ("code", "label", "status"),
    [
        ("1", "Installed", "active"),
        ("7", "Retired", "retired"),
        ("6", "In Stock", "inactive"),
        ("3", "In Maintenance", "maintenance"),
        ("2", "On Order", "inactive"),
        ("5", "Pending Repair", "maintenance"),
        ("8", "Stolen", "retired"),
        ("42", "Custom", "unknown"),
    ],
)
async def test_install_status_is_mapped(
    servicenow: Harness, code: str, label: str, status: str
) -> None:
    servicenow.reset(3)
    target = servicenow.fake.rows()[1]["sys_id"]
    servicenow.fake.touch([target], install_status=code)
    device = by_id((await servicenow.read()).records)[target]
    assert device.status == status
    assert device.install_status == (label if code != "42" else "42")


def test_plain_values_without_display_values_are_read_too() -> None:
    import random

    row = computer(7, random.Random(1), updated=datetime(2026, 1, 1, tzinfo=UTC))
    device = computer_to_device({**row, "install_status": "7", "assigned_to.email": ""})
    assert device.status == "retired" and device.owner is None and device.hostname == row["name"]


async def test_incremental_query_uses_stored_utc_value_not_display_time(
    servicenow: Harness,
) -> None:
    servicenow.reset(6)
    full = await servicenow.read()
    stored = max(r["sys_updated_on"] for r in servicenow.fake.rows())
    assert full.cursor == {"cmdb_ci_computer": {"sys_updated_on": stored}}
    await servicenow.read(SyncContext(now(), "incremental", full.cursor))
    query = servicenow.fake.requests[-1]["sysparm_query"]
    assert query == f"sys_updated_on>={stored}^ORDERBYsys_updated_on^ORDERBYsys_id"


async def test_configured_tables_are_read_with_a_cursor_each(servicenow: Harness) -> None:
    servicenow.reset(4)
    server_row = {**servicenow.fake.rows()[0], "sys_id": sys_id("server", 1)}
    server_row.update(sys_class_name="cmdb_ci_linux_server", sys_updated_on="2026-05-05 05:05:05")
    servicenow.fake.add([server_row], table="cmdb_ci_linux_server")
    original = servicenow.config
    servicenow.config = lambda: {  # type: ignore[method-assign]
        **original(),
        "tables": ["cmdb_ci_computer", "cmdb_ci_linux_server"],
    }
    try:
        run = await servicenow.read()
    finally:
        servicenow.config = original  # type: ignore[method-assign]
    assert len(run.ids) == 5 and by_id(run.records)[server_row["sys_id"]].device_type == "server"
    assert run.cursor is not None and set(run.cursor) == {
        "cmdb_ci_computer",
        "cmdb_ci_linux_server",
    }
    assert run.cursor["cmdb_ci_linux_server"] == {"sys_updated_on": "2026-05-05 05:05:05"}


async def test_connection_check_reads_one_record_per_table(servicenow: Harness) -> None:
    servicenow.reset(3)
    async with servicenow.connect() as connector:
        result = await connector.test_connection()
    tables = ["cmdb_ci_computer", "cmdb_rel_ci", "change_request", "task_ci"]
    assert result.ok and result.checked == [f"read {t}" for t in [*tables, "sysapproval_approver"]]
    assert servicenow.fake.requests[-1]["sysparm_limit"] == "1"
    servicenow.fake.fail_on_page(5, status=403)
    async with servicenow.connect() as connector:
        refused = await connector.test_connection()
    assert not refused.ok and refused.missing == ["read sysapproval_approver"]
    assert refused.message == (
        "ServiceNow denied access (HTTP 403: User Not Authorized: Failed API level ACL Validation)"
    )


async def test_wrong_password_is_refused_with_servicenow_message(servicenow: Harness) -> None:
    servicenow.reset(3)
    servicenow.fake.password = "rotated-elsewhere"
    try:
        async with servicenow.connect() as connector:
            result = await connector.test_connection()
    finally:
        servicenow.fake.password = "s3cret-Pa55"
    assert result.error_code == "needs_reconnect"
    assert "User Not Authenticated" in result.message and "s3cret" not in result.message
