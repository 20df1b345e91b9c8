"""Directory data of the Microsoft Graph fake: users, groups, devices and their change history.

Objects carry the Graph v1.0 property names (resource types ``user``,
``group``, ``device``). Every change stamps the object with the fake's clock;
deletions leave a tombstone. Delta rounds compare those stamps with the time
a delta token was issued (see :mod:`tests.fakes.graph`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

COLLECTIONS = ("users", "groups", "devices")
ODATA_TYPES = {
    "users": "#microsoft.graph.user",
    "groups": "#microsoft.graph.group",
    "devices": "#microsoft.graph.device",
}
DEPARTMENTS = ("Engineering", "Sales", "Finance", "Legal", "Support", "Marketing", "IT", "HR")
OPERATING_SYSTEMS = (("Windows", "10.0.22631"), ("MacMDM", "14.4"), ("iOS", "17.4"))


def object_id(kind: str, n: int) -> str:
    """A stable GUID-shaped id for object ``n`` of a collection."""
    prefix = {"users": "a", "groups": "b", "devices": "c"}[kind]
    return f"{prefix}{n:07x}-0000-4000-8000-{n:012x}"


def iso(at: float) -> str:
    """Graph's DateTimeOffset format (UTC, whole seconds)."""
    return datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def make_user(n: int) -> dict[str, Any]:
    """User ``n``: every 25th has no mail, every 50th is disabled, managers form a tree."""
    upn = f"user{n:06d}@contoso.onmicrosoft.com"
    user: dict[str, Any] = {
        "id": object_id("users", n),
        "userPrincipalName": upn,
        "mail": None if n % 25 == 7 else f"User{n:06d}@Contoso.com",
        "displayName": f"Given{n} Sur{n}",
        "givenName": f"Given{n}",
        "surname": f"Sur{n}",
        "department": DEPARTMENTS[n % len(DEPARTMENTS)],
        "jobTitle": f"Title {n % 30}",
        "accountEnabled": n % 50 != 3,
        "employeeId": f"E{n:07d}",
        "mobilePhone": f"+1 555 {n:07d}",
        "officeLocation": f"Building {n % 5}",
        "businessPhones": [],
        "signInActivity": {"lastSignInDateTime": iso(1_770_000_000 + n)},
    }
    if n >= 10:
        user["_manager"] = object_id("users", n // 10)
    return user


def make_group(g: int, users: int, groups: int, size: int) -> dict[str, Any]:
    """Group ``g`` with ``size`` users; every 10th group also holds the next group (nesting)."""
    members = [object_id("users", (g * size + i) % users) for i in range(size)] if users else []
    if g % 10 == 0 and g + 1 < groups:
        members.append(object_id("groups", g + 1))
    return {
        "id": object_id("groups", g),
        "displayName": f"Group {g:05d}",
        "description": f"Team {g}",
        "_members": list(dict.fromkeys(members)),
    }


def make_device(d: int) -> dict[str, Any]:
    """Device ``d``: every 7th non-compliant, every 9th unmanaged."""
    os_name, version = OPERATING_SYSTEMS[d % len(OPERATING_SYSTEMS)]
    return {
        "id": object_id("devices", d),
        "deviceId": f"{d:08x}-1111-4000-8000-{d:012x}",
        "displayName": f"PC-{d:05d}",
        "operatingSystem": os_name,
        "operatingSystemVersion": version,
        "isCompliant": d % 7 != 0,
        "isManaged": d % 9 != 0,
        "accountEnabled": True,
        "approximateLastSignInDateTime": iso(1_770_000_000 + d),
        "trustType": "AzureAd",
    }


@dataclass
class Directory:
    """Objects by collection and id, with change stamps and tombstones."""

    clock: Callable[[], float] = time.time
    objects: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    changed: dict[str, dict[str, float]] = field(default_factory=dict)
    removed: dict[str, dict[str, float]] = field(default_factory=dict)
    version: int = 0

    def fill(self, users: int, groups: int, devices: int, *, group_size: int, at: float) -> None:
        """Replace everything with generated objects stamped ``at``."""
        self.objects = {
            "users": {u["id"]: u for u in map(make_user, range(users))},
            "groups": {
                g["id"]: g
                for g in (make_group(i, users, groups, group_size) for i in range(groups))
            },
            "devices": {d["id"]: d for d in map(make_device, range(devices))},
        }
        self.changed = {kind: dict.fromkeys(self.objects[kind], at) for kind in COLLECTIONS}
        self.removed = {kind: {} for kind in COLLECTIONS}
        self.version += 1

    def ids(self, kind: str) -> list[str]:
        """Ids of a collection in a stable order."""
        return sorted(self.objects[kind])

    def touch(self, kind: str, object_ids: list[str], at: float | None = None) -> None:
        """Mark objects changed at ``at`` (default now)."""
        stamp = self.clock() if at is None else at
        for oid in object_ids:
            self.changed[kind][oid] = stamp
        self.version += 1

    def put(self, kind: str, obj: dict[str, Any], at: float | None = None) -> None:
        """Create or replace an object."""
        self.objects[kind][obj["id"]] = obj
        self.removed[kind].pop(obj["id"], None)
        self.touch(kind, [obj["id"]], at)

    def delete(self, kind: str, oid: str) -> None:
        """Delete an object, drop it from every group's members, leave a tombstone."""
        self.objects[kind].pop(oid, None)
        self.changed[kind].pop(oid, None)
        self.removed[kind][oid] = self.clock()
        holders = [g["id"] for g in self.objects["groups"].values() if oid in g["_members"]]
        for gid in holders:
            self.objects["groups"][gid]["_members"].remove(oid)
        self.touch("groups", holders)

    def since(self, kind: str, watermark: float) -> list[tuple[str, bool]]:
        """(id, removed) of objects changed or deleted after ``watermark``, in id order."""
        changed = [(oid, False) for oid, at in self.changed[kind].items() if at > watermark]
        gone = [(oid, True) for oid, at in self.removed[kind].items() if at > watermark]
        return sorted(changed + gone)

    def find(self, oid: str) -> tuple[str, dict[str, Any]] | None:
        """The collection and object of any id."""
        for kind in COLLECTIONS:
            if oid in self.objects[kind]:
                return kind, self.objects[kind][oid]
        return None
