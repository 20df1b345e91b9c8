"""Deterministic CMDB relationships and ITSM data for the ServiceNow fake.

Tables and fields follow ServiceNow's data model: ``cmdb_rel_ci`` (parent,
child: references to ``cmdb_ci``; type: reference to ``cmdb_rel_type`` whose
display value is its name, "Depends on::Used by"), ``change_request`` (choice
codes as documented in "State model and transitions" and the out-of-box
choices: risk 1-4, impact 1-3, approval ``not requested``/``requested``/...),
``task_ci`` (task, ci_item), ``sysapproval_approver`` (sysapproval: reference
to the task, source_table, approver, state). Values are internal (stored)
values; references are sys_ids; date-times are UTC ``YYYY-MM-DD HH:MM:SS``.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

from tests.fakes.servicenow_data import CmdbData, sn_datetime, sys_id

REL_TYPES = ["Depends on::Used by", "Runs on::Runs", "Connected by::Connects", "Hosted on::Hosts"]
GROUPS = ["CAB", "Service Desk", "Network", "Windows Platform", "Linux Platform"]

CHANGE_CHOICES: dict[str, dict[str, str]] = {
    "state": {
        "-5": "New",
        "-4": "Assess",
        "-3": "Authorize",
        "-2": "Scheduled",
        "-1": "Implement",
        "0": "Review",
        "3": "Closed",
        "4": "Canceled",
    },
    "risk": {"1": "Very High", "2": "High", "3": "Moderate", "4": "Low"},
    "impact": {"1": "1 - High", "2": "2 - Medium", "3": "3 - Low"},
    "type": {"standard": "Standard", "normal": "Normal", "emergency": "Emergency"},
    "approval": {
        "not requested": "Not Yet Requested",
        "requested": "Requested",
        "approved": "Approved",
        "rejected": "Rejected",
    },
}
APPROVER_CHOICES = {
    "state": {
        "not requested": "Not Yet Requested",
        "requested": "Requested",
        "approved": "Approved",
        "rejected": "Rejected",
        "cancelled": "Cancelled",
        "not_required": "No Longer Required",
        "duplicate": "Duplicate",
    }
}
# Per table: reference field -> referenced table ("cmdb_ci" and "task" are base tables).
ITSM_REFERENCES: dict[str, dict[str, str]] = {
    "cmdb_rel_ci": {"parent": "cmdb_ci", "child": "cmdb_ci", "type": "cmdb_rel_type"},
    "change_request": {"assignment_group": "sys_user_group", "requested_by": "sys_user"},
    "task_ci": {"task": "task", "ci_item": "cmdb_ci"},
    "sysapproval_approver": {
        "sysapproval": "task",
        "approver": "sys_user",
        "group": "sysapproval_group",
    },
}
ITSM_DISPLAY = {
    "cmdb_rel_type": "name",
    "sys_user_group": "name",
    "task": "number",
    "cmdb_ci": "name",
    "sysapproval_group": "sys_id",
}
ITSM_CHOICES = {"change_request": CHANGE_CHOICES, "sysapproval_approver": APPROVER_CHOICES}
_STATE_APPROVAL = {
    "-5": "not requested",
    "-4": "requested",
    "-3": "requested",
    "-2": "approved",
    "-1": "approved",
    "0": "approved",
    "3": "approved",
    "4": "rejected",
}
EPOCH = datetime(2026, 2, 1, tzinfo=UTC)


def add_itsm(data: CmdbData, *, relationships: int, changes: int, seed: int = 1) -> None:
    """Fill the ITSM tables (empty tables exist even for zero rows, as on any instance)."""
    rng = random.Random(seed * 7919)
    cis = [row["sys_id"] for row in data.tables.get("cmdb_ci_computer", [])]
    users = [row["sys_id"] for row in data.tables.get("sys_user", [])]
    data.tables["cmdb_rel_type"] = [{"sys_id": sys_id("rel_type", t), "name": t} for t in REL_TYPES]
    data.tables["sys_user_group"] = [{"sys_id": sys_id("group", g), "name": g} for g in GROUPS]
    data.tables["cmdb_rel_ci"] = [rel(i, rng, cis) for i in range(relationships if cis else 0)]
    data.tables["change_request"] = [change(i, rng, users) for i in range(changes)]
    data.tables["task_ci"] = [
        link(c["sys_id"], rng.choice(cis), c["sys_updated_on"])
        for c in data.tables["change_request"]
        for _ in range(2 if cis else 0)
    ]
    data.tables["sysapproval_approver"] = [
        approval(c, rng.choice(users), n)
        for c in data.tables["change_request"]
        if c["approval"] != "not requested" and users
        for n in range(2)
    ]


def rel(index: int, rng: random.Random, cis: list[str]) -> dict[str, Any]:
    """One cmdb_rel_ci row between two different CIs."""
    parent, child = rng.sample(cis, 2) if len(cis) > 1 else (cis[0], cis[0])
    return {
        "sys_id": sys_id("cmdb_rel_ci", index),
        "parent": parent,
        "child": child,
        "type": sys_id("rel_type", rng.choice(REL_TYPES)),
        "sys_updated_on": sn_datetime(EPOCH + timedelta(seconds=11 * index)),
    }


def change(index: int, rng: random.Random, users: list[str]) -> dict[str, Any]:
    """One change_request row; its approval follows its state as the state model does."""
    state = rng.choice(list(CHANGE_CHOICES["state"]))
    start = EPOCH + timedelta(days=rng.randrange(300), hours=rng.randrange(24))
    risk = rng.choice(["2", "3", "3", "4", "4"])
    return {
        "sys_id": sys_id("change_request", index),
        "number": f"CHG{30001 + index:07d}",
        "short_description": f"Change {index}: patch rollout",
        "description": "",
        "state": state,
        "type": rng.choice(["normal", "normal", "standard", "emergency"]),
        "risk": risk,
        "impact": rng.choice(["1", "2", "3"]),
        "approval": _STATE_APPROVAL[state],
        "start_date": sn_datetime(start),
        "end_date": sn_datetime(start + timedelta(hours=2)),
        "cab_required": "true" if risk in ("1", "2") else "false",
        "assignment_group": sys_id("group", rng.choice(GROUPS)),
        "requested_by": rng.choice(users) if users else "",
        "correlation_id": "",
        "correlation_display": "",
        "sys_class_name": "change_request",
        "sys_created_on": sn_datetime(EPOCH + timedelta(seconds=29 * index - 3600)),
        "sys_updated_on": sn_datetime(EPOCH + timedelta(seconds=29 * index)),
    }


def link(task: str, ci: str, stamp: str) -> dict[str, Any]:
    """One task_ci row (a CI affected by a task)."""
    return {
        "sys_id": sys_id("task_ci", task, ci),
        "task": task,
        "ci_item": ci,
        "sys_updated_on": stamp,
    }


def approval(change_row: dict[str, Any], approver: str, n: int) -> dict[str, Any]:
    """One sysapproval_approver row of a change, in the change's approval state."""
    state = change_row["approval"]
    return {
        "sys_id": sys_id("approval", change_row["sys_id"], n),
        "sysapproval": change_row["sys_id"],
        "source_table": "change_request",
        "approver": approver,
        "state": state,
        "group": "",
        "sys_updated_on": change_row["sys_updated_on"],
    }


def now_stamp() -> str:
    """Now in ServiceNow's internal format."""
    return sn_datetime(datetime.now(UTC))
