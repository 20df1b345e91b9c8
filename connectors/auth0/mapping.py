"""Auth0 users, roles and organizations as canonical records.

Property names follow the Auth0 "User Profile Structure" and the Management API
v2 reference: a user has ``user_id``, ``email``, ``username``, ``name``,
``given_name``, ``family_name``, ``phone_number``, ``blocked``, ``last_login``,
``updated_at`` and ``app_metadata``. Auth0 has no department, title or manager
attributes: they are read from ``app_metadata`` (``department``,
``job_title`` or ``title``, ``manager`` as an email, ``employee_id``), where
tenants conventionally keep them. A role has ``id``, ``name``,
``description``; an organization ``id``, ``name``, ``display_name``.
"""

from __future__ import annotations

from typing import Any

from connectors.base.canonical import CanonicalGroup, CanonicalUser

# Fields asked of GET /api/v2/users and of the users-export job.
USER_FIELDS = (
    "user_id", "email", "username", "name", "given_name", "family_name", "phone_number",
    "blocked", "last_login", "updated_at", "created_at", "app_metadata",
)  # fmt: skip


def text(data: Any, name: str) -> str | None:
    """A non-blank string property of a dict, else None."""
    value = data.get(name) if isinstance(data, dict) else None
    return value.strip() or None if isinstance(value, str) else None


def member_key(raw: dict[str, Any]) -> str | None:
    """The user key of a role or organization member: email, else ``id:<user_id>``."""
    email = text(raw, "email")
    if email:
        return email.lower()
    user_id = text(raw, "user_id")
    return f"id:{user_id}" if user_id else None


def member_keys(members: list[dict[str, Any]]) -> list[str]:
    """Sorted distinct user keys of a member list."""
    return sorted({key for key in map(member_key, members) if key})


def _manager(metadata: Any) -> str | None:
    value = text(metadata, "manager")
    return value if value and "@" in value else None


def to_user(raw: dict[str, Any]) -> CanonicalUser:
    """An Auth0 user; blocked users are disabled."""
    meta = raw.get("app_metadata")
    return CanonicalUser(
        source_id=raw.get("user_id"),
        email=text(raw, "email"),
        username=text(raw, "username"),
        display_name=text(raw, "name"),
        given_name=text(raw, "given_name"),
        family_name=text(raw, "family_name"),
        department=text(meta, "department"),
        job_title=text(meta, "job_title") or text(meta, "title"),
        manager=_manager(meta),
        enabled=raw.get("blocked") is not True,
        last_sign_in=raw.get("last_login"),
        employee_id=text(meta, "employee_id"),
        phone=text(raw, "phone_number"),
    )


def to_role_group(raw: dict[str, Any], members: list[dict[str, Any]]) -> CanonicalGroup:
    """A role as a group granting that role to its members."""
    name = text(raw, "name")
    return CanonicalGroup(
        source_id=raw.get("id"),
        group_key=name.lower() if name else None,
        name=name,
        description=text(raw, "description"),
        members=member_keys(members),
        roles=[name] if name else [],
    )


def to_org_group(raw: dict[str, Any], members: list[dict[str, Any]]) -> CanonicalGroup:
    """An organization as a group of its members (keyed by its lower-case name)."""
    name = text(raw, "name")
    return CanonicalGroup(
        source_id=raw.get("id"),
        group_key=name.lower() if name else None,
        name=text(raw, "display_name") or name,
        members=member_keys(members),
    )
