"""Jamf Pro has no compliance state of its own: the connection's settings decide it.

Either smart-group membership (a compliant group the device must be in, and
noncompliant groups it must not be in) or the value of an extension
attribute. The reasons name the group or the attribute value, so a policy
author can see why a device was refused.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from connectors.base.canonical import ComplianceState
from connectors.jamf.config import JamfComplianceSettings

Verdict = tuple[ComplianceState | None, list[str]]


def evaluate(
    settings: JamfComplianceSettings, groups: Iterable[str], attributes: Mapping[str, list[str]]
) -> Verdict:
    """The device's compliance state and reasons; ``(None, [])`` when not configured."""
    if settings.source == "smart_group":
        return by_groups(settings, set(groups))
    if settings.source == "extension_attribute":
        return by_attribute(settings, attributes)
    return None, []


def by_groups(settings: JamfComplianceSettings, groups: set[str]) -> Verdict:
    """Noncompliant in any noncompliant group or outside the compliant group."""
    reasons = [f"member of smart group '{g}'" for g in settings.noncompliant_groups if g in groups]
    wanted = settings.compliant_group
    if wanted and wanted not in groups:
        reasons.append(f"not a member of smart group '{wanted}'")
    return ("noncompliant", reasons) if reasons else ("compliant", [])


def by_attribute(settings: JamfComplianceSettings, attributes: Mapping[str, list[str]]) -> Verdict:
    """Compliant when the attribute holds a compliant value; unknown when it holds none."""
    name = settings.extension_attribute or ""
    values = [v for v in attributes.get(name, []) if v.strip()]
    if not values:
        return "unknown", [f"extension attribute '{name}' has no value"]
    allowed = {v.strip().lower() for v in settings.compliant_values}
    bad = [v for v in values if v.strip().lower() not in allowed]
    if bad:
        return "noncompliant", [f"extension attribute '{name}' is '{v}'" for v in bad]
    return "compliant", []
