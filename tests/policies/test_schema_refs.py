"""The policies read only fields that the documents' JSON Schemas define.

A field renamed in the document builder (and so in its schema) must break a
test here, not a production decision that silently reads an undefined field.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from tests.policies.opa_runner import POLICY_DIR, load_engine
from tests.policies.rego_refs import ANY, ScanError, documents, missing, scan

SCHEMA_DIR = POLICY_DIR / "schemas"

if not sorted(SCHEMA_DIR.glob("*.schema.json")):
    pytest.skip(f"no document schemas in {SCHEMA_DIR} yet", allow_module_level=True)


@pytest.fixture(scope="module")
def schemas() -> dict[str, dict[str, Any]]:
    return documents(SCHEMA_DIR)


def _copy_schemas(tmp_path: Path) -> Path:
    return Path(shutil.copytree(SCHEMA_DIR, tmp_path / "schemas"))


def test_policies_read_only_fields_the_schemas_define(schemas: dict[str, dict[str, Any]]) -> None:
    assert missing(scan(POLICY_DIR, set(schemas)), schemas) == []


def test_the_scan_sees_the_fields_the_rules_depend_on(schemas: dict[str, dict[str, Any]]) -> None:
    found = {(ref.doc, ref.path) for ref in scan(POLICY_DIR, set(schemas))}
    assert {
        ("identity/users", (ANY, "enabled")),
        ("identity/users", (ANY, "roles")),
        ("identity/users", (ANY, "groups")),
        ("assets/device_index", ("status", ANY)),
        ("assets/device_index", ("ring", ANY)),
        ("assets/device_index", ("compliance_score", ANY)),
        ("assets/device_index", ("mdm_noncompliant",)),
        ("assets/device_index", ("missing", "status")),
        ("assets/device_index", ("missing", "compliance_score")),
        ("releases/deployments", (ANY, "success_rate")),
        ("releases/deployments", (ANY, "started_at")),
        ("releases/applications", (ANY, "vulnerabilities", ANY, "exception")),
        ("itsm/changes", (ANY, "approvals", ANY, "approver")),
        ("itsm/changes", (ANY, "planned_start")),
        ("itsm/changes", (ANY, "post_hoc_review")),
        ("itsm/changes", (ANY, "evidence", ANY)),
        ("meta", (ANY, "stale")),
        ("meta", (ANY, "expires_at")),
    } <= found


@pytest.mark.parametrize(
    ("schema_file", "definition", "field", "doc"),
    [
        ("assets_device_index.schema.json", "missing", "compliance_score", "assets/device_index"),
        ("identity_users.schema.json", "entity", "enabled", "identity/users"),
        ("itsm_changes.schema.json", "approval", "approver", "itsm/changes"),
        ("meta.schema.json", "entry", "stale", "meta"),
    ],
)
def test_a_renamed_field_breaks_the_check(
    tmp_path: Path, schema_file: str, definition: str, field: str, doc: str
) -> None:
    schema_dir = _copy_schemas(tmp_path)
    path = schema_dir / schema_file
    schema = json.loads(path.read_text())
    properties = schema["$defs"][definition]["properties"]
    properties[f"{field}_renamed"] = properties.pop(field)
    path.write_text(json.dumps(schema))

    renamed = documents(schema_dir)
    problems = missing(scan(POLICY_DIR, set(renamed)), renamed)

    assert problems
    assert all(f"{doc} has no field '{field}'" in problem for problem in problems)


def test_a_missing_schema_breaks_the_check(tmp_path: Path) -> None:
    schema_dir = _copy_schemas(tmp_path)
    (schema_dir / "releases_deployments.schema.json").unlink()
    unknown = r"data\.pip\.releases\.deployments\S* names no known document"
    with pytest.raises(ScanError, match=unknown):
        scan(POLICY_DIR, set(documents(schema_dir)))


def test_a_name_with_two_meanings_is_refused(tmp_path: Path, schemas: dict[str, Any]) -> None:
    (tmp_path / "p.rego").write_text(
        "package p\n\n"
        "a := x if { x := data.pip.identity.users[input.u] }\n\n"
        "b := x if { x := data.pip.assets.devices[input.d] }\n"
    )
    with pytest.raises(ScanError, match="x is bound to"):
        scan(tmp_path, set(schemas))


def test_needed_documents_are_documents_meta_describes(schemas: dict[str, dict[str, Any]]) -> None:
    names = set(schemas["meta"]["propertyNames"]["enum"])
    needed = {
        doc
        for path in POLICY_DIR.glob("*.rego")
        for doc in re.findall(r'needed_docs contains "([^"]+)"', path.read_text())
    }
    assert needed
    assert needed <= names


def test_the_rego_test_fixtures_are_valid_documents(schemas: dict[str, dict[str, Any]]) -> None:
    engine = load_engine()
    try:
        fixtures = engine.eval_document("pip_policy.fixtures_test.pip")
    finally:
        engine.close()
    checked = 0
    for doc, schema in schemas.items():
        value: Any = fixtures
        for part in doc.split("/"):
            value = value.get(part) if isinstance(value, dict) else None
        if value is not None:
            errors = [e.message for e in Draft202012Validator(schema).iter_errors(value)]
            assert errors == [], f"fixture {doc}: {errors[:3]}"
            checked += 1
    assert checked == 8
