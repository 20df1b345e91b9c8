"""Google Workspace users and groups as canonical records.

Property names follow the Directory API resources (developers.google.com/admin-sdk/
directory/reference/rest/v1/users and .../groups, .../members): a user has ``id``,
``primaryEmail``, ``name`` (``givenName``, ``familyName``, ``fullName``),
``suspended``, ``archived``, ``isAdmin``, ``isDelegatedAdmin``, ``orgUnitPath``,
``organizations[]`` (``department``, ``title``, ``primary``), ``relations[]``
(``type: manager``, ``value``: an email), ``phones[]``, ``externalIds[]``
(``type: organization`` is the employee id) and ``lastLoginTime`` (the epoch
when the user never signed in). A group has ``id``, ``email``, ``name``,
``description``; a member ``email``, ``type`` (``USER``, ``GROUP``, ``CUSTOMER``).
"""

from __future__ import annotations

from typing import Any

from connectors.base.canonical import CanonicalGroup, CanonicalUser

NEVER = "1970-01-01T00:00:00.000Z"
ADMIN_ROLES = (
    ("isAdmin", "workspace_super_admin"),
    ("isDelegatedAdmin", "workspace_delegated_admin"),
)


def text(data: Any, name: str) -> str | None:
    """A non-blank string property of a dict, else None."""
    value = data.get(name) if isinstance(data, dict) else None
    return value.strip() or None if isinstance(value, str) else None


def _first(items: Any, **match: str) -> dict[str, Any]:
    """The primary (else first) dict of a list whose keys equal ``match``."""
    found = (
        [i for i in items if isinstance(i, dict) and all(i.get(k) == v for k, v in match.items())]
        if isinstance(items, list)
        else []
    )
    return next((i for i in found if i.get("primary")), found[0] if found else {})


def _department(raw: dict[str, Any], org: dict[str, Any]) -> str | None:
    """The organization's department, else the last segment of the org unit path."""
    ou = (text(raw, "orgUnitPath") or "/").rstrip("/").rsplit("/", 1)[-1]
    return text(org, "department") or ou or None


def to_user(raw: dict[str, Any]) -> CanonicalUser:
    """A Directory user; suspended and archived users are disabled."""
    name, org = raw.get("name"), _first(raw.get("organizations"))
    manager = text(_first(raw.get("relations"), type="manager"), "value")
    login = text(raw, "lastLoginTime")
    return CanonicalUser(
        source_id=raw.get("id"),
        email=text(raw, "primaryEmail"),
        display_name=text(name, "fullName"),
        given_name=text(name, "givenName"),
        family_name=text(name, "familyName"),
        department=_department(raw, org),
        job_title=text(org, "title"),
        manager=manager if manager and "@" in manager else None,
        enabled=not (raw.get("suspended") is True or raw.get("archived") is True),
        roles=[role for flag, role in ADMIN_ROLES if raw.get(flag) is True],
        last_sign_in=None if login in (None, NEVER) else login,
        employee_id=text(_first(raw.get("externalIds"), type="organization"), "value"),
        phone=text(_first(raw.get("phones")), "value"),
    )


def to_group(raw: dict[str, Any], members: list[dict[str, Any]]) -> CanonicalGroup:
    """A group keyed by its lower-case email; USER members and nested GROUP members apart."""
    email = text(raw, "email")
    return CanonicalGroup(
        source_id=raw.get("id"),
        group_key=email.lower() if email else None,
        name=text(raw, "name") or email,
        description=text(raw, "description"),
        members=member_emails(members, "USER"),
        member_groups=member_emails(members, "GROUP"),
    )


def member_emails(members: list[dict[str, Any]], kind: str) -> list[str]:
    """Sorted lower-case emails of the members of one ``type`` (USER or GROUP)."""
    return sorted({e.lower() for m in members if m.get("type") == kind and (e := text(m, "email"))})
