"""Mapping Freshservice assets and changes onto canonical records.

Codes follow the Freshservice API v2 reference (api.freshservice.com, "Changes":
status 1 Open, 2 Planning, 3 Awaiting Approval, 4 Pending Release, 5 Pending
Review, 6 Closed; risk 1 Low, 2 Medium, 3 High, 4 Very High; impact 1 Low,
2 Medium, 3 High; change_type 1 Minor, 2 Standard, 3 Major, 4 Emergency).
Unknown codes never map to anything that lets a change through.
Asset type fields carry the asset type id as a suffix (``serial_number_21000123``);
they are read by their name without it.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any, Literal

from connectors.base.canonical import Approval, CanonicalChange, CanonicalDevice, DeviceStatus

ChangeType = Literal["standard", "normal", "emergency"]
Risk = Literal["low", "moderate", "high", "very_high"]
ApprovalState = Literal["requested", "approved", "rejected", "not_yet_requested", "cancelled"]

STATES = {1: "new", 2: "assess", 3: "authorize", 4: "scheduled", 5: "review", 6: "closed"}
RISKS: dict[int, Risk] = {1: "low", 2: "moderate", 3: "high", 4: "very_high"}
IMPACTS = {1: "low", 2: "medium", 3: "high"}
TYPES: dict[int, ChangeType] = {1: "normal", 2: "standard", 3: "normal", 4: "emergency"}
MAJOR, EMERGENCY = 3, 4
# Approval status of one approver (Freshservice "Approvals": 0 requested ... 3 cancelled).
APPROVAL_CODES: dict[int, ApprovalState] = {
    0: "requested",
    1: "approved",
    2: "rejected",
    3: "cancelled",
}
ASSET_STATES: dict[str, DeviceStatus] = {
    "in use": "active",
    "in stock": "inactive",
    "in repair": "maintenance",
    "missing": "retired",
    "retired": "retired",
    "disposed": "retired",
}
_SUFFIX = re.compile(r"_\d+$")
_DEVICE_TYPES = (
    ("laptop", "laptop"),
    ("desktop", "desktop"),
    ("server", "server"),
    ("virtual", "virtual_machine"),
    ("tablet", "tablet"),
    ("mobile", "mobile"),
)


def parse_time(text: str) -> datetime:
    """A Freshservice timestamp (ISO 8601, ``Z``) as aware UTC."""
    parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).astimezone(UTC)


def format_time(when: datetime) -> str:
    """UTC, whole seconds, ``Z``: what ``updated_since`` takes."""
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def type_fields(raw: dict[str, Any]) -> dict[str, Any]:
    """The asset's type fields by name, without the asset type id suffix."""
    fields = raw.get("type_fields")
    if not isinstance(fields, dict):
        return {}
    return {_SUFFIX.sub("", name): value for name, value in fields.items()}


def device_type(type_names: list[str]) -> Any:
    """The canonical device type from the asset type and its ancestors (nearest first)."""
    for name in type_names:
        for word, kind in _DEVICE_TYPES:
            if word in name.lower():
                return kind
    return "other"


def asset_key_parts(raw: dict[str, Any], mapping: dict[str, str]) -> CanonicalDevice:
    """A device with only the key fields: used to key relationship ends and affected CIs."""
    fields = type_fields(raw)
    return CanonicalDevice(
        source_id=str(raw.get("display_id", "")),
        serial_number=_text(fields.get(mapping.get("serial_number", ""))),
        asset_tag=_text(raw.get("asset_tag")),
        hostname=_text(fields.get(mapping.get("hostname", ""))) or _text(raw.get("name")),
    )


def asset(
    raw: dict[str, Any],
    mapping: dict[str, str],
    type_names: list[str],
    owner: str | None,
    location: str | None,
) -> CanonicalDevice:
    """Map one asset (with ``include=type_fields``) onto a canonical device."""
    fields = type_fields(raw)
    state = _text(fields.get(mapping.get("status", "")))
    base = asset_key_parts(raw, mapping)
    return base.model_copy(
        update={
            "device_type": device_type(type_names),
            "os": _text(fields.get(mapping.get("os", ""))),
            "os_version": _text(fields.get(mapping.get("os_version", ""))),
            "manufacturer": _text(fields.get(mapping.get("manufacturer", ""))),
            "model": _text(fields.get(mapping.get("model", ""))),
            "location": location,
            "owner": owner.lower() if owner else None,
            "status": ASSET_STATES.get((state or "").lower(), "unknown"),
            "install_status": state,
            "cmdb_class": type_names[0] if type_names else None,
        }
    )


def change(raw: dict[str, Any], affected: list[str]) -> CanonicalChange:
    """Map one change (approvals are added by the stream)."""
    risk = RISKS.get(_code(raw.get("risk")))
    kind = _code(raw.get("change_type"))
    return CanonicalChange(
        source_id=str(raw.get("id", "")),
        number=f"CHN-{raw.get('id')}",
        title=_text(raw.get("subject")),
        state=STATES.get(_code(raw.get("status")), "unknown"),
        type=TYPES.get(kind, "normal"),
        risk=risk,
        impact=IMPACTS.get(_code(raw.get("impact"))),
        cab_required=kind in (MAJOR, EMERGENCY) or risk in ("high", "very_high"),
        planned_start=_when(raw.get("planned_start_date")),
        planned_end=_when(raw.get("planned_end_date")),
        affected_cis=sorted(set(affected)),
    )


def approval(raw: dict[str, Any], approver: str) -> Approval | None:
    """One approver's decision; None when the status is unknown."""
    status = raw.get("approval_status")
    code = status.get("id") if isinstance(status, dict) else status
    state = APPROVAL_CODES.get(_code(code))
    if state is None:
        return None
    decided = state in ("approved", "rejected")
    return Approval(
        approver=approver, state=state, at=_when(raw.get("updated_at")) if decided else None
    )


def overall(
    approvals: list[Approval],
) -> Literal["not_requested", "requested", "approved", "rejected"]:
    """The change's approval from its approvers' decisions (one rejection rejects it)."""
    states = {item.state for item in approvals if item.state != "cancelled"}
    if "rejected" in states:
        return "rejected"
    if "requested" in states or "not_yet_requested" in states:
        return "requested"
    return "approved" if states else "not_requested"


def _code(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else -1


def _text(value: Any) -> str | None:
    if value is None or value == "":
        return None
    return str(value)


def _when(value: Any) -> datetime | None:
    return parse_time(value) if isinstance(value, str) and value else None
