"""Mapping Jira change issues and Service Management approvals onto canonical changes.

Issues come from ``GET /rest/api/3/search/jql`` (fields ``summary``, ``status``
with its ``statusCategory``, ``updated``, ``reporter`` and the custom fields
named in the connection's change field mapping). Approvals come from
``GET /rest/servicedeskapi/request/{key}/approval``: each has a
``finalDecision`` (``approved``/``declined``/``pending``) and ``approvers``
with their ``approverDecision``. Status names of the JSM change workflow map
onto canonical states; any other status falls back on its category, and an
unknown risk or decision never maps to anything that lets a change through.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

from connectors.base.canonical import Approval, CanonicalChange
from connectors.jira.config import ChangeFieldMapping

ApprovalState = Literal["requested", "approved", "rejected", "not_yet_requested", "cancelled"]
Overall = Literal["not_requested", "requested", "approved", "rejected"]

STATUSES = {
    "open": "new",
    "planning": "assess",
    "awaiting approval": "authorize",
    "awaiting implementation": "scheduled",
    "implementing": "implement",
    "peer review": "review",
    "completed": "closed",
    "closed": "closed",
    "done": "closed",
    "declined": "canceled",
    "canceled": "canceled",
    "cancelled": "canceled",
}
CATEGORIES = {"new": "new", "done": "closed"}
RISKS: dict[str, Any] = {
    "low": "low",
    "medium": "moderate",
    "moderate": "moderate",
    "high": "high",
    "critical": "very_high",
    "very high": "very_high",
}
TYPES: dict[str, Any] = {"standard": "standard", "normal": "normal", "emergency": "emergency"}
DECISIONS: dict[str, ApprovalState] = {
    "approved": "approved",
    "declined": "rejected",
    "pending": "requested",
}


def parse_jira_time(text: str) -> datetime:
    """A Jira timestamp (``2026-02-01T10:00:00.000+0000``) as aware UTC."""
    parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).astimezone(UTC)


def fields_to_read(mapping: ChangeFieldMapping) -> list[str]:
    """The issue fields a change search asks for."""
    custom = [value for value in mapping.model_dump().values() if value]
    return ["summary", "status", "updated", "reporter", "issuetype", *custom]


def change(raw: dict[str, Any], mapping: ChangeFieldMapping) -> CanonicalChange:
    """Map one change issue (approvals and affected CIs are added by the stream)."""
    fields = _fields(raw)
    risk = RISKS.get((_option(fields, mapping.risk) or "").lower())
    kind = TYPES.get((_option(fields, mapping.change_type) or "").lower(), "normal")
    return CanonicalChange(
        source_id=str(raw.get("id", "")),
        number=str(raw.get("key", "")),
        title=fields.get("summary") or None,
        state=_state(fields.get("status")),
        type=kind,
        risk=risk,
        impact=(_option(fields, mapping.impact) or "").lower() or None,
        cab_required=risk in ("high", "very_high") or kind == "emergency",
        planned_start=_when(fields, mapping.planned_start),
        planned_end=_when(fields, mapping.planned_end),
        requested_by=_email(fields.get("reporter")),
    )


def affected_object_ids(raw: dict[str, Any], mapping: ChangeFieldMapping) -> list[str]:
    """Assets object ids in the affected-assets field."""
    fields = _fields(raw)
    items = fields.get(mapping.affected_assets or "") or []
    return [str(i["objectId"]) for i in items if isinstance(i, dict) and i.get("objectId")]


def approvals(values: list[dict[str, Any]]) -> list[Approval]:
    """One Approval per approver of every approval of a request."""
    found = []
    for item in values:
        completed = item.get("completedDate")
        when = completed.get("iso8601") if isinstance(completed, dict) else None
        for approver in item.get("approvers") or []:
            state = DECISIONS.get(str(approver.get("approverDecision", "")))
            who = _email(approver.get("approver")) or _account(approver.get("approver"))
            if state is None or who is None:
                continue
            at = parse_jira_time(when) if when and state != "requested" else None
            found.append(Approval(approver=who, state=state, at=at, group=item.get("name")))
    return sorted(found, key=lambda a: (a.approver, a.group or ""))


def overall(values: list[dict[str, Any]]) -> Overall:
    """The change's approval from the final decisions of its approvals."""
    decisions = {str(item.get("finalDecision", "")) for item in values}
    if "declined" in decisions:
        return "rejected"
    if decisions - {"approved"}:
        return "requested"
    return "approved" if decisions else "not_requested"


def _fields(raw: dict[str, Any]) -> dict[str, Any]:
    fields = raw.get("fields")
    return fields if isinstance(fields, dict) else {}


def _state(status: Any) -> str:
    if not isinstance(status, dict):
        return "unknown"
    name = str(status.get("name", "")).lower()
    category = (status.get("statusCategory") or {}).get("key")
    return STATUSES.get(name) or CATEGORIES.get(str(category), "unknown")


def _option(fields: dict[str, Any], field_id: str | None) -> str | None:
    value = fields.get(field_id) if field_id else None
    if isinstance(value, dict):
        value = value.get("value") or value.get("name")
    return str(value) if value else None


def _when(fields: dict[str, Any], field_id: str | None) -> datetime | None:
    value = fields.get(field_id) if field_id else None
    return parse_jira_time(value) if isinstance(value, str) and value else None


def _email(user: Any) -> str | None:
    email = user.get("emailAddress") if isinstance(user, dict) else None
    return str(email) if email else None


def _account(user: Any) -> str | None:
    account = user.get("accountId") if isinstance(user, dict) else None
    return f"account:{account}" if account else None
