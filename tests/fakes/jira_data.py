"""The fake Jira site's records: Assets objects and attributes, change issues and approvals."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

EPOCH = datetime(2026, 2, 1, tzinfo=UTC)
WORKSPACE = "3f2a9c1e-77b0-4d2e-9a51-0c6f4be1d2aa"
EMAIL, TOKEN = "svc.pip@example.com", "ATATT3xFfGF0-jira-t0ken"
CLOUD_ID = "11223344-a1b2-3b33-c444-def123456789"
BEARER = "eyJ-3lo-access-token"
PROJECT, CHANGE_TYPE_ID = "CHG", "10005"
RISK_OPTIONS = ("Low", "Medium", "High", "Critical")
IMPACT_OPTIONS = ("Minor", "Significant", "Extensive")
SCHEMA_ID = "6"
TYPES = {"10": "Laptop", "11": "Server", "12": "Software"}
ATTRIBUTES = ["Name", "Serial Number", "Hostname", "Asset Tag", "Operating System",
              "OS Version", "Owner", "Status", "Location", "Depends on"]  # fmt: skip
FIELDS = {"risk": "customfield_10041", "impact": "customfield_10042",
          "change_type": "customfield_10043", "planned_start": "customfield_10044",
          "planned_end": "customfield_10045", "affected_assets": "customfield_10046"}  # fmt: skip
STATUSES = [("Open", "new"), ("Planning", "indeterminate"), ("Awaiting approval", "indeterminate"),
            ("Awaiting implementation", "indeterminate"), ("Implementing", "indeterminate"),
            ("Completed", "done"), ("Declined", "done")]  # fmt: skip


def jira_time(when: datetime) -> str:
    """Jira's timestamp format."""
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000+0000")


def attr_id(type_id: str, name: str) -> str:
    """Attribute ids differ per object type, as on a real site."""
    return str(int(type_id) * 100 + ATTRIBUTES.index(name))


def make_object(n: int, rng: random.Random, type_id: str | None = None) -> dict[str, Any]:
    """One object; its attribute values by name (rendered per the docs when served)."""
    kind = type_id or ("10" if n % 3 else "11")
    values: dict[str, Any] = {
        "Name": f"{TYPES[kind].upper()}-{n:04d}", "Serial Number": f"JA{n:05d}" if n % 5 else "",
        "Hostname": f"node-{n:04d}", "Asset Tag": f"AT-{n}",
        "Operating System": rng.choice(["Windows 11", "macOS", "Ubuntu"]),
        "OS Version": f"{rng.randrange(10, 15)}.0", "Owner": f"user{n % 4}@example.com",
        "Status": rng.choice(["In Use", "In Use", "In Stock", "Retired"]),
        "Location": rng.choice(["Berlin", "Austin"]), "Depends on": None,
    }  # fmt: skip
    return {"id": str(n), "type": kind, "values": values, "updated": EPOCH + timedelta(minutes=n)}


def approval(issue: dict[str, Any], decision: str, when: str) -> dict[str, Any]:
    """One approval of a request with one approver."""
    n = issue["key"].split("-")[1]
    body: dict[str, Any] = {
        "id": n, "name": "Change manager approval", "finalDecision": decision,
        "canAnswerApproval": decision == "pending",
        "approvers": [{"approver": {"accountId": f"cab-{n}", "displayName": "CAB",
                                    "emailAddress": f"cab{int(n) % 2}@example.com"},
                       "approverDecision": decision}],
        "createdDate": {"iso8601": when, "epochMillis": 0},
    }  # fmt: skip
    if decision != "pending":
        body["completedDate"] = {"iso8601": when, "epochMillis": 0}
    return body
