"""Every link in the demo data points at something that exists, and the story is consistent."""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta
from itertools import pairwise

from connectors.demo.releases import HIGH_RISK
from tests.connectors.demo.conftest import MID_SIZE, NOW, Dataset

RING_ORDER = ["lab", "canary", "pilot", "department", "global"]


def users_by_key(sample: Dataset) -> dict[str, object]:
    return {u.key: u for u in sample["users"]}


def cab_members(sample: Dataset) -> set[str]:
    groups = {g.key: g for g in sample["groups"]}
    members = set(groups["cab"].members)
    for nested in groups["cab"].member_groups:
        members |= set(groups[nested].members)
    return members


def test_every_stream_yields_its_configured_count(sample: Dataset) -> None:
    for stream in ("users", "devices", "applications", "deployments", "changes", "audit_events"):
        assert len(sample[stream]) == MID_SIZE[stream], stream


def test_keys_are_unique_within_each_stream(sample: Dataset) -> None:
    for stream, records in sample.items():
        assert len({r.key for r in records}) == len(records), stream
        assert len({r.source_id for r in records}) == len(records), stream


def test_owners_and_managers_are_users(sample: Dataset) -> None:
    users = users_by_key(sample)
    assert all(d.owner in users for d in sample["devices"])
    for user in sample["users"]:
        if user.manager is not None:
            assert user.manager in users
            assert users[user.manager].department == user.department
    assert sum(1 for u in sample["users"] if u.manager is None) == 5


def test_group_membership_agrees_in_both_directions(sample: Dataset) -> None:
    users = users_by_key(sample)
    groups = {g.key: g for g in sample["groups"]}
    for group in groups.values():
        assert all(member in users for member in group.members)
        assert all(nested in groups for nested in group.member_groups)
        for member in group.members:
            assert group.key in users[member].groups
    for user in sample["users"]:
        assert all(user.key in groups[g].members for g in user.groups)
    roles = {key: groups[key].roles for key in ("admins", "operators", "viewers", "demo-users")}
    assert roles == {
        "admins": ["admin"],
        "operators": ["operator"],
        "viewers": ["viewer"],
        "demo-users": ["demo"],
    }


def test_the_cab_is_nested_and_seats_enabled_admins_and_operators(sample: Dataset) -> None:
    users = users_by_key(sample)
    groups = {g.key: g for g in sample["groups"]}
    assert set(groups["cab"].member_groups) == {"cab-security", "cab-platform"}
    assert groups["cab-security"].members
    members = cab_members(sample)
    assert len(members) >= 4
    for key in members:
        assert users[key].enabled
        assert {"admins", "operators"} & set(users[key].groups)


def test_deployments_reference_existing_apps_versions_and_changes(sample: Dataset) -> None:
    apps = {a.key: a for a in sample["applications"]}
    changes = {c.key: c for c in sample["changes"]}
    users = users_by_key(sample)
    for deployment in sample["deployments"]:
        assert deployment.version in apps[deployment.application].versions
        assert deployment.requested_by in users
        assert deployment.success_count + deployment.failure_count <= deployment.target_count
        if deployment.risk_score > HIGH_RISK:
            change = changes[deployment.change_number]
            assert change.approval == "approved"
            assert change.correlation_id == deployment.correlation_id
        else:
            assert deployment.change_number is None


def test_rollouts_go_through_the_rings_in_order(sample: Dataset) -> None:
    releases = defaultdict(list)
    for deployment in sample["deployments"]:
        releases[deployment.correlation_id].append(deployment)
    assert len(releases) < len(sample["deployments"]) / 1.5
    for steps in releases.values():
        assert [d.ring for d in steps] == RING_ORDER[: len(steps)]
        assert all(d.status == "completed" for d in steps[:-1])
        assert all(d.success_count >= 0.95 * d.target_count for d in steps[:-1])
        for earlier, later in pairwise(steps):
            assert earlier.finished_at <= later.started_at


def test_deployment_times_lie_in_the_past_ninety_days(sample: Dataset) -> None:
    for deployment in sample["deployments"]:
        assert NOW - timedelta(days=95) <= deployment.started_at <= NOW
        if deployment.status == "in_progress":
            assert deployment.finished_at is None
        else:
            assert deployment.started_at < deployment.finished_at <= NOW


def test_changes_are_approved_by_cab_members_other_than_the_requester(sample: Dataset) -> None:
    members = cab_members(sample)
    approvers = set()
    for change in sample["changes"]:
        assert change.approvals
        for approval in change.approvals:
            assert approval.approver in members
            assert approval.approver != change.requested_by
            approvers.add(approval.approver)
        states = {a.state for a in change.approvals}
        if change.approval == "approved":
            assert states == {"approved"}
        if change.approval == "rejected":
            assert "rejected" in states
    assert approvers == members


def test_approved_normal_changes_have_complete_evidence(sample: Dataset) -> None:
    incomplete = 0
    for change in sample["changes"]:
        evidence = change.evidence
        assert evidence["complete"] == (evidence["missing"] == [])
        if change.approval == "approved" and change.type == "normal":
            assert evidence["complete"]
        incomplete += not evidence["complete"]
    assert incomplete > 0


def test_emergency_changes_carry_a_post_hoc_review_flag(sample: Dataset) -> None:
    for change in sample["changes"]:
        assert (change.post_hoc_review is not None) == (change.type == "emergency")
    assert any(c.type == "emergency" for c in sample["changes"])


def test_linked_change_windows_cover_their_deployments(sample: Dataset) -> None:
    changes = {c.key: c for c in sample["changes"]}
    linked = [d for d in sample["deployments"] if d.change_number]
    assert linked
    for deployment in linked:
        change = changes[deployment.change_number]
        assert change.planned_start <= deployment.started_at <= change.planned_end
    pending = [c for c in sample["changes"] if c.approval == "requested"]
    assert all(c.planned_start > NOW for c in pending)


def test_audit_events_are_recent_ordered_and_tied_to_users_and_rollouts(sample: Dataset) -> None:
    users = users_by_key(sample)
    correlations = {d.correlation_id for d in sample["deployments"]}
    events = sample["audit_events"]
    assert [e.at for e in events] == sorted(e.at for e in events)
    assert NOW - timedelta(days=91) <= events[0].at and events[-1].at <= NOW
    for event in events:
        assert event.actor in users
        if event.type in ("deployment", "approval"):
            assert event.correlation_id in correlations
