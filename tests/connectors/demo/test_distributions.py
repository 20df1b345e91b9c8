"""The demo data follows the seed plan's shares (section 2.2) on a 5,000-device sample."""

from __future__ import annotations

from collections import Counter
from statistics import mean

import pytest

from connectors.demo.devices import ring_sizes
from tests.connectors.demo.conftest import MID_SIZE, Dataset


def shares(values: list[object]) -> dict[object, float]:
    counts = Counter(values)
    return {key: 100 * count / len(values) for key, count in counts.items()}


def assert_shares(
    actual: dict[object, float], expected: dict[str, float], tolerance: float
) -> None:
    assert set(actual) == set(expected)
    for key, share in expected.items():
        assert abs(actual[key] - share) <= tolerance, (key, actual[key], share)


def test_device_types_follow_the_spec(sample: Dataset) -> None:
    types = shares([d.device_type for d in sample["devices"]])
    expected = {"laptop": 60, "desktop": 20, "virtual_machine": 10, "mobile": 8, "server": 2}
    assert_shares(types, expected, tolerance=2.0)


def test_operating_systems_follow_the_spec(sample: Dataset) -> None:
    systems = shares([d.os for d in sample["devices"]])
    expected = {
        "Windows 11": 40,
        "Windows 10": 30,
        "macOS Sonoma": 12,
        "macOS Ventura": 8,
        "Ubuntu 22.04": 5,
        "iOS 17": 3,
        "Android 14": 2,
    }
    assert_shares(systems, expected, tolerance=2.0)


def test_operating_system_fits_the_device_type(sample: Dataset) -> None:
    allowed = {
        "mobile": {"iOS 17", "Android 14", "Windows 11"},
        "server": {"Ubuntu 22.04"},
        "virtual_machine": {"Windows 11", "Windows 10", "Ubuntu 22.04"},
    }
    for device in sample["devices"]:
        assert device.os in allowed.get(device.device_type, {device.os})
        apple = device.os.startswith(("macOS", "iOS"))
        assert (device.manufacturer == "Apple") == apple, device
        if device.os.startswith("macOS"):
            assert device.device_type in ("laptop", "desktop")


def test_device_statuses_follow_the_spec(sample: Dataset) -> None:
    statuses = shares([d.status for d in sample["devices"]])
    assert_shares(statuses, {"active": 95, "inactive": 3, "maintenance": 2}, tolerance=1.2)


def test_compliance_scores_centre_on_90_with_a_tail_below_70(sample: Dataset) -> None:
    scores = [d.compliance_score for d in sample["devices"]]
    below = [s for s in scores if s < 70]
    assert 88.0 <= mean(scores) <= 92.0
    assert 0.3 <= 100 * len(below) / len(scores) <= 2.0
    assert all(0 <= s <= 100 for s in scores)
    assert sum(1 for s in scores if 80 <= s < 100) > len(scores) / 2


def test_compliance_state_agrees_with_the_score(sample: Dataset) -> None:
    for device in sample["devices"]:
        if device.compliance_score < 70 or device.jailbroken:
            assert device.compliance_state == "noncompliant"
            assert device.compliance_reasons
        elif device.compliance_score >= 80:
            assert device.compliance_state == "compliant"
            assert device.compliance_reasons == []


def test_devices_are_spread_over_twenty_sites_of_three_tiers(sample: Dataset) -> None:
    locations = Counter(d.location for d in sample["devices"])
    assert len(locations) == 20
    assert locations.most_common(1)[0][0] == "New York HQ"
    assert any("Regional" in name for name in locations)
    assert any("Branch" in name for name in locations)


def test_rings_have_exactly_the_ring_sizes(sample: Dataset) -> None:
    rings = Counter(d.ring for d in sample["devices"])
    lab, canary, pilot, department, global_ = ring_sizes(MID_SIZE["devices"])
    assert rings == {
        "lab": lab,
        "canary": canary,
        "pilot": pilot,
        "department": department,
        "global": global_,
    }


@pytest.mark.parametrize(
    ("devices", "expected"),
    [
        (50_000, [50, 500, 5_000, 25_000, 19_450]),
        (5_000, [5, 50, 500, 2_500, 1_945]),
        (7, [0, 0, 1, 4, 2]),
    ],
)
def test_ring_sizes_are_the_seed_plans_scaled_to_the_fleet(
    devices: int, expected: list[int]
) -> None:
    assert ring_sizes(devices) == expected


def test_dex_metrics_are_plausible(sample: Dataset) -> None:
    for device in sample["devices"][:1_000]:
        extra = device.extra
        assert 8 <= extra["boot_time_s"] <= 720
        assert 5 <= extra["carbon_footprint_kg"] <= 2_000
        assert 1 <= extra["user_sentiment"] <= 5
        assert 0 <= extra["dex_score"] <= 10


def test_user_roles_have_the_spec_shares_exactly(sample: Dataset) -> None:
    role_groups = Counter(
        g
        for user in sample["users"]
        for g in user.groups
        if g in ("admins", "operators", "viewers", "demo-users")
    )
    users = MID_SIZE["users"]
    assert role_groups == {
        "admins": users * 5 // 100,
        "operators": users * 20 // 100,
        "viewers": users // 2,
        "demo-users": users // 4,
    }


def test_users_belong_to_the_five_departments_and_some_are_disabled(sample: Dataset) -> None:
    users = sample["users"]
    assert {u.department for u in users} == {"IT Ops", "Security", "Development", "HR", "Finance"}
    disabled = [u for u in users if not u.enabled]
    assert 0 < len(disabled) < len(users) * 0.06
    assert all(u.last_sign_in is not None for u in disabled)


def test_deployment_statuses_follow_the_spec(sample: Dataset) -> None:
    statuses = shares([d.status for d in sample["deployments"]])
    expected = {"completed": 70, "in_progress": 20, "failed": 8, "rolled_back": 2}
    assert_shares(statuses, expected, tolerance=4.0)


def test_deployment_risk_is_weighted_towards_low(sample: Dataset) -> None:
    risks = [d.risk_score for d in sample["deployments"]]
    assert mean(risks) < 40
    assert sum(1 for r in risks if r <= 30) > sum(1 for r in risks if r > 60) * 3


def test_completed_deployments_report_healthy_success_rates(sample: Dataset) -> None:
    rates = [
        d.success_count / d.target_count
        for d in sample["deployments"]
        if d.status == "completed" and d.target_count
    ]
    failed = [
        d.success_count / d.target_count
        for d in sample["deployments"]
        if d.status == "failed" and d.target_count
    ]
    assert mean(rates) > 0.95
    assert mean(failed) < 0.85


def test_application_statuses_and_versions_follow_the_spec(sample: Dataset) -> None:
    apps = sample["applications"]
    statuses = shares([a.deployment_status for a in apps])
    assert_shares(statuses, {"deployed": 80, "pending": 15, "failed": 5}, tolerance=5.0)
    assert all(len(a.versions) == 3 and a.versions[-1] == a.current_version for a in apps)
    names = {a.name for a in apps}
    assert {
        "Microsoft 365 Apps",
        "Adobe Acrobat",
        "Google Chrome",
        "Slack",
        "Zoom Workplace",
    } <= names
    assert sum(1 for a in apps if a.category == "line_of_business") > len(apps) / 2


def test_some_applications_carry_serious_vulnerabilities_and_few_exceptions(
    sample: Dataset,
) -> None:
    vulns = [v for a in sample["applications"] for v in a.vulnerabilities]
    serious = [v for v in vulns if v.severity in ("critical", "high")]
    assert serious
    assert 0 < sum(1 for v in serious if v.exception) < len(serious) / 2


def test_change_outcomes_have_the_spec_shares_exactly(sample: Dataset) -> None:
    approvals = Counter(c.approval for c in sample["changes"])
    changes = MID_SIZE["changes"]
    assert approvals == {
        "approved": changes * 80 // 100,
        "requested": changes * 15 // 100,
        "rejected": changes * 5 // 100,
    }
    assert all(c.risk_score > 50 and c.cab_required for c in sample["changes"])


def test_audit_events_follow_business_hours(sample: Dataset) -> None:
    events = sample["audit_events"]
    hours = Counter(e.at.hour for e in events)
    office = sum(hours[h] for h in range(9, 17))
    night = sum(hours[h] for h in range(0, 6))
    assert office > 5 * night
    weekdays = Counter(e.at.weekday() for e in events)
    assert weekdays[2] > 1.5 * weekdays[6]
    types = shares([e.type for e in events])
    assert set(types) == {"deployment", "approval", "policy_change", "user_action"}
