"""Decisions over demo data that the service itself seeded, built and served.

A small demo enterprise (2,000 devices) is synced into SQLite, the document
service builds the documents, and they are loaded at ``data.pip`` in the
embedded OPA engine next to the policy pack: the same data OPAL would load.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from opa_bindings import OpaEngine

from tests.policies.demo_documents import DEMO_NOW, DemoDocuments, build
from tests.policies.opa_runner import load_engine

DEMO = {
    "users": 200,
    "devices": 2_000,
    "applications": 40,
    "deployments": 400,
    "changes": 60,
    "audit_events": 0,
}
DEVICES_TTL = 900  # confidential data (device owners): the default TTL
MIN_SCORE = 80


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> DemoDocuments:
    """The demo documents, and their meta one devices-TTL later."""
    return build(tmp_path_factory.mktemp("demo"), DEMO, later_seconds=DEVICES_TTL + 60)


def _engine(data: dict[str, Any]) -> OpaEngine:
    engine = load_engine()
    engine.add_data(data, "pip")
    return engine


@pytest.fixture(scope="module")
def engine(demo: DemoDocuments) -> Iterator[OpaEngine]:
    loaded = _engine(demo.pip_data())
    yield loaded
    loaded.close()


def deploy(engine: OpaEngine, request: dict[str, Any]) -> dict[str, Any]:
    decision: dict[str, Any] = engine.eval_document("pip_policy.deployment.decision", request)
    return decision


def operator(demo: DemoDocuments) -> str:
    """An enabled user who holds the operator role through a group."""
    keys = sorted(
        str(user["key"])
        for user in demo.documents["identity/users"].values()
        if user.get("enabled") and "operator" in user["roles"] and "operators" in user["groups"]
    )
    return keys[0]


def proven_in_canary(demo: DemoDocuments) -> dict[str, Any]:
    """A version with a healthy, completed Canary rollout at least two days old."""
    blocked = _blocked_versions(demo)
    rollouts = sorted(demo.documents["releases/deployments"].values(), key=lambda d: d["key"])
    for rollout in rollouts:
        if (
            rollout["ring"] == "canary"
            and rollout["status"] == "completed"
            and rollout.get("success_rate", 0) >= 0.95
            and rollout["started_at"] <= "2026-01-04T00:00:00Z"
            and (rollout["application"], rollout["version"]) not in blocked
        ):
            return dict(rollout)
    raise AssertionError("the demo data has no version that passed Canary")


def _blocked_versions(demo: DemoDocuments) -> set[tuple[str, str]]:
    return {
        (app["key"], finding.get("version", ""))
        for app in demo.documents["releases/applications"].values()
        for finding in app.get("vulnerabilities", [])
        if finding["severity"] in {"critical", "high"} and not finding["exception"]
    }


def compliant_pilot_devices(demo: DemoDocuments) -> list[str]:
    return sorted(
        key
        for key, device in demo.documents["assets/devices"].items()
        if device.get("ring") == "pilot"
        and device.get("status") == "active"
        and device.get("compliance_score", 0) >= MIN_SCORE
        and device.get("compliant") is not False
    )


def pilot_request(demo: DemoDocuments, **changes: Any) -> dict[str, Any]:
    rollout = proven_in_canary(demo)
    return {
        "requester": operator(demo),
        "application": rollout["application"],
        "version": rollout["version"],
        "ring": "pilot",
        "targets": compliant_pilot_devices(demo),
        "risk_score": 30,
        "time": DEMO_NOW,
        **changes,
    }


def test_a_compliant_pilot_rollout_is_allowed(engine: OpaEngine, demo: DemoDocuments) -> None:
    request = pilot_request(demo)
    decision = deploy(engine, request)
    assert decision["allow"] is True, decision["reasons"]
    assert decision["targets"]["count"] == len(request["targets"]) > 100
    assert any("passed canary" in reason for reason in decision["reasons"])


def test_the_whole_pilot_ring_is_denied_with_its_non_compliant_devices(
    engine: OpaEngine, demo: DemoDocuments
) -> None:
    decision = deploy(engine, {k: v for k, v in pilot_request(demo).items() if k != "targets"})
    ring = [d for d in demo.documents["assets/devices"].values() if d.get("ring") == "pilot"]
    eligible = compliant_pilot_devices(demo)
    assert decision["allow"] is False
    assert decision["targets"]["count"] == len(ring)
    assert decision["targets"]["violating"] == len(ring) - len(eligible) > 0
    listed = [v["device"] for v in decision["targets"]["violators"]]
    assert listed == sorted(listed) and len(listed) == min(20, len(ring) - len(eligible))
    assert not set(listed) & set(eligible)


def test_a_high_risk_change_without_cab_approval_is_denied(
    engine: OpaEngine, demo: DemoDocuments
) -> None:
    pending = next(
        change for change in demo.documents["itsm/changes"].values()
        if change["approval"] == "requested"
    )  # fmt: skip
    decision = deploy(engine, pilot_request(demo, risk_score=80, change_number=pending["number"]))
    assert decision["allow"] is False
    number = pending["number"]
    assert f"change {number} is not approved (approval: requested)" in decision["reasons"]
    assert any(
        reason.startswith(f"change {number} lacks CAB approval: quorum not met")
        for reason in decision["reasons"]
    )


def test_a_high_risk_rollout_without_a_change_is_denied(
    engine: OpaEngine, demo: DemoDocuments
) -> None:
    decision = deploy(engine, pilot_request(demo, risk_score=80))
    assert decision["allow"] is False
    assert decision["reasons"] == [
        "risk score 80 is above 50: a linked change with CAB approval is required "
        "(input.change_number)"
    ]


def test_an_approved_demo_change_passes_the_cab(engine: OpaEngine, demo: DemoDocuments) -> None:
    approved = next(
        change for change in sorted(demo.documents["itsm/changes"].values(), key=lambda c: c["key"])
        if change["approval"] == "approved" and change["type"] == "normal"
        and change["state"] in {"scheduled", "implement"}
    )  # fmt: skip
    decision = engine.eval_document("pip_policy.cab.decision", {"change": approved["number"]})
    assert decision["allow"] is True, decision["reasons"]
    assert len(decision["approvals"]) == decision["quorum"]


def test_stale_device_data_is_denied(demo: DemoDocuments) -> None:
    assert demo.later_meta["assets/devices"]["stale"] is True
    stale = _engine(demo.pip_data(meta=demo.later_meta))
    try:
        decision = deploy(stale, pilot_request(demo))
    finally:
        stale.close()
    assert decision["allow"] is False
    assert any(
        reason.startswith("assets/devices data is stale (last refreshed ")
        for reason in decision["reasons"]
    )
    assert decision["checks"]["fresh_data"] is False


def test_the_index_checks_every_demo_device_like_its_fields_say(
    engine: OpaEngine, demo: DemoDocuments
) -> None:
    """The policy reads the device index, never a device: it must agree with the devices."""
    devices = demo.documents["assets/devices"]
    decision = deploy(
        engine, {**pilot_request(demo), "ring": "global", "targets": [*devices, "NOT-A-DEVICE"]}
    )

    def score(device: dict[str, Any]) -> float | None:
        value = device.get("compliance_score")
        return value if isinstance(value, int | float) and not isinstance(value, bool) else None

    inactive = {k for k, d in devices.items() if "status" in d and d["status"] != "active"}
    low = {k for k, d in devices.items() if (s := score(d)) is not None and s < MIN_SCORE}
    mdm = {k for k, d in devices.items() if d.get("compliant") is False}
    lacking = {k for k, d in devices.items() if "status" not in d or score(d) is None}
    assert inactive and low and mdm  # the demo has every kind of problem device
    assert decision["targets"] == {
        **decision["targets"],
        "count": len(devices) + 1,
        "violating": len(inactive | low | mdm | lacking) + 1,
        "unknown": 1,
        "not_active": len(inactive),
        "low_compliance_score": len(low),
        "mdm_noncompliant": len(mdm),
        "incomplete": len(lacking - inactive - low - mdm),
    }
