"""Jira Assets objects, references and change issues with approvals as canonical records."""

from __future__ import annotations

from typing import Any

import pytest

from connectors.base.canonical import CanonicalChange, CanonicalDevice, CanonicalRelationship
from connectors.base.errors import FatalSourceError
from connectors.base.stream import SyncContext
from connectors.base.testing import StreamRun, now, read_stream
from tests.connectors.jira_service_management.harness import Harness
from tests.fakes.jira_data import attr_id


async def read(harness: Harness, stream: str, context: SyncContext | None = None) -> StreamRun:
    async with harness.connect() as connector:
        return await read_stream(connector, stream, context or SyncContext(now()))


def devices(run: StreamRun) -> dict[str, CanonicalDevice]:
    return {r.source_id: r for r in run.records if isinstance(r, CanonicalDevice)}


async def test_objects_are_mapped_by_attribute_name_not_id(jira: Harness) -> None:
    jira.fake.reset(0, objects=9)
    found = devices(await read(jira, "objects"))
    objects = {k: o for k, o in jira.fake.objects.items() if o["type"] != "12"}
    assert set(found) == set(objects), "software objects are not devices"
    assert attr_id("10", "Serial Number") != attr_id("11", "Serial Number")
    for object_id, obj in objects.items():
        got, values = found[object_id], obj["values"]
        assert got.serial_number == (values["Serial Number"] or None)
        assert (got.hostname, got.asset_tag, got.os) == (
            values["Hostname"], values["Asset Tag"], values["Operating System"]
        )  # fmt: skip
        assert got.owner == values["Owner"] and got.location == values["Location"]
        assert got.install_status == values["Status"]
        assert got.status == {"In Use": "active", "In Stock": "inactive"}.get(
            values["Status"], "retired"
        )
        assert got.device_type == {"10": "laptop", "11": "server"}[obj["type"]]
        assert got.extra == {"object_key": f"ITSM-{object_id}"}
    assert any(d.key.startswith("JA") for d in found.values())
    assert any(d.key == "tag:AT-5" for d in found.values()), "no serial: keyed by asset tag"


async def test_unmapped_attribute_is_left_out(jira: Harness) -> None:
    jira.fake.reset(0, objects=3)
    original = jira.config
    jira.config = lambda: {**original(), "attributes": {"os": None}}  # type: ignore[method-assign]
    try:
        found = devices(await read(jira, "objects"))
    finally:
        jira.config = original  # type: ignore[method-assign]
    assert found and all(d.os is None for d in found.values())


async def test_references_between_devices_become_relationships(jira: Harness) -> None:
    jira.fake.reset(0, objects=9)
    keys = {k: d.key for k, d in devices(await read(jira, "objects")).items()}
    run = await read(jira, "relationships")
    edges = [r for r in run.records if isinstance(r, CanonicalRelationship)]
    expected = {
        (keys[o["id"]], keys[o["values"]["Depends on"]])
        for o in jira.fake.objects.values()
        if o["type"] == "11" and o["values"]["Depends on"]
    }
    assert expected and {(e.parent, e.child) for e in edges} == expected
    assert {e.type for e in edges} == {"Depends on"}, "software references are skipped"


async def test_changes_map_status_fields_approvals_and_affected_cis(jira: Harness) -> None:
    jira.fake.reset(15, objects=6)
    keys = {k: d.key for k, d in devices(await read(jira, "objects")).items()}
    changes = {r.number: r for r in (await read(jira, "changes")).records
               if isinstance(r, CanonicalChange)}  # fmt: skip
    assert set(changes) == {f"CHG-{n}" for n in range(1, 16)}, "the incident is not a change"
    states = {"Open": "new", "Planning": "assess", "Awaiting approval": "authorize",
              "Awaiting implementation": "scheduled", "Implementing": "implement",
              "Completed": "closed", "Declined": "canceled"}  # fmt: skip
    risks = {"Low": "low", "Medium": "moderate", "High": "high", "Critical": "very_high"}
    for issue in jira.fake.issues[:-1]:
        got, fields = changes[issue["key"]], issue["fields"]
        assert got.state == states[fields["status"]["name"]]
        assert got.risk == risks[fields["customfield_10041"]["value"]]
        assert got.type == fields["customfield_10043"]["value"].lower()
        assert got.cab_required == (got.risk in ("high", "very_high") or got.type == "emergency")
        assert got.requested_by == fields["reporter"]["emailAddress"].lower()
        assert got.planned_start is not None and got.planned_end is not None
        assert (got.planned_end - got.planned_start).total_seconds() == 7200
        assert got.affected_cis == sorted(keys[a["objectId"]] for a in fields["customfield_10046"])
        decisions = [a["finalDecision"] for a in jira.fake.approvals[issue["key"]]]
        expected = {"pending": "requested", "declined": "rejected", "approved": "approved"}
        assert got.approval == (expected[decisions[0]] if decisions else "not_requested")
        assert len(got.approvals) == len(decisions)


async def test_incremental_jql_starts_at_the_cursor_minute_and_sees_an_approval(
    jira: Harness,
) -> None:
    jira.fake.reset(10)
    full = await read(jira, "changes")
    assert full.cursor is not None
    waiting = next(
        i for i in jira.fake.issues if i["fields"]["status"]["name"] in ("Open", "Planning")
    )
    jira.fake.approve(waiting["key"])
    later = await read(jira, "changes", SyncContext(now(), "incremental", full.cursor))
    got = {r.number: r for r in later.records if isinstance(r, CanonicalChange)}
    assert waiting["key"] in got and len(got) <= 2
    approved = got[waiting["key"]]
    assert (approved.state, approved.approval) == ("scheduled", "approved")
    assert approved.approvals[0].state == "approved" and approved.approvals[0].at is not None


def jql_sent(harness: Harness, cursor: dict[str, Any], zone: str) -> str:
    from connectors.base.registry import parse_config
    from connectors.jira import JiraConnector
    from connectors.jira.streams import ChangesStream

    config = parse_config(JiraConnector, {**harness.config(), "jql_timezone": zone})
    stream = ChangesStream(JiraConnector(config))  # type: ignore[arg-type]
    return stream.jql(SyncContext(now(), "incremental", cursor))


def test_jql_date_is_written_in_the_account_time_zone(jira: Harness) -> None:
    cursor = {"updated": "2026-03-01T12:34:56Z"}
    assert 'updated >= "2026/03/01 12:34"' in jql_sent(jira, cursor, "UTC")
    assert 'updated >= "2026/03/01 13:34"' in jql_sent(jira, cursor, "Europe/Berlin")
    assert jql_sent(jira, cursor, "UTC").endswith("ORDER BY updated ASC, key ASC")


async def test_discover_names_the_device_types_attributes(jira: Harness) -> None:
    jira.fake.reset(1)
    async with jira.connect() as connector:
        infos = {info.name: info for info in await connector.discover()}
    fields = {f.name: f for f in infos["objects"].fields}
    assert fields["Laptop.Serial Number"].description == "mapped to serial_number"
    assert fields["Server.Depends on"].description == "not mapped"
    assert fields["Laptop.Owner"].sensitivity.label == "confidential"
    assert not any(name.startswith("Software.") for name in fields)


async def test_aql_answer_without_values_is_a_clear_error(jira: Harness) -> None:
    jira.fake.reset(1)
    async with jira.connect() as connector:
        await connector.schema()  # type: ignore[attr-defined]
        jira.fake.fail_next(200)  # a 200 JSON error body instead of a page of objects
        with pytest.raises(FatalSourceError, match="without a list of values for object/aql"):
            await read_stream(connector, "objects", SyncContext(now()))


async def test_missing_device_type_is_a_clear_error(jira: Harness) -> None:
    jira.fake.reset(1)
    original = jira.config
    jira.config = lambda: {**original(), "device_object_types": ["Workstation"]}  # type: ignore[method-assign]
    try:
        with pytest.raises(FatalSourceError, match="none of the device object types Workstation"):
            await read(jira, "objects")
    finally:
        jira.config = original  # type: ignore[method-assign]


async def test_jira_error_messages_reach_the_error(jira: Harness) -> None:
    jira.fake.reset(3)
    jira.fake.fail_next(400)
    with pytest.raises(FatalSourceError) as caught:
        await read(jira, "changes")
    assert "HTTP 400: Bad request." in caught.value.message
    assert jira.fake.token not in caught.value.message
