"""Graph users, groups and devices as canonical records.

Property names follow the Microsoft Graph v1.0 resource types ``user``,
``group`` and ``device`` (learn.microsoft.com/graph/api/resources/...).
"""

from __future__ import annotations

from typing import Any

from connectors.base.canonical import CanonicalDevice, CanonicalGroup, CanonicalUser

USER_FIELDS = (
    "id",
    "userPrincipalName",
    "mail",
    "displayName",
    "givenName",
    "surname",
    "department",
    "jobTitle",
    "accountEnabled",
    "officeLocation",
)
RESTRICTED_USER_FIELDS = ("employeeId", "mobilePhone")
MANAGER_EXPAND = "manager($select=mail,userPrincipalName)"
GROUP_FIELDS = ("id", "displayName", "description")
MEMBER_FIELDS = ("id", "mail", "userPrincipalName", "displayName")
DEVICE_FIELDS = (
    "id",
    "deviceId",
    "displayName",
    "operatingSystem",
    "operatingSystemVersion",
    "isCompliant",
    "isManaged",
    "accountEnabled",
    "approximateLastSignInDateTime",
    "trustType",
)
USER_TYPE = "#microsoft.graph.user"
GROUP_TYPE = "#microsoft.graph.group"
_MOBILE = {"ios": "mobile", "android": "mobile", "ipados": "tablet"}


def text(raw: dict[str, Any], name: str) -> str | None:
    """A string property, None when absent, null or blank."""
    value = raw.get(name)
    return value.strip() or None if isinstance(value, str) else None


def user_key(raw: dict[str, Any]) -> str | None:
    """The canonical key of a Graph user object: mail, else userPrincipalName (lower case)."""
    value = text(raw, "mail") or text(raw, "userPrincipalName")
    return value.lower() if value else None


def group_key(raw: dict[str, Any]) -> str | None:
    """The canonical key of a Graph group: its display name in lower case."""
    name = text(raw, "displayName")
    return name.lower() if name else None


def to_user(raw: dict[str, Any]) -> CanonicalUser:
    """A Graph user (with ``manager`` expanded) as a canonical user."""
    manager = raw.get("manager")
    sign_in = raw.get("signInActivity")
    return CanonicalUser(
        source_id=raw.get("id"),
        email=text(raw, "mail"),
        upn=text(raw, "userPrincipalName"),
        display_name=text(raw, "displayName"),
        given_name=text(raw, "givenName"),
        family_name=text(raw, "surname"),
        department=text(raw, "department"),
        job_title=text(raw, "jobTitle"),
        manager=user_key(manager) if isinstance(manager, dict) else None,
        enabled=_flag(raw.get("accountEnabled")),
        location=text(raw, "officeLocation"),
        last_sign_in=sign_in.get("lastSignInDateTime") if isinstance(sign_in, dict) else None,
        employee_id=text(raw, "employeeId"),
        phone=text(raw, "mobilePhone"),
    )


def to_group(raw: dict[str, Any], members: list[dict[str, Any]]) -> CanonicalGroup:
    """A Graph group with its direct members: users as user keys, groups as group keys."""
    users = {user_key(m) for m in members if m.get("@odata.type") == USER_TYPE}
    groups = {group_key(m) for m in members if m.get("@odata.type") == GROUP_TYPE}
    return CanonicalGroup(
        source_id=raw.get("id"),
        group_key=group_key(raw),
        name=text(raw, "displayName"),
        description=text(raw, "description"),
        members=sorted(key for key in users if key),
        member_groups=sorted(key for key in groups if key),
    )


def to_device(raw: dict[str, Any]) -> CanonicalDevice:
    """A Graph (Entra-registered or joined) device as a canonical device."""
    compliant = raw.get("isCompliant")
    managed = raw.get("isManaged")
    enabled = raw.get("accountEnabled")
    os_name = text(raw, "operatingSystem")
    return CanonicalDevice(
        source_id=raw.get("id"),
        hostname=text(raw, "displayName"),
        os=os_name,
        os_version=text(raw, "operatingSystemVersion"),
        device_type=_MOBILE.get(os_name.lower()) if os_name else None,
        compliance_state=None if compliant is None else _compliance(compliant),
        management_state=None if managed is None else ("managed" if managed else "unmanaged"),
        status=None if enabled is None else ("active" if enabled else "inactive"),
        last_seen=raw.get("approximateLastSignInDateTime"),
        extra=_extra(raw),
    )


def _flag(value: Any) -> Any:
    # null means unknown (enabled); anything but a boolean fails validation by name
    return True if value is None else value


def _compliance(compliant: Any) -> str:
    return "compliant" if compliant is True else "noncompliant"


def _extra(raw: dict[str, Any]) -> dict[str, Any]:
    extra = {"entra_device_id": text(raw, "deviceId"), "trust_type": text(raw, "trustType")}
    return {key: value for key, value in extra.items() if value}
