"""assets/devices: one device per serial across sources, provenance, precedence, compliance."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.conftest import Database
from tests.documents.helpers import T0, add_connection, add_records, body, make_record, make_service


async def _cmdb_and_intune(db: Database) -> None:
    cmdb = await add_connection(db, "ServiceNow CMDB", "servicenow")
    intune = await add_connection(db, "Intune", "intune")
    await add_records(
        db,
        make_record(
            cmdb,
            "device",
            "ci-1",
            serial_number="c02x 1234",
            asset_tag="A-1",
            hostname="lap-1",
            os_version="14.1",
            department="Finance",
            ring="pilot",
            status="active",
            updated_at=T0 + timedelta(hours=1),
        ),
        make_record(
            intune,
            "device",
            "md-1",
            serial_number="C02X1234",
            os_version="14.4",
            compliance_state="compliant",
            last_seen=T0,
            encrypted=True,
        ),
    )


@pytest.mark.parametrize(
    ("precedence", "winner", "version"),
    [("intune,servicenow", "Intune", "14.4"), ("servicenow,intune", "ServiceNow CMDB", "14.1")],
)
async def test_same_serial_from_cmdb_and_mdm_is_one_device_with_precedence(
    db: Database, precedence: str, winner: str, version: str
) -> None:
    await _cmdb_and_intune(db)
    service = make_service(db, source_precedence=precedence)
    await service.rebuild()

    devices = await body(service, "assets/devices")

    assert list(devices) == ["C02X1234"]
    device = devices["C02X1234"]
    assert device["sources"] == ["Intune", "ServiceNow CMDB"]
    assert device["os_version"] == version
    assert device["provenance"]["os_version"] == winner
    assert device["provenance"]["ring"] == "ServiceNow CMDB"
    assert device["provenance"]["encrypted"] == "Intune"
    assert device["ring"] == "pilot" and device["encrypted"] is True
    assert device["managed_by"] == ["Intune"]
    assert device["compliance"] == {"Intune": {"state": "compliant", "reasons": []}}
    assert device["compliant"] is True


async def test_without_precedence_the_most_recent_record_wins(db: Database) -> None:
    await _cmdb_and_intune(db)  # the CMDB record is one hour newer
    service = make_service(db)
    await service.rebuild()

    device = (await body(service, "assets/devices"))["C02X1234"]

    assert device["os_version"] == "14.1"
    assert device["provenance"]["os_version"] == "ServiceNow CMDB"


async def test_single_source_device_has_no_provenance(db: Database) -> None:
    cmdb = await add_connection(db, "CMDB", "servicenow")
    await add_records(db, make_record(cmdb, "device", "ci-9", serial_number="SN9", model="X1"))
    service = make_service(db)
    await service.rebuild()

    device = (await body(service, "assets/devices"))["SN9"]

    assert device == {
        "key": "SN9",
        "sources": ["CMDB"],
        "serial_number": "SN9",
        "model": "X1",
        "managed_by": [],
    }


async def test_device_without_serial_joins_the_serial_device_by_asset_tag(db: Database) -> None:
    cmdb = await add_connection(db, "CMDB", "servicenow")
    intune = await add_connection(db, "Intune", "intune")
    await add_records(
        db,
        make_record(cmdb, "device", "ci-1", asset_tag="a-77", location="Berlin"),
        make_record(intune, "device", "md-1", serial_number="SN77", asset_tag="A-77"),
        make_record(intune, "device", "md-2", hostname="orphan-1"),
    )
    service = make_service(db)
    await service.rebuild()

    devices = await body(service, "assets/devices")

    assert sorted(devices) == ["SN77", "host:orphan-1"]
    assert devices["SN77"]["location"] == "Berlin"
    assert devices["SN77"]["sources"] == ["CMDB", "Intune"]


async def test_ambiguous_hostname_is_not_merged(db: Database) -> None:
    cmdb = await add_connection(db, "CMDB", "servicenow")
    intune = await add_connection(db, "Intune", "intune")
    await add_records(
        db,
        make_record(intune, "device", "md-1", serial_number="SN1", hostname="shared"),
        make_record(intune, "device", "md-2", serial_number="SN2", hostname="shared"),
        make_record(cmdb, "device", "ci-1", hostname="Shared"),
    )
    service = make_service(db)
    await service.rebuild()

    assert sorted(await body(service, "assets/devices")) == ["SN1", "SN2", "host:shared"]


async def _four_sources(db: Database, jamf_state: str) -> None:
    cmdb = await add_connection(db, "CMDB", "servicenow")
    intune = await add_connection(db, "Intune", "intune")
    jamf = await add_connection(db, "Jamf", "jamf")
    abm = await add_connection(db, "ABM", "abm")
    await add_records(
        db,
        make_record(cmdb, "device", "c", serial_number="SNX", last_seen=T0 - timedelta(days=3)),
        make_record(
            intune,
            "device",
            "i",
            serial_number="SNX",
            compliance_state="compliant",
            last_seen=T0 - timedelta(days=1),
        ),
        make_record(
            jamf,
            "device",
            "j",
            serial_number="SNX",
            compliance_state=jamf_state,
            compliance_reasons=["FileVault off"],
            last_seen=T0,
        ),
        make_record(abm, "device", "a", serial_number="SNX", mdm_server="Jamf Prod"),
        make_record(abm, "device", "b", serial_number="SNY", mdm_server="Jamf Prod"),
    )


async def test_compliance_per_source_and_overall_rule(db: Database) -> None:
    await _four_sources(db, "noncompliant")
    service = make_service(db)
    await service.rebuild()

    devices = await body(service, "assets/devices")

    device = devices["SNX"]
    assert device["compliance"] == {
        "Intune": {"state": "compliant", "reasons": []},
        "Jamf": {"state": "noncompliant", "reasons": ["FileVault off"]},
    }
    assert device["compliant"] is False
    assert device["managed_by"] == ["Intune", "Jamf"]
    assert device["last_seen"] == "2026-03-01T12:00:00Z"
    assert device["provenance"]["last_seen"] == "Jamf"
    assert device["abm_unenrolled"] is False
    assert devices["SNY"]["abm_unenrolled"] is True
    assert devices["SNY"]["managed_by"] == []
    assert "compliant" not in devices["SNY"]


async def test_compliance_rule_is_configurable(db: Database) -> None:
    await _four_sources(db, "noncompliant")
    any_rule = make_service(db, device_compliance_rule="any")
    await any_rule.rebuild()
    assert (await body(any_rule, "assets/devices"))["SNX"]["compliant"] is True

    top = make_service(db, device_compliance_rule="highest_precedence", source_precedence="jamf")
    await top.rebuild()
    assert (await body(top, "assets/devices"))["SNX"]["compliant"] is False


async def test_unknown_compliance_state_does_not_count(db: Database) -> None:
    await _four_sources(db, "unknown")
    service = make_service(db)
    await service.rebuild()

    assert (await body(service, "assets/devices"))["SNX"]["compliant"] is True
