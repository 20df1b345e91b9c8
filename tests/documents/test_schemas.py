"""Every built document validates against its JSON Schema in policies/schemas."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from connectors.base.canonical import CANONICAL_MODELS
from connectors.base.types import EntityKind
from pip_service.documents.catalog import DOCUMENTS, META, document_names, get_spec
from tests.conftest import Database
from tests.documents.helpers import T0, add_connection, add_records, body, make_record, make_service

SCHEMAS = Path(__file__).resolve().parents[2] / "policies" / "schemas"
KEY_FIELDS = {"group_key", "app_key", "deployment_id", "compliance_state", "compliance_reasons"}


def validator(name: str) -> Draft202012Validator:
    schema = json.loads((SCHEMAS / f"{name.replace('/', '_')}.schema.json").read_text())
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


async def _everything(db: Database) -> None:
    hr = await add_connection(db, "Okta", "okta", include_restricted=True, last_success_at=T0)
    cmdb = await add_connection(db, "CMDB", "servicenow", last_success_at=T0)
    mdm = await add_connection(db, "Intune", "intune", last_success_at=T0)
    later = T0 + timedelta(minutes=5)
    await add_records(
        db,
        make_record(
            hr,
            "user",
            "u1",
            email="a@example.com",
            upn="a@corp.example.com",
            username="a",
            display_name="A",
            given_name="A",
            family_name="B",
            department="IT",
            job_title="Eng",
            manager="m@example.com",
            groups=["eng"],
            roles=["viewer"],
            location="Berlin",
            last_sign_in="2026-02-28T10:00:00+01:00",
            employee_id="E1",
            phone="+1",
        ),
        make_record(
            hr,
            "group",
            "g1",
            group_key="eng",
            name="Eng",
            description="d",
            members=["a@example.com"],
            member_groups=["sre"],
            roles=["operator"],
        ),
        make_record(hr, "group", "g2", group_key="sre", name="SRE"),
        make_record(
            cmdb,
            "device",
            "c1",
            serial_number="SN1",
            asset_tag="T1",
            hostname="h1",
            device_type="laptop",
            os="macOS",
            os_version="14",
            manufacturer="Apple",
            model="MBP",
            location="Berlin",
            department="IT",
            owner="a@example.com",
            status="active",
            install_status="installed",
            cmdb_class="cmdb_ci_computer",
            ring="pilot",
            compliance_score=91.5,
            ip_address="10.0.0.1",
            mac_address="aa:bb",
            extra={"ci": 1},
        ),
        make_record(
            mdm,
            "device",
            "m1",
            serial_number="sn1",
            compliance_state="noncompliant",
            compliance_reasons=["os"],
            management_state="managed",
            enrollment_state="enrolled",
            encrypted=True,
            jailbroken=False,
            ownership="corporate",
            enrolled_at=T0,
            last_seen=later,
            extra={"aad": "x"},
        ),
        make_record(mdm, "device", "m2", serial_number="SN2", mdm_server="MDM 1"),
        make_record(cmdb, "relationship", "r1", parent="SN1", child="SN2", type="Runs on::Runs"),
        make_record(
            cmdb,
            "change",
            "chg1",
            number="chg0001",
            title="t",
            state="scheduled",
            type="normal",
            risk="high",
            risk_score=60,
            impact="2",
            approval="requested",
            cab_required=True,
            planned_start=T0,
            planned_end=later,
            assignment_group="ops",
            requested_by="A@example.com",
            affected_cis=["SN1"],
            approvals=[
                {
                    "approver": "b@example.com",
                    "state": "approved",
                    "at": "2026-03-01T13:00:00.250+01:00",
                    "group": "cab",
                }
            ],
            evidence={"test_results": "ok"},
            post_hoc_review=False,
            correlation_id="c-1",
        ),
        make_record(
            cmdb,
            "application",
            "app1",
            app_key="chrome",
            name="Chrome",
            vendor="Google",
            versions=["1", "2"],
            current_version="2",
            deployment_status="deployed",
            vulnerabilities=[{"id": "CVE-1", "severity": "high", "version": "1"}],
        ),
        make_record(
            cmdb,
            "deployment",
            "d1",
            deployment_id="dep-1",
            application="chrome",
            version="2",
            ring="pilot",
            status="completed",
            risk_score=10,
            change_number="CHG0001",
            requested_by="a@example.com",
            started_at=T0,
            finished_at=later,
            target_count=200,
            success_count=197,
            failure_count=3,
            correlation_id="c-1",
        ),
    )


async def test_every_built_document_matches_its_schema(db: Database) -> None:
    await _everything(db)
    service = make_service(db)
    await service.rebuild()

    for name in document_names():
        document = await body(service, name)
        errors = [e.message for e in validator(name).iter_errors(document)]
        assert errors == [], f"{name}: {errors}"
        assert document, name
        if name == META or get_spec(name).derived_from is None:
            assert all(entry["key"] == key for key, entry in document.items()), name


async def test_built_values_are_normalized(db: Database) -> None:
    await _everything(db)
    service = make_service(db)
    await service.rebuild()

    users = await body(service, "identity/users")
    changes = await body(service, "itsm/changes")
    deployments = await body(service, "releases/deployments")

    assert users["a@example.com"]["last_sign_in"] == "2026-02-28T09:00:00Z"
    assert changes["CHG0001"]["approvals"][0]["at"] == "2026-03-01T12:00:00Z"
    assert changes["CHG0001"]["requested_by"] == "a@example.com"
    assert deployments["dep-1"]["success_rate"] == 0.985


def test_a_renamed_field_breaks_validation() -> None:
    device = {"key": "SN1", "sources": ["CMDB"], "managed_by": [], "serial": "SN1"}

    errors = list(validator("assets/devices").iter_errors({"SN1": device}))

    assert any("serial" in error.message for error in errors)


ENTITY_DOCUMENTS = [spec for spec in DOCUMENTS if spec.derived_from is None]


@pytest.mark.parametrize("spec", ENTITY_DOCUMENTS, ids=lambda spec: spec.name)
def test_schemas_know_every_canonical_field(spec: Any) -> None:
    properties = validator(spec.name).schema["$defs"]["entity"]["properties"]
    for kind in spec.entities:
        if spec.name.startswith("identity/") and kind != _own_kind(spec.name):
            continue
        fields = set(CANONICAL_MODELS[EntityKind(kind)].model_fields) - {"source_id"}
        assert fields - KEY_FIELDS - set(properties) == set(), spec.name


def _own_kind(name: str) -> EntityKind:
    return EntityKind.USER if name == "identity/users" else EntityKind.GROUP
