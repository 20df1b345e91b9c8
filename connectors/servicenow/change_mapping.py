"""Mapping ServiceNow change requests, affected CIs and approvals onto canonical changes.

Choice values follow ServiceNow's Change Management documentation ("State
model and transitions": -5 New, -4 Assess, -3 Authorize, -2 Scheduled,
-1 Implement, 0 Review, 3 Closed, 4 Canceled) and the out-of-box choices of
``change_request`` (risk 1 Very High, 2 High, 3 Moderate, 4 Low; impact
1 High, 2 Medium, 3 Low; approval ``not requested``/``requested``/
``approved``/``rejected``) and of ``sysapproval_approver.state``. Unknown or
custom codes never map to anything that lets a change through: an unknown
approval is ``not_requested``, an unknown risk is left out.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any, Literal

from connectors.base.canonical import Approval, CanonicalChange
from connectors.servicenow.mapping import ci_fields, ci_key, display, parse_sn_datetime, value

logger = logging.getLogger(__name__)

ApprovalState = Literal["requested", "approved", "rejected", "not_yet_requested", "cancelled"]
Risk = Literal["low", "moderate", "high", "very_high"]
ChangeApproval = Literal["not_requested", "requested", "approved", "rejected"]

STATES = {
    "-5": "new",
    "-4": "assess",
    "-3": "authorize",
    "-2": "scheduled",
    "-1": "implement",
    "0": "review",
    "3": "closed",
    "4": "canceled",
}
RISKS: dict[str, Risk] = {"1": "very_high", "2": "high", "3": "moderate", "4": "low"}
IMPACTS = {"1": "high", "2": "medium", "3": "low"}
APPROVAL: dict[str, ChangeApproval] = {
    "not requested": "not_requested",
    "requested": "requested",
    "approved": "approved",
    "rejected": "rejected",
}
# sysapproval_approver.state; "not_required" and "duplicate" are no decision and are skipped.
APPROVER_STATES: dict[str, ApprovalState] = {
    "requested": "requested",
    "approved": "approved",
    "rejected": "rejected",
    "not requested": "not_yet_requested",
    "cancelled": "cancelled",
}
CHANGE_TYPES = frozenset({"standard", "normal", "emergency"})

CHANGE_FIELDS = (
    "sys_id",
    "number",
    "short_description",
    "state",
    "type",
    "risk",
    "impact",
    "approval",
    "start_date",
    "end_date",
    "cab_required",
    "assignment_group",
    "requested_by.email",
    "correlation_id",
    "sys_updated_on",
)
TASK_CI_FIELDS = ("sys_id", "task", *ci_fields("ci_item"), "sys_updated_on")
APPROVER_FIELDS = (
    "sys_id",
    "sysapproval",
    "approver",
    "approver.email",
    "state",
    "group",
    "sys_updated_on",
)


def change(raw: dict[str, Any], affected: list[str], approvals: list[Approval]) -> CanonicalChange:
    """Map one change_request record (with its affected CIs and approvals)."""
    number = value(raw, "number") or ""
    return CanonicalChange(
        source_id=value(raw, "sys_id") or "",
        number=number,
        title=value(raw, "short_description"),
        state=_state(raw),
        type=_type(value(raw, "type")),
        risk=RISKS.get(value(raw, "risk") or ""),
        impact=IMPACTS.get(value(raw, "impact") or "") or display(raw, "impact"),
        approval=APPROVAL.get(value(raw, "approval") or "", "not_requested"),
        cab_required=value(raw, "cab_required") == "true",
        planned_start=_when(raw, "start_date"),
        planned_end=_when(raw, "end_date"),
        assignment_group=display(raw, "assignment_group"),
        requested_by=value(raw, "requested_by.email"),
        affected_cis=sorted(set(affected)),
        approvals=sorted(approvals, key=_approval_order),
        correlation_id=value(raw, "correlation_id"),
    )


def affected_ci(raw: dict[str, Any]) -> tuple[str, str] | None:
    """(change sys_id, device key) of one task_ci record; None when either is missing."""
    task, key = value(raw, "task"), ci_key(raw, "ci_item")
    return (task, key) if task and key else None


def approval(raw: dict[str, Any]) -> tuple[str, Approval] | None:
    """(change sys_id, approval) of one sysapproval_approver record; None when no decision."""
    task = value(raw, "sysapproval")
    state = APPROVER_STATES.get(value(raw, "state") or "")
    if not task or state is None:
        return None
    approver = value(raw, "approver.email") or display(raw, "approver") or value(raw, "approver")
    return task, Approval(
        approver=approver or "unknown",
        state=state,
        at=_when(raw, "sys_updated_on"),
        group=display(raw, "group"),
    )


def _state(raw: dict[str, Any]) -> str:
    code = value(raw, "state") or ""
    if code in STATES:
        return STATES[code]
    label = display(raw, "state")
    return "_".join(label.lower().split()) if label and label != code else "unknown"


def _type(code: str | None) -> Literal["standard", "normal", "emergency"]:
    if code in CHANGE_TYPES:
        return code  # type: ignore[return-value]
    return "normal"


def _when(raw: dict[str, Any], name: str) -> datetime | None:
    text = value(raw, name)
    return parse_sn_datetime(text) if text else None


def _approval_order(item: Approval) -> tuple[str, str]:
    return (item.approver, item.at.isoformat() if item.at else "")
