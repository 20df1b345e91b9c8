"""The indexes: what the builder files, and that the Rego fixtures build the same.

The deployment policy checks targets against ``data.pip.assets.device_index``
and finds rollouts through ``data.pip.releases.deployment_index`` (see
``pip_service/documents/device_index.py`` and ``deployment_index.py``). The Rego
tests build theirs with ``fixtures_test.device_index`` and ``deployment_index``;
if those drifted from the service's, the Rego tests would prove a policy against
data the service never serves.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from opa_bindings import OpaEngine

from pip_service.documents.deployment_index import deployment_index
from pip_service.documents.device_index import device_index
from tests.policies.opa_runner import load_engine


def _device(key: str, **fields: Any) -> dict[str, Any]:
    return {"key": key, "sources": ["demo"], "managed_by": [], **fields}


DEVICES = {
    "OK1": _device("OK1", status="active", ring="pilot", compliance_score=95.5, compliant=True),
    "EDGE": _device("EDGE", status="active", ring="pilot", compliance_score=80, compliant=True),
    "JUSTBELOW": _device("JUSTBELOW", status="active", ring="pilot", compliance_score=79.99),
    "RETIRED": _device("RETIRED", status="retired", ring="department", compliance_score=88),
    "NC": _device("NC", status="active", compliance_score=99, compliant=False),
    "NOSTATUS": _device("NOSTATUS", ring="lab", compliance_score=70),
    "NOSCORE": _device("NOSCORE", status="maintenance", compliant=None),
    "BOOLSCORE": _device("BOOLSCORE", status="active", compliance_score=True),
    "TEXTSCORE": _device("TEXTSCORE", status="active", compliance_score="90"),
    "NEGATIVE": _device("NEGATIVE", status="active", compliance_score=-3),
    "OVER": _device("OVER", status="active", compliance_score=130.5),
    "ZERO": _device("ZERO", status=7, ring=3, compliance_score=0),
}


@pytest.fixture(scope="module")
def engine() -> Iterator[OpaEngine]:
    loaded = load_engine()
    yield loaded
    loaded.close()


def test_the_rego_fixture_builds_the_index_the_service_serves(engine: OpaEngine) -> None:
    [bindings] = engine.eval_query(
        "index := data.pip_policy.fixtures_test.device_index(input.devices)", {"devices": DEVICES}
    )
    assert bindings["index"] == device_index(DEVICES)


def test_the_rego_fixtures_index_like_the_service(engine: OpaEngine) -> None:
    fixtures = engine.eval_document("pip_policy.fixtures_test.pip")
    assets, releases = fixtures["assets"], fixtures["releases"]
    assert assets["device_index"] == device_index(assets["devices"])
    assert releases["deployment_index"] == deployment_index(releases["deployments"])


def _rollout(key: str, **fields: Any) -> dict[str, Any]:
    return {"key": key, "sources": ["demo"], **fields}


ROLLOUTS = {
    "D1": _rollout("D1", application="chrome", version="126.0", ring="canary"),
    "D2": _rollout("D2", application="chrome", version="126.0", ring="canary"),
    "D3": _rollout("D3", application="chrome", version="126.0", ring="pilot"),
    "D4": _rollout("D4", application="chrome", version="127.0", ring="lab"),
    "D5": _rollout("D5", application="zoom", version="6.1", ring="lab"),
    "NOAPP": _rollout("NOAPP", version="1", ring="lab"),
    "NUMVERSION": _rollout("NUMVERSION", application="zoom", version=6, ring="lab"),
    "NORING": _rollout("NORING", application="zoom", version="6.1"),
}


def test_rollouts_are_filed_by_application_version_and_ring() -> None:
    assert deployment_index(ROLLOUTS) == {
        "chrome": {
            "126.0": {"canary": {"D1": True, "D2": True}, "pilot": {"D3": True}},
            "127.0": {"lab": {"D4": True}},
        },
        "zoom": {"6.1": {"lab": {"D5": True}}},
    }


def test_the_rego_fixture_files_rollouts_like_the_service(engine: OpaEngine) -> None:
    [bindings] = engine.eval_query(
        "index := data.pip_policy.fixtures_test.deployment_index(input.rollouts)",
        {"rollouts": ROLLOUTS},
    )
    assert bindings["index"] == deployment_index(ROLLOUTS)


def test_every_device_has_one_status_bucket_or_is_missing_one() -> None:
    index = device_index(DEVICES)
    filed = [key for bucket in index["status"].values() for key in bucket]
    filed += list(index["missing"]["status"])
    assert sorted(filed) == sorted(DEVICES)
    assert index["status"] == {
        "active": dict.fromkeys(
            ["OK1", "EDGE", "JUSTBELOW", "NC", "BOOLSCORE", "TEXTSCORE", "NEGATIVE", "OVER"], True
        ),
        "retired": {"RETIRED": True},
        "maintenance": {"NOSCORE": True},
    }
    assert index["missing"]["status"] == {"NOSTATUS": True, "ZERO": True}


def test_scores_are_filed_by_integer_part_up_to_100() -> None:
    bands = device_index(DEVICES)["compliance_score"]
    assert bands == {
        "95": {"OK1": 95.5},
        "80": {"EDGE": 80},
        "79": {"JUSTBELOW": 79.99},
        "88": {"RETIRED": 88},
        "99": {"NC": 99},
        "70": {"NOSTATUS": 70},
        "0": {"ZERO": 0},
        "100": {"OVER": 130.5},
    }


def test_only_numbers_from_0_are_scores_and_only_false_is_mdm_noncompliance() -> None:
    index = device_index(DEVICES)
    assert index["missing"]["compliance_score"] == dict.fromkeys(
        ["NOSCORE", "BOOLSCORE", "TEXTSCORE", "NEGATIVE"], True
    )
    assert index["mdm_noncompliant"] == {"NC": True}
    assert index["ring"] == {
        "pilot": dict.fromkeys(["OK1", "EDGE", "JUSTBELOW"], True),
        "department": {"RETIRED": True},
        "lab": {"NOSTATUS": True},
    }


def test_an_empty_devices_document_has_an_empty_index() -> None:
    assert device_index({}) == {
        "compliance_score": {},
        "missing": {"compliance_score": {}, "status": {}},
        "mdm_noncompliant": {},
        "ring": {},
        "status": {},
    }
