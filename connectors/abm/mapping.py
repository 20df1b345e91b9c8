"""Mapping Apple Business Manager ``orgDevices`` resources onto canonical devices.

An ABM record says which device management service the device is assigned
to (``mdm_server``; absent when unassigned). The connector is
``assignment_only``: the document builder does not count its records in
``managed_by`` and flags ``abm_unenrolled`` when no MDM knows the device.
"""

from __future__ import annotations

from typing import Any

from connectors.base.canonical import CanonicalDevice, DeviceType

ORG_DEVICE_FIELDS = (
    "serialNumber",
    "deviceModel",
    "productFamily",
    "status",
    "purchaseSourceType",
    "orderNumber",
    "addedToOrgDateTime",
    "updatedDateTime",
    "releasedFromOrgDateTime",
)
_FAMILY: dict[str, DeviceType] = {"iphone": "mobile", "ipad": "tablet", "ipod": "mobile"}
_DESKTOPS = ("imac", "mac mini", "mac studio", "mac pro")


def org_device_to_device(raw: dict[str, Any], assignments: dict[str, str]) -> CanonicalDevice:
    """One orgDevices resource as a canonical device (``mdm_server`` only when assigned)."""
    attributes = raw.get("attributes")
    attrs: dict[str, Any] = attributes if isinstance(attributes, dict) else {}
    serial = _text(attrs.get("serialNumber"))
    model = _text(attrs.get("deviceModel"))
    released = attrs.get("releasedFromOrgDateTime")
    return CanonicalDevice(
        source_id=str(raw.get("id") or ""),
        serial_number=serial,
        manufacturer="Apple",
        model=model,
        device_type=_device_type(_text(attrs.get("productFamily")), model),
        ownership="corporate",
        status="retired" if released else None,
        mdm_server=_assignment(raw, assignments, released=bool(released)),
        extra=_extra(attrs),
    )


def _assignment(raw: dict[str, Any], assignments: dict[str, str], *, released: bool) -> str | None:
    """The assigned server's name; None when unassigned or released from the organization."""
    return None if released else assignments.get(str(raw.get("id")))


def _extra(attrs: dict[str, Any]) -> dict[str, Any]:
    names = {
        "status": "abm_status",
        "productFamily": "product_family",
        "purchaseSourceType": "purchase_source",
        "orderNumber": "order_number",
        "addedToOrgDateTime": "added_to_org_at",
        "updatedDateTime": "abm_updated_at",
        "releasedFromOrgDateTime": "released_from_org_at",
    }
    return {ours: attrs[theirs] for theirs, ours in names.items() if attrs.get(theirs)}


def _device_type(family: str | None, model: str | None) -> DeviceType | None:
    lowered = (family or "").lower()
    if lowered in _FAMILY:
        return _FAMILY[lowered]
    if lowered != "mac":
        return "other" if lowered else None
    name = (model or "").lower()
    if "macbook" in name:
        return "laptop"
    return "desktop" if name.startswith(_DESKTOPS) else None


def _text(value: Any) -> str | None:
    return str(value).strip() or None if value is not None else None
