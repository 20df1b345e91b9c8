"""Restricted fields are left out unless the connection opts in; document sensitivity and TTL."""

from __future__ import annotations

from tests.conftest import Database
from tests.documents.helpers import add_connection, add_records, body, make_record, make_service


async def test_restricted_fields_omitted_unless_the_connection_opts_in(db: Database) -> None:
    plain = await add_connection(db, "Okta", "okta")
    opted = await add_connection(db, "Entra", "entra", include_restricted=True)
    await add_records(
        db,
        make_record(plain, "user", "1", email="a@example.com", employee_id="E1", phone="+1 555"),
        make_record(opted, "user", "2", email="b@example.com", employee_id="E2", phone="+1 556"),
    )
    service = make_service(db)
    await service.rebuild(["user"])

    users = await body(service, "identity/users")
    served = await service.get("identity/users")

    assert "employee_id" not in users["a@example.com"] and "phone" not in users["a@example.com"]
    assert users["b@example.com"]["employee_id"] == "E2"
    assert served.sensitivity.label == "restricted"
    assert served.ttl_seconds == 300


async def test_without_restricted_data_the_document_is_less_sensitive(db: Database) -> None:
    plain = await add_connection(db, "Okta", "okta")
    await add_records(db, make_record(plain, "user", "1", email="a@example.com", employee_id="E1"))
    service = make_service(db)
    await service.rebuild(["user"])

    served = await service.get("identity/users")

    assert served.sensitivity.label == "internal"
    assert served.ttl_seconds == 3600
    assert b"E1" not in served.body()


async def test_a_stream_can_make_a_field_restricted(db: Database) -> None:
    hr = await add_connection(db, "Workday", "workday")
    await add_records(
        db,
        make_record(hr, "user", "w1", stream="workers", email="a@example.com", job_title="CFO"),
    )
    service = make_service(db)
    await service.rebuild(["user"])

    user = (await body(service, "identity/users"))["a@example.com"]

    assert "job_title" not in user
    assert user["email"] == "a@example.com"


async def test_confidential_device_owner_makes_devices_confidential(db: Database) -> None:
    cmdb = await add_connection(db, "CMDB", "servicenow")
    await add_records(db, make_record(cmdb, "device", "1", serial_number="S1", owner="A@x.com"))
    service = make_service(db)
    await service.rebuild(["device"])

    served = await service.get("assets/devices")

    assert served.sensitivity.label == "confidential"
    assert served.data()["S1"]["owner"] == "a@x.com"
