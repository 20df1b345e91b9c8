"""Deterministic CMDB data for the ServiceNow fake: computers and the records they reference.

Rows hold ServiceNow's *internal* values, as the Table API returns them with
``sysparm_display_value=false``: strings everywhere (``""`` for empty),
reference fields as the referenced record's ``sys_id``, choice fields as
their stored value (``install_status`` "1"), date-times as
``YYYY-MM-DD HH:MM:SS`` in UTC.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

SN_DATETIME = "%Y-%m-%d %H:%M:%S"

# Out-of-box choices of cmdb_ci.install_status (value -> label).
INSTALL_STATUS = {
    "1": "Installed",
    "2": "On Order",
    "3": "In Maintenance",
    "4": "Pending Install",
    "5": "Pending Repair",
    "6": "In Stock",
    "7": "Retired",
    "8": "Stolen",
    "100": "Absent",
}
# Share of computers per install status (sums to 1).
STATUS_WEIGHTS = {"1": 0.80, "6": 0.07, "3": 0.04, "7": 0.05, "2": 0.02, "5": 0.01, "8": 0.01}

# Reference fields of cmdb_ci_computer: field -> referenced table.
REFERENCES = {
    "manufacturer": "core_company",
    "model_id": "cmdb_model",
    "location": "cmn_location",
    "department": "cmn_department",
    "assigned_to": "sys_user",
}
# Field of each referenced table that is its display value.
DISPLAY_FIELDS = {
    "core_company": "name",
    "cmdb_model": "display_name",
    "cmn_location": "name",
    "cmn_department": "name",
    "sys_user": "name",
}
CHOICES: dict[str, dict[str, str]] = {"install_status": INSTALL_STATUS}

_OS = [
    ("Windows 11 Enterprise", ["23H2", "24H2"]),
    ("Windows 10 Enterprise", ["22H2"]),
    ("Mac OS 14", ["14.6", "14.7"]),
    ("Mac OS 15", ["15.1", "15.2"]),
    ("Linux Red Hat", ["9.4", "8.10"]),
    ("Linux Ubuntu", ["22.04", "24.04"]),
]
_MAKERS = {
    "Dell Inc.": ["Latitude 7440", "OptiPlex 7010", "PowerEdge R760"],
    "Lenovo": ["ThinkPad T14 Gen 4", "ThinkCentre M90q"],
    "HP": ["EliteBook 840 G10", "ProLiant DL380 Gen11"],
    "Apple": ["MacBook Pro 14", "MacBook Air 13"],
}
_CITIES = ["London", "New York", "Berlin", "Paris", "Singapore", "Sydney", "Toronto", "Madrid"]
_DEPARTMENTS = ["Engineering", "Finance", "Sales", "Marketing", "IT", "HR", "Legal", "Support"]
_FIRST = ["Ada", "Alan", "Grace", "Linus", "Margaret", "Dennis", "Barbara", "Ken", "Frances"]
_LAST = ["Lovelace", "Turing", "Hopper", "Torvalds", "Hamilton", "Ritchie", "Liskov", "Thompson"]


def sys_id(*parts: object) -> str:
    """A deterministic 32-hex sys_id."""
    return hashlib.md5("/".join(map(str, parts)).encode(), usedforsecurity=False).hexdigest()


def sn_datetime(value: datetime) -> str:
    """A datetime in ServiceNow's internal format (UTC)."""
    return value.astimezone(UTC).strftime(SN_DATETIME)


@dataclass
class CmdbData:
    """All tables of the fake instance: table name -> rows (internal values)."""

    tables: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    def index(self, table: str) -> dict[str, dict[str, Any]]:
        """Rows of ``table`` by sys_id."""
        return {row["sys_id"]: row for row in self.tables.get(table, [])}


def generate(computers: int, *, seed: int = 1, users: int = 200) -> CmdbData:
    """Reference tables plus ``computers`` rows of cmdb_ci_computer, reproducible per seed."""
    rng = random.Random(seed)
    data = CmdbData()
    data.tables["core_company"] = [_row("core_company", n, name=n) for n in _MAKERS]
    data.tables["cmdb_model"] = [
        _row(
            "cmdb_model", m, display_name=f"{maker} {m}", manufacturer=sys_id("core_company", maker)
        )
        for maker, models in _MAKERS.items()
        for m in models
    ]
    data.tables["cmn_location"] = [_row("cmn_location", c, name=c) for c in _CITIES]
    data.tables["cmn_department"] = [_row("cmn_department", d, name=d) for d in _DEPARTMENTS]
    data.tables["sys_user"] = [_user(i, rng) for i in range(users)]
    start = datetime(2026, 1, 1, tzinfo=UTC)
    data.tables["cmdb_ci_computer"] = [
        computer(i, rng, updated=start + timedelta(seconds=37 * i), users=users)
        for i in range(computers)
    ]
    return data


def _row(table: str, key: str, **fields: str) -> dict[str, Any]:
    return {"sys_id": sys_id(table, key), **fields}


def _user(index: int, rng: random.Random) -> dict[str, Any]:
    first, last = rng.choice(_FIRST), rng.choice(_LAST)
    email = f"{first}.{last}{index}@example.com".lower()
    return {
        "sys_id": sys_id("sys_user", index),
        "name": f"{first} {last}",
        "user_name": email.split("@")[0],
        "email": email,
    }


def computer(
    index: int, rng: random.Random, *, updated: datetime, users: int = 200
) -> dict[str, Any]:
    """One cmdb_ci_computer row; a few leave serial number or owner empty, as real CMDBs do."""
    maker = rng.choice(list(_MAKERS))
    model = rng.choice(_MAKERS[maker])
    os_name, versions = rng.choice(_OS)
    is_server = "PowerEdge" in model or "ProLiant" in model
    owner = "" if is_server or rng.random() < 0.05 else sys_id("sys_user", rng.randrange(users))
    status = rng.choices(list(STATUS_WEIGHTS), weights=list(STATUS_WEIGHTS.values()))[0]
    return {
        "sys_id": sys_id("cmdb_ci_computer", index),
        "name": f"{'srv' if is_server else 'lt'}-{index:06d}",
        "serial_number": "" if rng.random() < 0.02 else f"SN{sys_id('serial', index)[:10].upper()}",
        "asset_tag": f"P{index:07d}",
        "os": os_name,
        "os_version": rng.choice(versions),
        "manufacturer": sys_id("core_company", maker),
        "model_id": sys_id("cmdb_model", model),
        "location": sys_id("cmn_location", rng.choice(_CITIES)),
        "department": sys_id("cmn_department", rng.choice(_DEPARTMENTS)),
        "assigned_to": owner,
        "install_status": status,
        "ip_address": f"10.{index // 65536 % 256}.{index // 256 % 256}.{index % 256}",
        "sys_class_name": "cmdb_ci_server" if is_server else "cmdb_ci_computer",
        "sys_created_on": sn_datetime(updated - timedelta(days=30)),
        "sys_updated_on": sn_datetime(updated),
    }
