"""Directory entries → canonical records (users, groups, computers)."""

from __future__ import annotations

import re
from collections.abc import Callable

from connectors.base.canonical import (
    CanonicalDevice,
    CanonicalGroup,
    CanonicalUser,
    normalize_identity_key,
)
from connectors.base.errors import FatalSourceError
from connectors.ldap.config import UserAttributes
from connectors.ldap.decode import (
    filetime_to_datetime,
    guid_from_bytes,
    is_disabled,
    sid_from_bytes,
)
from connectors.ldap.entry import Entry

ID_ATTRIBUTES = ("objectGUID", "entryUUID", "objectSid")
USER_FIXED_ATTRIBUTES = ("manager", "memberOf", "userAccountControl", "lastLogonTimestamp")
GROUP_ATTRIBUTES = ("cn", "sAMAccountName", "description", "member")
COMPUTER_ATTRIBUTES = (
    "cn",
    "dNSHostName",
    "operatingSystem",
    "operatingSystemVersion",
    "userAccountControl",
    "lastLogonTimestamp",
    "description",
)
_DN_SPACES = re.compile(r"\s*([,=+])\s*")

DnResolver = Callable[[str], str | None]


def normalize_dn(dn: str) -> str:
    """A DN in the form used to compare DNs: lower case, no spaces around separators."""
    lowered = dn.strip().lower()
    if not any(mark in lowered for mark in (" ,", ", ", " =", "= ", " +", "+ ")):
        return lowered  # the common case, without the regex
    return _DN_SPACES.sub(r"\1", lowered)


def source_id(entry: Entry) -> str:
    """The object's stable id: objectGUID (AD), else entryUUID (OpenLDAP), else its DN."""
    raw_guid = entry.binary("objectGUID")
    try:
        if raw_guid is not None:
            return guid_from_bytes(raw_guid)
    except ValueError as err:
        raise FatalSourceError(
            f"objectGUID of {entry.dn} is malformed", code="ldap_bad_value"
        ) from err
    return entry.text("entryUUID") or normalize_dn(entry.dn)


def object_sid(entry: Entry) -> str | None:
    """The decoded objectSid (S-1-5-...), when the entry has one."""
    raw = entry.binary("objectSid")
    try:
        return sid_from_bytes(raw) if raw is not None else None
    except ValueError as err:
        raise FatalSourceError(
            f"objectSid of {entry.dn} is malformed", code="ldap_bad_value"
        ) from err


def user_key(entry: Entry, attrs: UserAttributes) -> str:
    """The key the user's record will have (normalized email, else UPN, else id)."""
    identity = entry.first_text(attrs.email) or entry.first_text(attrs.upn)
    return normalize_identity_key(identity) if identity else f"id:{source_id(entry)}"


def group_key(entry: Entry, key_attribute: str) -> str:
    """The group's key: its lower-cased cn (or sAMAccountName), else its id."""
    name = entry.text(key_attribute) or entry.text("cn")
    return name.strip().lower() if name else f"id:{source_id(entry)}"


def user_attribute_names(attrs: UserAttributes) -> tuple[str, ...]:
    """The attributes a users search asks for."""
    return (*ID_ATTRIBUTES, *USER_FIXED_ATTRIBUTES, *attrs.all_names())


def user_record(
    entry: Entry, attrs: UserAttributes, *, manager_key: DnResolver, groups: list[str]
) -> CanonicalUser:
    """A CanonicalUser from a user entry; ``groups`` are already resolved group keys."""
    manager_dn = entry.text("manager")
    last_logon = entry.integer("lastLogonTimestamp")
    return CanonicalUser(
        source_id=source_id(entry),
        email=entry.first_text(attrs.email),
        upn=entry.first_text(attrs.upn),
        username=entry.first_text(attrs.username),
        display_name=entry.first_text(attrs.display_name),
        given_name=entry.first_text(attrs.given_name),
        family_name=entry.first_text(attrs.family_name),
        department=entry.first_text(attrs.department),
        job_title=entry.first_text(attrs.job_title),
        location=entry.first_text(attrs.location),
        manager=manager_key(manager_dn) if manager_dn else None,
        enabled=not is_disabled(entry.integer("userAccountControl")),
        last_sign_in=filetime_to_datetime(last_logon) if last_logon else None,
        employee_id=entry.first_text(attrs.employee_id),
        phone=entry.first_text(attrs.phone),
        groups=groups,
    )


def group_record(
    entry: Entry, key_attribute: str, *, members: list[str], member_groups: list[str]
) -> CanonicalGroup:
    """A CanonicalGroup; members/member_groups are resolved, direct keys."""
    return CanonicalGroup(
        source_id=source_id(entry),
        group_key=group_key(entry, key_attribute),
        name=entry.text("cn") or entry.text("sAMAccountName") or entry.dn,
        description=entry.text("description"),
        members=members,
        member_groups=member_groups,
    )


def device_record(entry: Entry) -> CanonicalDevice:
    """A CanonicalDevice from a computer object."""
    os_name = entry.text("operatingSystem")
    last_logon = entry.integer("lastLogonTimestamp")
    disabled = is_disabled(entry.integer("userAccountControl"))
    extra: dict[str, object] = {"distinguished_name": entry.dn, "ou": organizational_unit(entry.dn)}
    sid = object_sid(entry)
    if sid:
        extra["object_sid"] = sid
    return CanonicalDevice(
        source_id=source_id(entry),
        hostname=(entry.text("dNSHostName") or entry.text("cn") or "").lower() or None,
        os=os_name,
        os_version=entry.text("operatingSystemVersion"),
        device_type="server" if os_name and "server" in os_name.lower() else None,
        status="inactive" if disabled else "active",
        last_seen=filetime_to_datetime(last_logon) if last_logon else None,
        extra={key: value for key, value in extra.items() if value},
    )


def organizational_unit(dn: str) -> str | None:
    """The OU path of a DN, outermost first, e.g. ``Berlin/Laptops``."""
    units = [part.split("=", 1)[1] for part in _split_dn(dn) if part.lower().startswith("ou=")]
    return "/".join(reversed(units)) or None


def _split_dn(dn: str) -> list[str]:
    return [part.strip() for part in re.split(r"(?<!\\),", dn) if part.strip()]
