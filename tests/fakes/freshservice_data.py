"""The fake Freshservice account's records: assets, asset types, changes and approvals."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

EPOCH = datetime(2026, 2, 1, tzinfo=UTC)
API_KEY = "fs-Key-9f8e7d6c5b4a"
TYPES = [  # id, name, parent
    (1, "Hardware", None), (2, "Computer", 1), (3, "Laptop", 2), (4, "Desktop", 2),
    (5, "Server", 2), (6, "Software", None),
]  # fmt: skip
REL_TYPES = [(1, "Depends On", "Used By"), (2, "Runs On", "Runs")]
STATES = ["In Use", "In Use", "In Stock", "In Repair", "Retired"]


def stamp(when: datetime) -> str:
    """A Freshservice timestamp."""
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class Data:
    """The account's records."""

    assets: list[dict[str, Any]] = field(default_factory=list)
    relationships: list[dict[str, Any]] = field(default_factory=list)
    changes: list[dict[str, Any]] = field(default_factory=list)
    approvals: dict[int, list[dict[str, Any]]] = field(default_factory=dict)


def make_asset(n: int, rng: random.Random, type_id: int | None = None) -> dict[str, Any]:
    """One asset of a computer type (or ``type_id``), with suffixed type fields."""
    tid = type_id or rng.choice([3, 3, 4, 5])
    fields = {
        "serial_number": f"FS{n:06d}X" if n % 7 else "",
        "hostname": f"host-{n:04d}",
        "os": rng.choice(["Windows", "macOS", "Ubuntu"]),
        "os_version": f"{rng.randrange(10, 15)}.{rng.randrange(9)}",
        "vendor": rng.choice(["Dell", "Apple", "Lenovo"]),
        "product": f"Model {rng.randrange(100)}",
        "asset_state": rng.choice(STATES),
    }
    return {
        "id": 21000000 + n, "display_id": n, "name": f"Asset {n}", "description": None,
        "asset_type_id": tid, "impact": "low", "usage_type": "permanent",
        "asset_tag": f"ASSET-{n}", "user_id": 100 + n % 5, "department_id": None,
        "location_id": 900 + n % 2, "agent_id": None, "group_id": None,
        "created_at": stamp(EPOCH), "updated_at": stamp(EPOCH + timedelta(minutes=n)),
        "type_fields": {f"{name}_{tid}": value for name, value in fields.items()},
    }  # fmt: skip


def make_change(n: int, rng: random.Random, assets: list[int]) -> dict[str, Any]:
    """One change; approvals follow its status."""
    start = EPOCH + timedelta(days=rng.randrange(200), hours=rng.randrange(24))
    return {
        "id": n, "subject": f"Change {n}: patch rollout", "description": "<div>Patch</div>",
        "description_text": "Patch", "requester_id": 100 + n % 5, "agent_id": 500,
        "group_id": None, "priority": rng.randrange(1, 5), "impact": rng.randrange(1, 4),
        "status": rng.randrange(1, 7), "risk": rng.randrange(1, 5),
        "change_type": rng.randrange(1, 5), "planned_start_date": stamp(start),
        "planned_end_date": stamp(start + timedelta(hours=2)),
        "created_at": stamp(EPOCH), "updated_at": stamp(EPOCH + timedelta(minutes=3 * n)),
        "assets": [{"display_id": a} for a in rng.sample(assets, min(2, len(assets)))],
    }  # fmt: skip


def approvals_for(change: dict[str, Any]) -> list[dict[str, Any]]:
    """Two approvers; decided once the change is past approval."""
    code = {1: None, 2: None, 3: 0}.get(change["status"], 1)
    if code is None:
        return []
    return [approval(change, 500 + i, code) for i in range(2)]


def approval(change: dict[str, Any], member: int, code: int) -> dict[str, Any]:
    """One approver's record."""
    name = ["Requested", "Approved", "Rejected", "Cancelled"][code]
    return {
        "id": change["id"] * 10 + member % 10, "member_id": member, "approval_type": 1,
        "approval_status": {"id": code, "name": name}, "created_at": change["created_at"],
        "updated_at": change["updated_at"],
    }  # fmt: skip
