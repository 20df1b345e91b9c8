"""The indexes are built, stored and served with the documents they index."""

from __future__ import annotations

from sqlalchemy import delete, update

from pip_service.documents.deployment_index import deployment_index
from pip_service.documents.device_index import device_index
from pip_service.documents.models import DocumentSnapshot
from pip_service.records.models import Record
from tests.conftest import Database
from tests.documents.helpers import add_connection, add_records, body, make_record, make_service


async def _seed(db: Database) -> None:
    cmdb = await add_connection(db, "CMDB", "servicenow")
    mdm = await add_connection(db, "Intune", "intune")
    await add_records(
        db,
        make_record(cmdb, "device", "c1", serial_number="S1", status="active", ring="pilot",
                    compliance_score=91.5),
        make_record(cmdb, "device", "c2", serial_number="S2", status="retired",
                    compliance_score=40),
        make_record(mdm, "device", "m2", serial_number="s2", compliance_state="noncompliant"),
        make_record(mdm, "device", "m3", serial_number="S3"),
    )  # fmt: skip


async def test_the_index_is_built_from_the_devices_it_serves_beside(db: Database) -> None:
    await _seed(db)
    service = make_service(db)

    results = await service.rebuild(["device"])
    devices = await body(service, "assets/devices")
    index = await body(service, "assets/device_index")
    meta = await body(service, "meta")

    assert [r.name for r in results] == ["assets/devices", "assets/device_index"]
    assert index == device_index(devices)
    assert index["status"] == {"active": {"S1": True}, "retired": {"S2": True}}
    assert index["mdm_noncompliant"] == {"S2": True}
    assert index["missing"]["status"] == {"S3": True}
    assert meta["assets/device_index"]["entity_count"] == 3
    assert meta["assets/device_index"]["sources"] == meta["assets/devices"]["sources"]


async def test_a_device_change_moves_it_in_the_index_in_the_same_rebuild(db: Database) -> None:
    await _seed(db)
    service = make_service(db)
    await service.rebuild(["device"])
    async with db.sessions() as session, session.begin():
        await session.execute(
            update(Record)
            .where(Record.external_id == "c1")
            .values(data={"serial_number": "S1", "status": "inactive", "compliance_score": 91.5},
                    content_hash="changed")
        )  # fmt: skip

    devices_result, index_result = await service.rebuild(["device"])
    index = await body(service, "assets/device_index")

    assert (devices_result.revision, index_result.revision) == (2, 2)
    assert index["status"] == {"inactive": {"S1": True}, "retired": {"S2": True}}
    assert index == device_index(await body(service, "assets/devices"))


async def test_a_missing_index_is_built_even_when_the_devices_did_not_change(
    db: Database,
) -> None:
    """A service upgraded to one with the index builds it at the next rebuild."""
    await _seed(db)
    service = make_service(db)
    await service.rebuild(["device"])
    async with db.sessions() as session, session.begin():
        await session.execute(
            delete(DocumentSnapshot).where(DocumentSnapshot.name == "assets/device_index")
        )

    devices_result, index_result = await service.rebuild(["device"])

    assert devices_result.skipped and not index_result.skipped
    assert await body(service, "assets/device_index") == device_index(
        await body(service, "assets/devices")
    )


async def test_the_rollout_index_is_built_with_the_rollouts(db: Database) -> None:
    demo = await add_connection(db, "Releases", "demo")
    await add_records(
        db,
        make_record(demo, "deployment", "d1", deployment_id="dep-1", application="chrome",
                    version="126.0", ring="canary", status="completed", risk_score=10),
        make_record(demo, "deployment", "d2", deployment_id="dep-2", application="chrome",
                    version="126.0", ring="pilot", status="in_progress", risk_score=10),
    )  # fmt: skip
    service = make_service(db)

    results = await service.rebuild(["deployment"])
    rollouts = await body(service, "releases/deployments")
    index = await body(service, "releases/deployment_index")

    assert [r.name for r in results] == ["releases/deployments", "releases/deployment_index"]
    assert index == deployment_index(rollouts)
    assert index == {"chrome": {"126.0": {"canary": {"dep-1": True}, "pilot": {"dep-2": True}}}}
