"""DocumentService: revisions, stable ETags, targeted rebuilds, freshness, meta, listing."""

from __future__ import annotations

import pytest
from sqlalchemy import delete, update

from pip_service.cache.memory import MemoryCache
from pip_service.documents.catalog import DOCUMENTS
from pip_service.errors import NotFoundError, UnavailableError
from pip_service.records.models import Record
from tests.conftest import Database
from tests.documents.helpers import (
    T0,
    FakeClock,
    add_connection,
    add_records,
    body,
    make_record,
    make_service,
)


def _devices(conn_cmdb: object, conn_mdm: object) -> list[Record]:
    return [
        make_record(conn_cmdb, "device", f"ci-{i}", serial_number=f"SN{i}", model="X1")  # type: ignore[arg-type]
        for i in range(5)
    ] + [
        make_record(conn_mdm, "device", f"md-{i}", serial_number=f"sn{i}", os="macOS")  # type: ignore[arg-type]
        for i in range(3)
    ]


async def test_same_input_in_any_row_order_gives_the_same_bytes_and_etag(db: Database) -> None:
    cmdb = await add_connection(db, "CMDB", "servicenow")
    mdm = await add_connection(db, "Intune", "intune")
    records = _devices(cmdb, mdm)
    await add_records(db, *records)
    service = make_service(db)
    first, _index = await service.rebuild(["device"])
    before = await service.get("assets/devices")

    async with db.sessions() as session, session.begin():
        await session.execute(delete(Record))
    await add_records(db, *reversed(_devices(cmdb, mdm)))
    second, _index = await service.rebuild(["device"])
    after = await service.get("assets/devices")

    assert not second.skipped  # new row ids: the inputs differ, the body does not
    assert after.body() == before.body() and after.body_gz == before.body_gz
    assert after.etag == before.etag and len(after.etag) == 34
    assert (second.revision, second.changed) == (first.revision, False)


async def test_revision_increases_only_when_the_body_changes(db: Database) -> None:
    cmdb = await add_connection(db, "CMDB", "servicenow")
    await add_records(db, make_record(cmdb, "device", "1", serial_number="S1", model="A"))
    clock = FakeClock()
    service = make_service(db, clock=clock)
    first, _index = await service.rebuild(["device"])
    clock.advance(60)
    again, _index = await service.rebuild(["device"], refreshed_connections=[cmdb.id])
    unchanged = await service.get("assets/devices")

    async with db.sessions() as session, session.begin():
        await session.execute(
            update(Record).values(
                data={"serial_number": "S1", "model": "B"}, content_hash="changed"
            )
        )
    clock.advance(60)
    changed, _index = await service.rebuild(["device"])
    served = await service.get("assets/devices")

    assert (first.revision, first.changed) == (1, True)
    assert (again.revision, again.changed, again.skipped) == (1, False, True)
    assert unchanged.etag == first.etag
    assert unchanged.refreshed_at == T0.replace(minute=1)
    assert (changed.revision, changed.changed) == (2, True)
    assert served.revision == 2 and served.etag != first.etag
    assert served.data()["S1"]["model"] == "B"


async def test_only_documents_fed_by_the_changed_entities_are_rebuilt(db: Database) -> None:
    cmdb = await add_connection(db, "CMDB", "servicenow")
    okta = await add_connection(db, "Okta", "okta")
    await add_records(
        db,
        make_record(cmdb, "device", "1", serial_number="S1"),
        make_record(okta, "user", "u", email="a@example.com"),
        make_record(okta, "group", "g", group_key="g", name="G"),
    )
    clock = FakeClock()
    service = make_service(db, clock=clock)
    await service.rebuild()
    clock.advance(10)

    results = await service.rebuild(["user"])
    infos = {info.name: info for info in await service.list()}

    assert [r.name for r in results] == ["identity/users", "identity/groups"]
    assert all(r.skipped for r in results)
    assert infos["assets/devices"].built_at == T0
    assert infos["identity/users"].revision == 1


async def test_unknown_document_names_the_known_ones(db: Database) -> None:
    service = make_service(db)

    with pytest.raises(NotFoundError) as caught:
        await service.get("assets/laptops")

    assert "assets/devices" in caught.value.message and "meta" in caught.value.message


async def test_a_document_not_built_yet_is_unavailable(db: Database) -> None:
    with pytest.raises(UnavailableError, match="not been built"):
        await make_service(db).get("itsm/changes")


async def test_flushed_cache_is_refilled_from_the_snapshot(db: Database) -> None:
    cmdb = await add_connection(db, "CMDB", "servicenow")
    await add_records(db, make_record(cmdb, "device", "1", serial_number="S1"))
    cache = MemoryCache()
    service = make_service(db, cache=cache)
    await service.rebuild(["device"])
    before = await service.get("assets/devices")

    cache.clear()
    async with db.sessions() as session, session.begin():
        await session.execute(delete(Record))  # sources are not read again
    after = await service.get("assets/devices")

    assert after.body_gz == before.body_gz and after.revision == before.revision
    assert cache.size_bytes >= len(before.body_gz)
    fresh = make_service(db, cache=cache)  # another replica reads the refilled cache
    assert (await fresh.get("assets/devices")).etag == before.etag


async def _restricted_and_internal(db: Database, clock: FakeClock) -> tuple[object, object]:
    hr = await add_connection(db, "HR", "okta", include_restricted=True, last_success_at=T0)
    cmdb = await add_connection(db, "CMDB", "servicenow", last_success_at=T0)
    await add_records(
        db,
        make_record(hr, "user", "1", email="a@example.com", employee_id="E1"),
        make_record(cmdb, "relationship", "r", parent="A", child="B", type="Runs on::Runs"),
    )
    return hr, cmdb


async def test_past_ttl_restricted_fails_closed_and_internal_is_served_stale(db: Database) -> None:
    clock = FakeClock()
    await _restricted_and_internal(db, clock)
    service = make_service(db, clock=clock)
    await service.rebuild()
    clock.advance(299)
    assert not (await service.get("identity/users")).stale

    clock.advance(1)
    with pytest.raises(UnavailableError, match="restricted data is not served stale"):
        await service.get("identity/users")
    assert not (await service.get("assets/relationships")).stale
    clock.advance(3600)
    relationships = await service.get("assets/relationships")
    meta = await body(service, "meta")

    assert relationships.stale and relationships.data()["A|Runs on::Runs|B"]["child"] == "B"
    assert meta["identity/users"]["stale"] is True
    assert meta["assets/relationships"]["stale"] is True
    assert meta["assets/relationships"]["expires_at"] == "2026-03-01T13:00:00Z"


async def test_a_successful_sync_makes_the_data_fresh_again(db: Database) -> None:
    clock = FakeClock()
    hr, _cmdb = await _restricted_and_internal(db, clock)
    service = make_service(db, clock=clock, stale_restricted="serve_stale")
    await service.rebuild()
    clock.advance(400)
    assert (await service.get("identity/users")).stale

    marked = await service.mark_refreshed(hr.id)  # type: ignore[attr-defined]
    served = await service.get("identity/users")

    assert marked == ["identity/users", "identity/groups"]
    assert not served.stale and served.refreshed_at == clock.now
    assert (await service.get("assets/relationships")).refreshed_at == T0


async def test_document_is_as_fresh_as_its_least_recently_synced_source(db: Database) -> None:
    clock = FakeClock()
    okta = await add_connection(db, "Okta", "okta", last_success_at=T0)
    entra = await add_connection(db, "Entra", "entra", last_success_at=T0)
    await add_records(
        db,
        make_record(okta, "user", "1", email="a@example.com"),
        make_record(entra, "user", "2", email="b@example.com"),
    )
    service = make_service(db, clock=clock)
    await service.rebuild()
    clock.advance(3000)
    await service.rebuild(["user"], refreshed_connections=[okta.id])
    clock.advance(700)

    served = await service.get("identity/users")
    meta = (await service.meta())["identity/users"]

    assert served.stale and served.refreshed_at == T0
    assert {s["name"]: s["last_success_at"] for s in meta["sources"]} == {  # type: ignore[index]
        "Entra": "2026-03-01T12:00:00Z",
        "Okta": "2026-03-01T12:50:00Z",
    }


async def test_meta_describes_every_built_document(db: Database) -> None:
    cmdb = await add_connection(db, "CMDB", "servicenow", last_success_at=T0)
    await add_records(db, make_record(cmdb, "device", "1", serial_number="S1"))
    service = make_service(db)
    await service.rebuild()

    served = await service.get("meta")
    meta = served.data()
    devices = await service.get("assets/devices")

    assert "meta" not in meta and len(meta) == len(DOCUMENTS)
    assert meta["assets/devices"] == {
        "key": "assets/devices",
        "revision": 1,
        "etag": devices.etag,
        "sensitivity": "internal",
        "ttl_seconds": 3600,
        "built_at": "2026-03-01T12:00:00Z",
        "refreshed_at": "2026-03-01T12:00:00Z",
        "expires_at": "2026-03-01T13:00:00Z",
        "stale": False,
        "entity_count": 1,
        "size": devices.size,
        "sources": [
            {"name": "CMDB", "connector": "servicenow", "last_success_at": "2026-03-01T12:00:00Z"}
        ],
    }
    same = ("sensitivity", "ttl_seconds", "entity_count", "sources")
    index, indexed = meta["assets/device_index"], meta["assets/devices"]
    assert {k: index[k] for k in same} == {k: indexed[k] for k in same}
    assert meta["itsm/changes"]["entity_count"] == 0 and meta["itsm/changes"]["sources"] == []
    assert served.revision == len(DOCUMENTS)  # every document at its first revision


async def test_list_reports_every_document(db: Database) -> None:
    cmdb = await add_connection(db, "CMDB", "servicenow")
    await add_records(db, make_record(cmdb, "device", "1", serial_number="S1"))
    service = make_service(db)
    await service.rebuild(["device"])

    infos = await service.list()

    by_name = {info.name: info for info in infos}
    assert len(infos) == len(DOCUMENTS) and not by_name["itsm/changes"].built
    devices = by_name["assets/devices"]
    assert devices.built and devices.dst_path == "pip/assets/devices"
    assert devices.size_gz > 0 and devices.size > 0 and devices.entity_count == 1
    assert [s.name for s in devices.sources] == ["CMDB"]
