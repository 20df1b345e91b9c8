"""One laptop in the CMDB, Intune, Jamf Pro and Apple Business Manager ends as one device.

Each source is a fake served over HTTP and synced through the real engine;
``assets/devices`` is then built by the DocumentService with the real
connector registry (so ``managed_by`` comes from the connectors' categories,
and ABM is recognised as assignment-only by its connector class).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from pip_service.cache.memory import MemoryCache
from pip_service.config import Settings
from pip_service.documents.service import DocumentService
from tests.conftest import Database
from tests.connectors.apple_business_manager.harness import Harness as AbmHarness
from tests.connectors.engine_rig import EngineRig
from tests.connectors.intune.harness import Harness as IntuneHarness
from tests.connectors.jamf_pro.harness import Harness as JamfHarness
from tests.fakes.server import FakeServer
from tests.fakes.servicenow import ServiceNowFake

SERIAL = "C02MERGE0001"
ABM_ONLY = "ABMONLY00001"
UNASSIGNED = [f"ABMIDLE0000{i}" for i in range(4)]  # the fake leaves every fifth unassigned
INTUNE_ONLY = "INTUNEONLY01"


@dataclass
class Sources:
    """The four fakes, serving."""

    cmdb: ServiceNowFake
    cmdb_url: str
    jamf: JamfHarness
    abm: AbmHarness
    intune: IntuneHarness


@pytest.fixture(scope="module")
def sources() -> Iterator[Sources]:
    cmdb = ServiceNowFake()
    jamf, abm, intune = JamfHarness(), AbmHarness(), IntuneHarness()
    with FakeServer(cmdb.app) as server:
        for harness in (jamf, abm, intune):
            harness.start()
        yield Sources(cmdb, server.url, jamf, abm, intune)
        for harness in (jamf, abm, intune):
            harness.stop()


@pytest.fixture
async def rig(db: Database, tmp_path: Path) -> AsyncIterator[EngineRig]:
    engine_rig = EngineRig.open(db, tmp_path)
    yield engine_rig
    await engine_rig.aclose()


def seed(sources: Sources) -> None:
    """The laptop is row 0 of the CMDB, computer 0 in Jamf, device 0 in ABM and in Intune."""
    sources.cmdb.reset(3)
    row = sources.cmdb.rows()[0]
    sources.cmdb.touch([row["sys_id"]], serial_number=SERIAL.lower(), os_version="14.0")
    sources.jamf.fake.reset(2, serials=[SERIAL, "C02JAMFONLY1"])
    laptop = sources.jamf.fake.computer_by_serial(SERIAL)
    laptop["operatingSystem"]["version"] = "15.3"
    laptop["groupMemberships"].append({"groupId": "9", "groupName": "FileVault Off"})
    sources.abm.fake.reset(6, serials=[SERIAL, ABM_ONLY, *UNASSIGNED], servers=1)
    sources.intune.fake.reset(2, serials=[SERIAL, INTUNE_ONLY])
    sources.intune.fake.device(SERIAL).update(
        osVersion="15.2", lastSyncDateTime="2026-03-02T08:00:00Z", userPrincipalName="Ann@Acme.com"
    )


async def sync_all(rig: EngineRig, sources: Sources) -> None:
    cmdb = {
        "instance_url": sources.cmdb_url,
        "username": sources.cmdb.username,
        "password": sources.cmdb.password,
        "read_relationships": False,
        "read_changes": False,
    }
    jamf = {
        **sources.jamf.config(),
        "read_mobile_devices": False,
        "compliance": {"source": "smart_group", "noncompliant_groups": ["FileVault Off"]},
    }
    for name, slug, config in (
        ("CMDB", "servicenow", cmdb),
        ("Jamf", "jamf_pro", jamf),
        ("ABM", "apple_business_manager", sources.abm.config()),
        ("Intune", "intune", sources.intune.config()),
    ):
        result = await rig.sync(await rig.connect(name, slug, config))
        assert result.status == "success", result.error


async def devices(db: Database, precedence: str) -> dict[str, Any]:
    settings = Settings(_env_file=None, redis_url=None, source_precedence=precedence)
    service = DocumentService(db.sessions, MemoryCache(), settings)
    await service.rebuild(["device"])
    built: dict[str, Any] = (await service.get("assets/devices")).data()
    return built


@pytest.mark.parametrize(
    ("precedence", "version", "winner"),
    [
        ("jamf_pro,servicenow,intune", "15.3", "Jamf"),
        ("servicenow,jamf_pro,intune", "14.0", "CMDB"),
        ("intune,jamf_pro,servicenow", "15.2", "Intune"),
    ],
)
async def test_same_serial_from_cmdb_intune_jamf_and_abm_is_one_device(
    rig: EngineRig, sources: Sources, precedence: str, version: str, winner: str
) -> None:
    seed(sources)
    await sync_all(rig, sources)

    merged = await devices(rig.db, precedence)

    laptop = merged[SERIAL]
    assert laptop["sources"] == ["ABM", "CMDB", "Intune", "Jamf"]
    assert laptop["os_version"] == version and laptop["provenance"]["os_version"] == winner
    assert laptop["managed_by"] == ["Intune", "Jamf"], "an ABM assignment is not management"
    assert laptop["compliance"] == {
        "Intune": {"state": "compliant", "reasons": []},
        "Jamf": {"state": "noncompliant", "reasons": ["member of smart group 'FileVault Off'"]},
    }
    assert laptop["last_seen"] == "2026-03-02T08:00:00Z", "the latest sync of all sources"
    assert laptop["provenance"]["last_seen"] == "Intune"
    if winner == "Intune":
        assert laptop["owner"] == "ann@acme.com", "Intune's UPN, lower-cased"
    assert laptop["compliant"] is False
    assert laptop["mdm_server"] == "MDM Server 1" and laptop["provenance"]["mdm_server"] == "ABM"
    assert laptop["abm_unenrolled"] is False
    # Intune has no asset tag: the next source by precedence that has one gives it
    assert laptop["provenance"]["asset_tag"] == ("CMDB" if winner == "CMDB" else "Jamf")
    assert laptop["provenance"]["department"] == "CMDB"  # only the CMDB knows it
    assert laptop["provenance"]["management_state"] == ("Intune" if winner == "Intune" else "Jamf")
    assert merged[ABM_ONLY]["abm_unenrolled"] is True and merged[ABM_ONLY]["managed_by"] == []
    assert "abm_unenrolled" not in merged["C02JAMFONLY1"]
    assert merged[INTUNE_ONLY]["managed_by"] == ["Intune"]
    idle_serial = next(
        d["id"] for d in sources.abm.fake.devices if d["id"] not in sources.abm.fake.assigned
    )
    idle = merged[idle_serial]
    assert idle["managed_by"] == [], "an unassigned ABM device counted as managed by ABM"
    assert "mdm_server" not in idle and idle["abm_unenrolled"] is True
    assert idle["sources"] == ["ABM"]
