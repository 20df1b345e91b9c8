"""The fake Okta org's records: users, groups and memberships, and its rate-limit window."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any


def okta_time(at: float) -> str:
    """Okta's timestamp format."""
    return datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def make_user(n: int, at: float) -> dict[str, Any]:
    """User ``n``: every 20th DEPROVISIONED, every 30th SUSPENDED, a manager by email."""
    status = "DEPROVISIONED" if n % 20 == 19 else "SUSPENDED" if n % 30 == 29 else "ACTIVE"
    return {
        "id": f"00u{n:017d}",
        "status": status,
        "created": okta_time(at),
        "lastLogin": okta_time(at - n),
        "lastUpdated": okta_time(at),
        "profile": {
            "login": f"user{n:05d}@example.com",
            "email": f"User{n:05d}@Example.com",
            "firstName": f"First{n}",
            "lastName": f"Last{n}",
            "department": ("Engineering", "Sales", "Finance")[n % 3],
            "title": f"Title {n % 7}",
            "employeeNumber": f"{n:06d}",
            "mobilePhone": f"+1 555 {n:07d}",
            "managerId": f"user{n // 10:05d}@example.com" if n >= 10 else None,
        },
    }


@dataclass
class RateWindow:
    """One rate-limit bucket: ``limit`` requests per ``seconds``."""

    limit: int = 600
    seconds: int = 60
    used: int = 0
    reset_at: float = 0.0
    throttled: int = 0


@dataclass
class OktaData:
    """Users, groups and memberships."""

    users: dict[str, dict[str, Any]] = field(default_factory=dict)
    groups: dict[str, dict[str, Any]] = field(default_factory=dict)
    members: dict[str, list[str]] = field(default_factory=dict)
