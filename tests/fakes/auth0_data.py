"""The fake Auth0 tenant's records, its Management API error bodies and the user search."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson
from starlette.responses import Response

SCOPES = "read:users read:roles read:organizations read:organization_members"
_RANGE = re.compile(r"^updated_at:([\[{])(\S+) TO (\S+)([\]}])$")
REASONS = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    429: "Too Many Requests",
    500: "Internal Server Error",
    503: "Service Unavailable",
}
CODES = {
    401: "invalid_token",
    403: "insufficient_scope",
    404: "inexistent_resource",
    400: "invalid_query_string",
    429: "too_many_requests",
}


def auth0_time(at: float) -> str:
    """Auth0's timestamp format (UTC, milliseconds)."""
    return datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def user_id(n: int) -> str:
    """The id of fake user ``n``."""
    return f"auth0|{n:024d}"


def make_user(n: int, at: float) -> dict[str, Any]:
    """User ``n``: every 10th blocked; department, title and manager in app_metadata."""
    return {
        "user_id": user_id(n),
        "email": f"User{n:05d}@Example.com",
        "username": f"user{n:05d}",
        "name": f"First{n} Last{n}",
        "given_name": f"First{n}",
        "family_name": f"Last{n}",
        "phone_number": f"+1555{n:07d}",
        "blocked": n % 10 == 9,
        "created_at": auth0_time(at),
        "updated_at": auth0_time(at),
        "last_login": auth0_time(at + 30),
        "app_metadata": {
            "department": ("Engineering", "Sales", "Finance")[n % 3],
            "job_title": f"Title {n % 7}",
            "employee_id": f"E{n:06d}",
            **({"manager": f"user{n // 10:05d}@example.com"} if n >= 10 else {}),
        },
        "user_metadata": {"theme": "dark"},
    }


def error(status: int, message: str, headers: dict[str, str] | None = None) -> Response:
    """A Management API error response."""
    body = {
        "statusCode": status,
        "error": REASONS.get(status, "Error"),
        "message": message,
        "errorCode": CODES.get(status, "server_error"),
    }
    return Response(orjson.dumps(body), status, headers=headers, media_type="application/json")


@dataclass
class Auth0Data:
    """Users, roles, organizations and their members."""

    users: dict[str, dict[str, Any]] = field(default_factory=dict)
    roles: dict[str, dict[str, Any]] = field(default_factory=dict)
    role_users: dict[str, list[str]] = field(default_factory=dict)
    orgs: dict[str, dict[str, Any]] = field(default_factory=dict)
    org_members: dict[str, list[str]] = field(default_factory=dict)


@dataclass
class Job:
    """A users-export job: done after ``polls_left`` status reads."""

    id: str
    fields: list[str]
    polls_left: int
    body: bytes = b""


def member(user: dict[str, Any]) -> dict[str, Any]:
    """A user as role and organization member listings show it."""
    return {
        "user_id": user["user_id"],
        "email": user.get("email"),
        "name": user.get("name"),
        "picture": "https://cdn.example.com/avatar.png",
    }


def select_fields(user: dict[str, Any], fields: str | None) -> dict[str, Any]:
    """The user with only the comma-separated ``fields`` (all when none are asked for)."""
    if not fields:
        return user
    return {name: user[name] for name in fields.split(",") if name in user}


def updated_range(q: str) -> Any:
    """A test of ``updated_at`` for an ``updated_at:[X TO Y}`` query; None when malformed."""
    match = _RANGE.match(q.strip())
    if match is None:
        return None
    left, low, high, right = match.groups()

    def test(value: str) -> bool:
        above = low == "*" or (value >= low if left == "[" else value > low)
        below = high == "*" or (value <= high if right == "]" else value < high)
        return above and below

    return test
