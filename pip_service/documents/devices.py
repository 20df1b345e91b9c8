"""``assets/devices``: devices merged by serial number, then asset tag or hostname.

On top of the field merge: ``compliance`` (source name → state and reasons),
``compliant`` by the configured rule, ``managed_by`` (MDM connections that know
the device; a record from an assignment-only connector such as Apple Business
Manager, recognised by its connector class's ``assignment_only``, is not
management), ``last_seen`` the latest of all sources and ``abm_unenrolled``
when an assignment-only source knows the device but no MDM does.
"""

from __future__ import annotations

from typing import Any, Literal

from connectors.base.types import Category
from pip_service.documents.merge import Entity, Finisher, MergeRules, merge
from pip_service.documents.rows import Contribution

ComplianceRule = Literal["all", "any", "highest_precedence"]

RULES = MergeRules(
    latest=frozenset({"last_seen"}),
    combine=frozenset({"extra"}),
    drop=frozenset({"compliance_state", "compliance_reasons"}),
)
_WEAK_PREFIXES = ("tag:", "host:", "id:")


class DeviceAliases:
    """Devices without a serial number join the serial-keyed device with their tag or host."""

    def is_weak(self, key: str, group: list[Contribution]) -> bool:
        """A key that is not a serial number."""
        return key.startswith(_WEAK_PREFIXES)

    def aliases(self, contribution: Contribution) -> list[str]:
        """``tag:<ASSET TAG>`` and ``host:<hostname>`` of the record."""
        data = contribution.data
        found = []
        if isinstance(tag := data.get("asset_tag"), str) and tag.strip():
            found.append(f"tag:{tag.strip().upper()}")
        if isinstance(host := data.get("hostname"), str) and host.strip():
            found.append(f"host:{host.strip().lower()}")
        return found


def device_finisher(rule: ComplianceRule) -> Finisher:
    """A finisher for ``merged_entities`` applying ``rule`` to compliance."""

    def finish(key: str, group: list[Contribution]) -> Entity:
        merged = merge(group, RULES)
        fields = merged.fields
        compliance = _compliance(merged.ordered)
        if compliance:
            fields["compliance"] = compliance
            verdict = _compliant(compliance, rule)
            if verdict is not None:
                fields["compliant"] = verdict
        managers = sorted({c.source.name for c in merged.ordered if _manages(c)})
        fields["managed_by"] = managers
        if any(c.source.assignment_only for c in merged.ordered):
            fields["abm_unenrolled"] = not managers
        return merged.entity(key)

    return finish


def _compliance(ordered: list[Contribution]) -> dict[str, dict[str, Any]]:
    result: dict[str, dict[str, Any]] = {}
    for contribution in ordered:
        state = contribution.data.get("compliance_state")
        if state and contribution.source.name not in result:
            reasons = contribution.data.get("compliance_reasons") or []
            result[contribution.source.name] = {"state": state, "reasons": reasons}
    return result


def _compliant(compliance: dict[str, dict[str, Any]], rule: ComplianceRule) -> bool | None:
    """Overall compliance; sources reporting ``unknown`` do not count; None when none reports."""
    states: list[str] = [
        str(entry["state"]) for entry in compliance.values() if entry["state"] != "unknown"
    ]
    if not states:
        return None
    if rule == "any":
        return "compliant" in states
    if rule == "highest_precedence":
        return states[0] == "compliant"
    return all(state == "compliant" for state in states)


def _manages(contribution: Contribution) -> bool:
    source = contribution.source
    return source.category == Category.MDM and not source.assignment_only
