"""Jamf Pro: what is requested, how devices are mapped, compliance from smart groups or an EA."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from connectors.base.canonical import CanonicalDevice
from connectors.base.registry import parse_config
from connectors.base.stream import SyncContext
from connectors.base.testing import StoredHashes, now, read_stream
from connectors.jamf import JamfConnector
from tests.connectors.jamf_pro.harness import Harness


def by_serial(records: list[Any]) -> dict[str, CanonicalDevice]:
    return {r.serial_number: r for r in records}


async def read(jamf: Harness, config: dict[str, Any], stream: str = "computers") -> list[Any]:
    connector = JamfConnector(parse_config(JamfConnector, config))  # type: ignore[arg-type]
    async with httpx.AsyncClient(timeout=10) as client:
        connector.http_client = client
        try:
            return (await read_stream(connector, stream, SyncContext(now()))).records
        finally:
            await connector.aclose()


async def test_asks_only_for_needed_sections_in_a_stable_order(jamf: Harness) -> None:
    jamf.reset(12)
    await jamf.read()
    sent = [r for r in jamf.fake.requests if r["path"].endswith("computers-inventory")]
    assert [r["page"] for r in sent] == [["0"], ["1"], ["2"]]
    assert all(r["page-size"] == ["5"] and r["sort"] == ["id:asc"] for r in sent)
    assert sent[0]["section"] == [
        "GENERAL", "HARDWARE", "OPERATING_SYSTEM", "USER_AND_LOCATION", "DISK_ENCRYPTION",
    ]  # fmt: skip


async def test_computer_is_mapped_with_management_encryption_and_last_contact(
    jamf: Harness,
) -> None:
    jamf.reset(6)
    raw = jamf.fake.computers[2]
    raw["general"]["remoteManagement"]["managed"] = False
    raw["diskEncryption"]["bootPartitionEncryptionDetails"]["partitionFileVault2State"] = (
        "ENCRYPTED"
    )
    raw["hardware"]["model"] = "MacBook Air (M2, 2022)"
    device = by_serial((await jamf.read()).records)[raw["hardware"]["serialNumber"]]
    assert device.source_id == raw["id"] and device.hostname == raw["general"]["name"]
    assert device.management_state == "unmanaged" and device.enrollment_state == "not_enrolled"
    assert device.encrypted is True and device.device_type == "laptop"
    assert device.os == "macOS" and device.os_version == raw["operatingSystem"]["version"]
    assert device.owner == raw["userAndLocation"]["email"].lower()
    assert device.last_seen is not None
    assert device.last_seen.isoformat().startswith(raw["general"]["lastContactTime"][:19])
    assert device.extra["last_inventory_at"] == raw["general"]["reportDate"]
    assert device.compliance_state is None  # no compliance mapping configured


async def test_smart_group_membership_decides_compliance(jamf: Harness) -> None:
    jamf.reset(4)
    bad, outside = jamf.fake.computers[0], jamf.fake.computers[1]
    bad["groupMemberships"].append(
        {"groupId": "9", "groupName": "FileVault Off", "smartGroup": True}
    )
    outside["groupMemberships"] = []
    compliance = {
        "source": "smart_group",
        "compliant_group": "Compliant Macs",
        "noncompliant_groups": ["FileVault Off"],
    }
    devices = by_serial(await read(jamf, {**jamf.config(), "compliance": compliance}))
    assert devices[bad["hardware"]["serialNumber"]].compliance_state == "noncompliant"
    assert devices[bad["hardware"]["serialNumber"]].compliance_reasons == [
        "member of smart group 'FileVault Off'"
    ]
    assert devices[outside["hardware"]["serialNumber"]].compliance_reasons == [
        "not a member of smart group 'Compliant Macs'"
    ]
    compliant = jamf.fake.computers[2]["hardware"]["serialNumber"]
    assert devices[compliant].compliance_state == "compliant"
    assert "GROUP_MEMBERSHIPS" in jamf.fake.requests[-1]["section"]


@pytest.mark.parametrize(
    ("values", "state", "reasons"),
    [
        (["compliant"], "compliant", []),
        (
            ["Not Compliant"],
            "noncompliant",
            ["extension attribute 'Compliance' is 'Not Compliant'"],
        ),
        ([], "unknown", ["extension attribute 'Compliance' has no value"]),
    ],
)
async def test_extension_attribute_decides_compliance(
    jamf: Harness, values: list[str], state: str, reasons: list[str]
) -> None:
    jamf.reset(2)
    jamf.fake.computers[0]["extensionAttributes"][0]["values"] = values
    compliance = {"source": "extension_attribute", "extension_attribute": "Compliance"}
    devices = await read(jamf, {**jamf.config(), "compliance": compliance})
    device = by_serial(devices)[jamf.fake.computers[0]["hardware"]["serialNumber"]]
    assert (device.compliance_state, device.compliance_reasons) == (state, reasons)
    assert "EXTENSION_ATTRIBUTES" in jamf.fake.requests[-1]["section"]


async def test_mobile_devices_are_read_from_the_detail_endpoint(jamf: Harness) -> None:
    jamf.fake.reset(1, mobiles=7)
    jamf.fake.mobiles[3]["security"]["jailBreakDetected"] = True
    jamf.fake.mobiles[3]["general"]["deviceOwnershipType"] = "PersonalDeviceProfile"
    jamf.fake.mobiles[3]["hardware"]["model"] = "iPad Air (5th generation)"
    devices = await read(jamf, jamf.config(), "mobile_devices")
    assert {d.source_id for d in devices} == {m["mobileDeviceId"] for m in jamf.fake.mobiles}
    odd = by_serial(devices)[jamf.fake.mobiles[3]["hardware"]["serialNumber"]]
    assert odd.jailbroken is True and odd.ownership == "personal"
    assert odd.device_type == "tablet" and odd.os == "iPadOS"
    sent = [r for r in jamf.fake.requests if r["path"].endswith("mobile-devices/detail")]
    assert sent[0]["sort"] == ["mobileDeviceId:asc"]
    assert sent[0]["section"] == ["GENERAL", "HARDWARE", "USER_AND_LOCATION", "SECURITY"]


async def test_unchanged_mobile_devices_are_not_normalized_again(jamf: Harness) -> None:
    jamf.fake.reset(1, mobiles=12)
    stored = StoredHashes()
    async with jamf.connect() as connector:
        first = await read_stream(connector, "mobile_devices", SyncContext(now(), known=stored))
        stored.hashes = first.source_hashes
        assert set(stored.hashes) == {m["mobileDeviceId"] for m in jamf.fake.mobiles}
        again = await read_stream(connector, "mobile_devices", SyncContext(now(), known=stored))
        assert again.records == [] and sorted(again.unchanged) == sorted(first.ids)
        jamf.fake.mobiles[5]["security"]["jailBreakDetected"] = True
        third = await read_stream(connector, "mobile_devices", SyncContext(now(), known=stored))
    assert third.ids == [jamf.fake.mobiles[5]["mobileDeviceId"]] and len(third.unchanged) == 11


async def test_mobile_devices_can_be_turned_off(jamf: Harness) -> None:
    config = parse_config(JamfConnector, {**jamf.config(), "read_mobile_devices": False})
    streams = JamfConnector(config).get_streams()  # type: ignore[arg-type]
    assert [s.name for s in streams] == ["computers"]
