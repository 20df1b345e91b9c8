"""Reading Table API records and mapping CMDB computers onto canonical devices.

Records are requested with ``sysparm_display_value=all`` so every field is
``{"display_value": ..., "value": ...}``: stored values for keys, choice codes
and timestamps (UTC), display values for names (location, manufacturer...).
Plain strings (``sysparm_display_value=false``) are read too.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from connectors.base.canonical import (
    CanonicalDevice,
    CanonicalRelationship,
    DeviceStatus,
    normalize_serial,
)

SN_DATETIME = "%Y-%m-%d %H:%M:%S"
_SN_LENGTH = len("2026-01-01 00:00:00")

# cmdb_ci.install_status (out-of-box choices) -> canonical device status.
# Unknown or custom codes map to "unknown", never to "active".
INSTALL_STATUS: dict[str, DeviceStatus] = {
    "1": "active",  # Installed
    "2": "inactive",  # On Order
    "3": "maintenance",  # In Maintenance
    "4": "inactive",  # Pending Install
    "5": "maintenance",  # Pending Repair
    "6": "inactive",  # In Stock
    "7": "retired",  # Retired
    "8": "retired",  # Stolen
    "100": "inactive",  # Absent
}

# CMDB classes (sys_class_name) that are servers.
SERVER_CLASSES = frozenset(
    {"cmdb_ci_server", "cmdb_ci_win_server", "cmdb_ci_linux_server", "cmdb_ci_unix_server"}
)

COMPUTER_FIELDS = (
    "sys_id",
    "name",
    "serial_number",
    "asset_tag",
    "os",
    "os_version",
    "manufacturer",
    "model_id",
    "location",
    "department",
    "assigned_to.email",
    "install_status",
    "sys_class_name",
    "sys_updated_on",
)


def value(raw: dict[str, Any], name: str) -> str | None:
    """The stored value of a field; None when absent or empty."""
    return _pick(raw.get(name), "value")


def display(raw: dict[str, Any], name: str) -> str | None:
    """The display value of a field (labels, referenced names); None when empty."""
    return _pick(raw.get(name), "display_value")


def _pick(field: Any, key: str) -> str | None:
    if isinstance(field, dict):
        field = field.get(key, field.get("value"))
    if field is None or field == "":
        return None
    return str(field)


def parse_sn_datetime(text: str) -> datetime:
    """A ServiceNow internal date-time (``YYYY-MM-DD HH:MM:SS``, UTC)."""
    if len(text) != _SN_LENGTH or text[10] != " ":
        raise ValueError(f"not a ServiceNow date-time: {text[:40]!r}")
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def format_sn_datetime(when: datetime) -> str:
    """A datetime as ServiceNow's internal format (UTC, whole seconds)."""
    return when.astimezone(UTC).strftime(SN_DATETIME)


def computer_to_device(raw: dict[str, Any]) -> CanonicalDevice:
    """Map one cmdb_ci_computer (or child class) record onto a canonical device."""
    status_code = value(raw, "install_status")
    cmdb_class = value(raw, "sys_class_name")
    return CanonicalDevice(
        source_id=value(raw, "sys_id") or "",
        serial_number=value(raw, "serial_number"),
        asset_tag=value(raw, "asset_tag"),
        hostname=value(raw, "name"),
        device_type="server" if cmdb_class in SERVER_CLASSES else None,
        os=display(raw, "os"),
        os_version=value(raw, "os_version"),
        manufacturer=display(raw, "manufacturer"),
        model=display(raw, "model_id"),
        location=display(raw, "location"),
        department=display(raw, "department"),
        owner=value(raw, "assigned_to.email"),
        status=INSTALL_STATUS.get(status_code or "", "unknown"),
        install_status=display(raw, "install_status"),
        cmdb_class=cmdb_class,
    )


def ci_fields(reference: str) -> tuple[str, ...]:
    """The dot-walked fields a CI reference needs to be turned into a device key."""
    return tuple(f"{reference}{suffix}" for suffix in ("", ".serial_number", ".asset_tag", ".name"))


def ci_key(raw: dict[str, Any], reference: str) -> str | None:
    """The device key of the CI ``reference`` points to, exactly as CanonicalDevice.key makes it.

    Serial number (upper-case) first, then asset tag, then host name, then ``id:<sys_id>``,
    read from dot-walked fields so no second request is needed. None when the reference is
    empty. (Building a CanonicalDevice per edge end would cost more than the whole edge.)
    """
    sys_id = value(raw, reference)
    if not sys_id:
        return None
    serial = value(raw, f"{reference}.serial_number")
    if serial:
        return normalize_serial(serial)
    tag, host = value(raw, f"{reference}.asset_tag"), value(raw, f"{reference}.name")
    if tag:
        return f"tag:{tag.strip().upper()}"
    return f"host:{host.strip().lower()}" if host else f"id:{sys_id}"


RELATIONSHIP_FIELDS = (
    "sys_id",
    *ci_fields("parent"),
    *ci_fields("child"),
    "type",
    "sys_updated_on",
)


def relationship(raw: dict[str, Any]) -> CanonicalRelationship:
    """Map one cmdb_rel_ci record onto a canonical relationship (type by its display name)."""
    return CanonicalRelationship(
        source_id=value(raw, "sys_id") or "",
        parent=ci_key(raw, "parent") or "",
        child=ci_key(raw, "child") or "",
        type=display(raw, "type") or "",
    )
