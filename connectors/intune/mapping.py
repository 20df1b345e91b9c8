"""Intune ``managedDevice`` objects as canonical devices.

Property names and enum values follow the Microsoft Graph v1.0 "managedDevice
resource type" (learn.microsoft.com/graph/api/resources/intune-devices-manageddevice):
``complianceState`` (unknown, compliant, noncompliant, conflict, error,
inGracePeriod, configManager), ``managementState`` (managed, retirePending,
wipePending, discovered...), ``managedDeviceOwnerType`` (unknown, company,
personal), ``jailBroken`` as the strings "True" / "False" / "Unknown". Dates
Intune never set come back as ``0001-01-01T00:00:00Z`` and count as unknown.

``conflict`` and ``error`` are mapped to noncompliant (a policy must not treat
a device whose evaluation failed as compliant) with the Intune state as the
reason; ``configManager`` (Configuration Manager evaluates it) is unknown.
"""

from __future__ import annotations

import re
from typing import Any

from connectors.base.canonical import CanonicalDevice, ComplianceState, DeviceType

FIELDS = (
    "id",
    "serialNumber",
    "deviceName",
    "operatingSystem",
    "osVersion",
    "model",
    "manufacturer",
    "complianceState",
    "complianceGracePeriodExpirationDateTime",
    "managementState",
    "enrolledDateTime",
    "lastSyncDateTime",
    "userPrincipalName",
    "isEncrypted",
    "jailBroken",
    "managedDeviceOwnerType",
    "azureADDeviceId",
)
STATES: dict[str, ComplianceState] = {
    "compliant": "compliant",
    "noncompliant": "noncompliant",
    "ingraceperiod": "in_grace_period",
    "conflict": "noncompliant",
    "error": "noncompliant",
    "unknown": "unknown",
    "configmanager": "unknown",
}
OWNERSHIP = {"company": "corporate", "personal": "personal"}
LEAVING = frozenset({"retirepending", "retireissued", "wipepending", "wipeissued", "deletepending"})
_UNSET_DATES = ("0001-01-01", "9999-12-31")
_NO_GUID = "00000000-0000-0000-0000-000000000000"
_MOBILE: dict[str, DeviceType] = {"ios": "mobile", "android": "mobile", "ipados": "tablet"}


def to_device(raw: dict[str, Any]) -> CanonicalDevice:
    """One managedDevice as a canonical device."""
    state, reasons = compliance(raw)
    return CanonicalDevice(
        source_id=str(raw.get("id") or ""),
        serial_number=text(raw, "serialNumber"),
        hostname=text(raw, "deviceName"),
        device_type=_device_type(text(raw, "operatingSystem"), text(raw, "model")),
        os=text(raw, "operatingSystem"),
        os_version=text(raw, "osVersion"),
        manufacturer=text(raw, "manufacturer"),
        model=text(raw, "model"),
        owner=text(raw, "userPrincipalName"),
        compliance_state=state,
        compliance_reasons=reasons,
        management_state=_snake(text(raw, "managementState")),
        enrollment_state=_enrollment(text(raw, "managementState")),
        encrypted=_bool(raw.get("isEncrypted")),
        jailbroken=_jailbroken(raw.get("jailBroken")),
        ownership=_ownership(text(raw, "managedDeviceOwnerType")),
        enrolled_at=when(raw, "enrolledDateTime"),
        last_seen=when(raw, "lastSyncDateTime"),
        extra=_extra(raw),
    )


def compliance(raw: dict[str, Any]) -> tuple[ComplianceState | None, list[str]]:
    """The canonical compliance state and the reasons a policy author can read."""
    state = text(raw, "complianceState")
    if state is None:
        return None, []
    mapped = STATES.get(state.lower())
    if mapped is None:
        return "unknown", [f"Intune reports an unrecognised compliance state '{state}'"]
    return mapped, _reasons(raw, state.lower(), mapped)


def _reasons(raw: dict[str, Any], state: str, mapped: ComplianceState) -> list[str]:
    reasons = []
    if state in ("conflict", "error"):
        reasons.append(f"Intune compliance evaluation ended in '{raw['complianceState']}'")
    if state == "configmanager":
        reasons.append("compliance is evaluated by Configuration Manager")
    if mapped == "in_grace_period" and (
        ends := when(raw, "complianceGracePeriodExpirationDateTime")
    ):
        reasons.append(f"grace period ends {ends}")
    if mapped in ("noncompliant", "in_grace_period"):
        reasons.extend(_facts(raw))
    return reasons


def _facts(raw: dict[str, Any]) -> list[str]:
    facts = []
    if raw.get("isEncrypted") is False:
        facts.append("storage is not encrypted")
    if _jailbroken(raw.get("jailBroken")):
        facts.append("device is jailbroken or rooted")
    return facts


def text(raw: dict[str, Any], name: str) -> str | None:
    """A string property; None when absent, null or blank."""
    value = raw.get(name)
    return value.strip() or None if isinstance(value, str) else None


def when(raw: dict[str, Any], name: str) -> str | None:
    """A DateTimeOffset property; None when Intune left it unset (year 1 or 9999)."""
    value = text(raw, name)
    return None if value is None or value.startswith(_UNSET_DATES) else value


def _bool(value: Any) -> bool | None:
    return value if isinstance(value, bool) else None


def _jailbroken(value: Any) -> bool | None:
    lowered = str(value).lower() if isinstance(value, str | bool) else ""
    return {"true": True, "false": False}.get(lowered)


def _snake(value: str | None) -> str | None:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", value).lower() if value else None


def _enrollment(management: str | None) -> str | None:
    if management is None:
        return None
    lowered = management.lower()
    if lowered == "discovered":
        return "not_enrolled"
    return "unenrolling" if lowered in LEAVING else "enrolled"


def _ownership(owner_type: str | None) -> Any:
    return OWNERSHIP.get(owner_type.lower(), "unknown") if owner_type else None


def _device_type(os_name: str | None, model: str | None) -> DeviceType | None:
    if model and "ipad" in model.lower():
        return "tablet"
    return _MOBILE.get(os_name.lower()) if os_name else None


def _extra(raw: dict[str, Any]) -> dict[str, Any]:
    entra = text(raw, "azureADDeviceId")
    return {"entra_device_id": entra} if entra and entra != _NO_GUID else {}
