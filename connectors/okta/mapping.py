"""Okta users and groups as canonical records.

Property names follow the Okta Users and Groups APIs (developer.okta.com/docs/api):
a user has ``id``, ``status``, ``lastLogin``, ``lastUpdated`` and a ``profile``
(``login``, ``email``, ``firstName``, ``lastName``, ``displayName``,
``department``, ``title``, ``employeeNumber``, ``mobilePhone``, ``manager``,
``managerId``, ``city``); a group has ``id``, ``type``, ``lastUpdated``,
``lastMembershipUpdated`` and ``profile.name`` / ``profile.description``.
"""

from __future__ import annotations

from typing import Any

from connectors.base.canonical import CanonicalGroup, CanonicalUser

DISABLED = frozenset({"DEPROVISIONED", "SUSPENDED"})


def text(data: Any, name: str) -> str | None:
    """A non-blank string property of a dict, else None."""
    value = data.get(name) if isinstance(data, dict) else None
    return value.strip() or None if isinstance(value, str) else None


def profile(raw: dict[str, Any]) -> dict[str, Any]:
    """The user's or group's profile (empty when missing)."""
    found = raw.get("profile")
    return found if isinstance(found, dict) else {}


def user_key(raw: dict[str, Any]) -> str | None:
    """The canonical key of an Okta user: profile email, else login (lower case)."""
    value = text(profile(raw), "email") or text(profile(raw), "login")
    return value.lower() if value else None


def _manager(data: dict[str, Any]) -> str | None:
    # Okta's manager fields are free text; only an email-shaped value is a user key.
    for name in ("managerEmail", "managerId", "manager"):
        value = text(data, name)
        if value and "@" in value:
            return value
    return None


def to_user(raw: dict[str, Any]) -> CanonicalUser:
    """An Okta user; DEPROVISIONED and SUSPENDED users are disabled."""
    data = profile(raw)
    first, last = text(data, "firstName"), text(data, "lastName")
    display = text(data, "displayName") or " ".join(p for p in (first, last) if p) or None
    return CanonicalUser(
        source_id=raw.get("id"),
        email=text(data, "email"),
        username=text(data, "login"),
        display_name=display,
        given_name=first,
        family_name=last,
        department=text(data, "department"),
        job_title=text(data, "title"),
        manager=_manager(data),
        enabled=raw.get("status") not in DISABLED,
        location=text(data, "city"),
        last_sign_in=raw.get("lastLogin"),
        employee_id=text(data, "employeeNumber"),
        phone=text(data, "mobilePhone"),
    )


def to_group(raw: dict[str, Any], members: list[dict[str, Any]]) -> CanonicalGroup:
    """An Okta group with its members as user keys."""
    name = text(profile(raw), "name")
    return CanonicalGroup(
        source_id=raw.get("id"),
        group_key=name.lower() if name else None,
        name=name,
        description=text(profile(raw), "description"),
        members=sorted({key for key in map(user_key, members) if key}),
    )
