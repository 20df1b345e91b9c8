"""Android Management API ``Device`` resources as canonical devices.

Field names and enum values follow the "REST Resource: enterprises.devices"
page (developers.google.com/android/management/reference/rest/v1/enterprises.devices):
``name`` (``enterprises/{e}/devices/{d}``), ``managementMode`` (DEVICE_OWNER,
PROFILE_OWNER), ``state`` / ``appliedState`` (ACTIVE, DISABLED, DELETED,
PROVISIONING, LOST...), ``policyCompliant`` with ``nonComplianceDetails``
(``settingName``, ``nonComplianceReason``, ``packageName``),
``hardwareInfo.serialNumber``, ``softwareInfo.androidVersion`` and
``securityPatchLevel``, ``securityPosture`` (``devicePosture`` SECURE, AT_RISK,
POTENTIALLY_COMPROMISED; ``postureDetails[].securityRisk``), ``ownership``
(COMPANY_OWNED, PERSONALLY_OWNED), ``enrollmentTime``, ``lastStatusReportTime``
and the owning ``user.accountIdentifier``.
"""

from __future__ import annotations

from typing import Any

from connectors.base.canonical import CanonicalDevice, ComplianceState, DeviceStatus

FIELDS = (
    "nextPageToken,devices(name,user,userName,managementMode,state,appliedState,"
    "policyCompliant,nonComplianceDetails,enrollmentTime,lastStatusReportTime,"
    "lastPolicySyncTime,appliedPolicyName,ownership,securityPosture,"
    "hardwareInfo(serialNumber,manufacturer,brand,model),"
    "softwareInfo(androidVersion,securityPatchLevel),deviceSettings(isEncrypted))"
)
STATUS: dict[str, DeviceStatus] = {
    "ACTIVE": "active",
    "DISABLED": "inactive",
    "LOST": "inactive",
    "DELETED": "retired",
    "PROVISIONING": "maintenance",
}
ENROLLED = frozenset({"ACTIVE", "DISABLED", "LOST"})
OWNERSHIP = {"COMPANY_OWNED": "corporate", "PERSONALLY_OWNED": "personal"}


def device_id(raw: dict[str, Any]) -> str:
    """The device id, the last segment of ``name``."""
    return str(raw.get("name") or "").rsplit("/", 1)[-1]


def to_device(raw: dict[str, Any]) -> CanonicalDevice:
    """One Device resource as a canonical device."""
    hardware, software = part(raw, "hardwareInfo"), part(raw, "softwareInfo")
    applied = text(raw.get("appliedState"))
    state, reasons = compliance(raw)
    return CanonicalDevice(
        source_id=device_id(raw),
        serial_number=text(hardware.get("serialNumber")),
        device_type="mobile",
        os="Android",
        os_version=text(software.get("androidVersion")),
        manufacturer=text(hardware.get("manufacturer")) or text(hardware.get("brand")),
        model=text(hardware.get("model")),
        owner=_owner(part(raw, "user")),
        status=STATUS.get(applied or ""),
        compliance_state=state,
        compliance_reasons=reasons,
        management_state=applied.lower() if applied else None,
        enrollment_state=_enrollment(applied),
        encrypted=_bool(part(raw, "deviceSettings").get("isEncrypted")),
        jailbroken=_compromised(part(raw, "securityPosture")),
        ownership=OWNERSHIP.get(text(raw.get("ownership")) or ""),
        enrolled_at=text(raw.get("enrollmentTime")),
        last_seen=text(raw.get("lastStatusReportTime")) or text(raw.get("lastPolicySyncTime")),
        extra=_extra(raw, software),
    )


def compliance(raw: dict[str, Any]) -> tuple[ComplianceState | None, list[str]]:
    """``policyCompliant`` as a state; each non-compliance detail as a reason."""
    compliant = raw.get("policyCompliant")
    if not isinstance(compliant, bool):
        return None, []
    if compliant:
        return "compliant", []
    details = raw.get("nonComplianceDetails")
    found = (
        [_reason(d) for d in details if isinstance(d, dict)] if isinstance(details, list) else []
    )
    return "noncompliant", found or ["the applied policy reports the device noncompliant"]


def _reason(detail: dict[str, Any]) -> str:
    setting = text(detail.get("settingName")) or "policy"
    why = text(detail.get("nonComplianceReason")) or "NON_COMPLIANCE_REASON_UNSPECIFIED"
    package = text(detail.get("packageName"))
    return f"{setting}: {why}" + (f" ({package})" if package else "")


def part(raw: dict[str, Any], name: str) -> dict[str, Any]:
    """A nested object, empty when absent."""
    value = raw.get(name)
    return value if isinstance(value, dict) else {}


def text(value: Any) -> str | None:
    """A non-blank string, else None."""
    return value.strip() or None if isinstance(value, str) else None


def _bool(value: Any) -> bool | None:
    return value if isinstance(value, bool) else None


def _owner(user: dict[str, Any]) -> str | None:
    account = text(user.get("accountIdentifier"))
    return account if account and "@" in account else None


def _enrollment(applied: str | None) -> str | None:
    if applied is None:
        return None
    if applied in ENROLLED:
        return "enrolled"
    return "provisioning" if applied == "PROVISIONING" else "not_enrolled"


def _compromised(posture: dict[str, Any]) -> bool | None:
    details = posture.get("postureDetails")
    risks = (
        {d.get("securityRisk") for d in details if isinstance(d, dict)}
        if isinstance(details, list)
        else set()
    )
    if "COMPROMISED_OS" in risks:
        return True
    return False if posture.get("devicePosture") == "SECURE" else None


def _extra(raw: dict[str, Any], software: dict[str, Any]) -> dict[str, Any]:
    extra = {
        "management_mode": text(raw.get("managementMode")),
        "security_patch_level": text(software.get("securityPatchLevel")),
        "security_posture": text(part(raw, "securityPosture").get("devicePosture")),
        "requested_state": text(raw.get("state")),
        "policy": text(raw.get("appliedPolicyName")),
    }
    return {key: value for key, value in extra.items() if value}
