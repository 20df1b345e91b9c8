"""Mapping Jamf Pro inventory records onto canonical devices.

Computers come from ``GET /api/v1/computers-inventory`` and mobile devices
from ``GET /api/v2/mobile-devices/detail``; both are read with only the
sections listed here (``SECTIONS``), plus group memberships or extension
attributes when compliance is mapped from them.
"""

from __future__ import annotations

from typing import Any

from connectors.base.canonical import CanonicalDevice, DeviceType
from connectors.jamf.compliance import evaluate
from connectors.jamf.config import JamfComplianceSettings

COMPUTER_SECTIONS = (
    "GENERAL",
    "HARDWARE",
    "OPERATING_SYSTEM",
    "USER_AND_LOCATION",
    "DISK_ENCRYPTION",
)
MOBILE_SECTIONS = ("GENERAL", "HARDWARE", "USER_AND_LOCATION", "SECURITY")
GROUP_SECTION = {"computer": "GROUP_MEMBERSHIPS", "mobile": "GROUPS"}
ATTRIBUTE_SECTION = "EXTENSION_ATTRIBUTES"

# diskEncryption.bootPartitionEncryptionDetails.partitionFileVault2State
ENCRYPTED_STATES = frozenset({"ENCRYPTED"})
UNENCRYPTED_STATES = frozenset({"UNENCRYPTED", "DECRYPTED", "DECRYPTING", "INELIGIBLE"})
# general.deviceOwnershipType of mobile devices
OWNERSHIP = {"institutional": "corporate", "personaldeviceprofile": "personal"}
_DESKTOPS = ("imac", "mac mini", "mac studio", "mac pro")


def sections(kind: str, settings: JamfComplianceSettings) -> list[str]:
    """The sections to request for ``kind`` (computer or mobile) under ``settings``."""
    wanted = list(COMPUTER_SECTIONS if kind == "computer" else MOBILE_SECTIONS)
    if settings.source == "smart_group":
        wanted.append(GROUP_SECTION[kind])
    if settings.source == "extension_attribute":
        wanted.append(ATTRIBUTE_SECTION)
    return wanted


def computer_to_device(raw: dict[str, Any], settings: JamfComplianceSettings) -> CanonicalDevice:
    """One computers-inventory record as a canonical device."""
    general, hardware = _part(raw, "general"), _part(raw, "hardware")
    system, user = _part(raw, "operatingSystem"), _part(raw, "userAndLocation")
    managed = _part(general, "remoteManagement").get("managed")
    groups = [g.get("groupName") for g in _list(raw, "groupMemberships")]
    state, reasons = evaluate(settings, _names(groups), _attributes(raw, "values"))
    return CanonicalDevice(
        source_id=str(raw.get("id") or ""),
        serial_number=_text(hardware.get("serialNumber")),
        hostname=_text(general.get("name")),
        asset_tag=_text(general.get("assetTag")),
        device_type=_computer_type(_text(hardware.get("model"))),
        os=_text(system.get("name")) or "macOS",
        os_version=_text(system.get("version")),
        manufacturer=_text(hardware.get("make")),
        model=_text(hardware.get("model")),
        owner=_text(user.get("email")),
        management_state=_managed(managed),
        enrollment_state=_enrolled(managed),
        encrypted=_filevault(raw),
        ownership="corporate" if general.get("enrolledViaAutomatedDeviceEnrollment") else None,
        enrolled_at=general.get("lastEnrolledDate") or None,
        last_seen=general.get("lastContactTime") or general.get("reportDate") or None,
        ip_address=_text(general.get("lastIpAddress")),
        compliance_state=state,
        compliance_reasons=reasons,
        extra=_extra(general.get("supervised"), general.get("reportDate")),
    )


def mobile_to_device(raw: dict[str, Any], settings: JamfComplianceSettings) -> CanonicalDevice:
    """One mobile-devices/detail record as a canonical device."""
    general, hardware = _part(raw, "general"), _part(raw, "hardware")
    user, security = _part(raw, "userAndLocation"), _part(raw, "security")
    groups = [g.get("groupName") for g in _list(raw, "groups")]
    state, reasons = evaluate(settings, _names(groups), _attributes(raw, "value"))
    model = _text(hardware.get("model"))
    ownership = OWNERSHIP.get(str(general.get("deviceOwnershipType") or "").lower())
    return CanonicalDevice(
        source_id=str(raw.get("mobileDeviceId") or ""),
        serial_number=_text(hardware.get("serialNumber")),
        hostname=_text(general.get("displayName")),
        asset_tag=_text(general.get("assetTag")),
        device_type=_mobile_type(model),
        os=_mobile_os(str(raw.get("deviceType") or ""), model),
        os_version=_text(general.get("osVersion")),
        manufacturer="Apple",
        model=model,
        owner=_text(user.get("emailAddress")),
        management_state=_managed(general.get("managed")),
        enrollment_state=_enrolled(general.get("managed")),
        encrypted=_bool(security.get("dataProtected")),
        jailbroken=_bool(security.get("jailBreakDetected")),
        ownership=ownership,
        enrolled_at=general.get("lastEnrolledDate") or None,
        last_seen=general.get("lastInventoryUpdateDate") or None,
        ip_address=_text(general.get("ipAddress")),
        compliance_state=state,
        compliance_reasons=reasons,
        extra=_extra(general.get("supervised"), general.get("lastInventoryUpdateDate")),
    )


def _part(raw: dict[str, Any], name: str) -> dict[str, Any]:
    value = raw.get(name)
    return value if isinstance(value, dict) else {}


def _list(raw: dict[str, Any], name: str) -> list[dict[str, Any]]:
    value = raw.get(name)
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def _names(values: list[Any]) -> list[str]:
    return [str(v) for v in values if v]


def _attributes(raw: dict[str, Any], values_key: str) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for attribute in _list(raw, "extensionAttributes"):
        values = attribute.get(values_key)
        if isinstance(attribute.get("name"), str) and isinstance(values, list):
            found[attribute["name"]] = [str(v) for v in values if v is not None]
    return found


def _text(value: Any) -> str | None:
    return str(value).strip() or None if value is not None else None


def _bool(value: Any) -> bool | None:
    return value if isinstance(value, bool) else None


def _managed(managed: Any) -> str | None:
    return None if not isinstance(managed, bool) else "managed" if managed else "unmanaged"


def _enrolled(managed: Any) -> str | None:
    return None if not isinstance(managed, bool) else "enrolled" if managed else "not_enrolled"


def _filevault(raw: dict[str, Any]) -> bool | None:
    boot = _part(_part(raw, "diskEncryption"), "bootPartitionEncryptionDetails")
    state = str(boot.get("partitionFileVault2State") or "").upper()
    if state in ENCRYPTED_STATES:
        return True
    return False if state in UNENCRYPTED_STATES else None


def _computer_type(model: str | None) -> DeviceType | None:
    if not model:
        return None
    lowered = model.lower()
    if "macbook" in lowered:
        return "laptop"
    return "desktop" if lowered.startswith(_DESKTOPS) else None


def _mobile_type(model: str | None) -> DeviceType:
    lowered = (model or "").lower()
    if "ipad" in lowered:
        return "tablet"
    return "mobile" if "iphone" in lowered else "other"


def _mobile_os(device_type: str, model: str | None) -> str:
    if device_type.lower() == "tvos":
        return "tvOS"
    return "iPadOS" if "ipad" in (model or "").lower() else "iOS"


def _extra(supervised: Any, inventory_at: Any) -> dict[str, Any]:
    extra: dict[str, Any] = {}
    if isinstance(supervised, bool):
        extra["supervised"] = supervised
    if isinstance(inventory_at, str) and inventory_at:
        extra["last_inventory_at"] = inventory_at
    return extra
