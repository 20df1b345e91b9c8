"""``assets/device_index``: the device keys grouped by the fields a deployment decision checks.

A deployment to 25,000 devices must check each target's status, compliance score
and MDM verdict. Looked up device by device in ``assets/devices``, OPA converts
every device object it touches, and the decision takes hundreds of milliseconds.
This index lets the policy work on sets instead: the keys of the devices with
each status, ring and compliance score band, the MDM non-compliant ones, and
those lacking a status or a score. OPA intersects those sets with the targets in
Go, reading only the buckets the thresholds select.

It is derived from the ``assets/devices`` body of the same build, so both always
describe the same devices; it carries that body's sensitivity and sources.
"""

from __future__ import annotations

import math
from typing import Any

from pip_service.documents.merge import Entity

Keys = dict[str, bool]
"""A set of device keys as JSON: every value is ``true``."""


HIGHEST_BAND = 100


def score_band(score: float) -> str:
    """The band a compliance score is filed under: its integer part, at most 100.

    A score above 100 (which the devices schema forbids) goes to band 100: a policy
    that reads bands 0 to 100 sees every score.
    """
    return str(min(math.floor(score), HIGHEST_BAND))


def device_index(devices: dict[str, Entity]) -> dict[str, Any]:
    """The index of a built ``assets/devices`` body.

    - ``status``: status → keys of the devices with that status;
    - ``ring``: ring → keys of the devices in that ring;
    - ``compliance_score``: band (the score's integer part) → key → exact score;
    - ``mdm_noncompliant``: keys of the devices whose MDM verdict (``compliant``) is false;
    - ``missing``: ``status`` and ``compliance_score`` → keys of the devices without one
      (a score must be a number of at least 0: a negative one counts as missing).

    Every device is in exactly one of ``status``'s buckets or in ``missing.status``.
    """
    status: dict[str, Keys] = {}
    ring: dict[str, Keys] = {}
    scores: dict[str, dict[str, float]] = {}
    noncompliant: Keys = {}
    no_status: Keys = {}
    no_score: Keys = {}
    for key, device in devices.items():
        value = device.get("status")
        if isinstance(value, str):
            status.setdefault(value, {})[key] = True
        else:
            no_status[key] = True
        if isinstance(name := device.get("ring"), str):
            ring.setdefault(name, {})[key] = True
        score = _score(device.get("compliance_score"))
        if score is None:
            no_score[key] = True
        else:
            scores.setdefault(score_band(score), {})[key] = score
        if device.get("compliant") is False:
            noncompliant[key] = True
    return {
        "compliance_score": scores,
        "missing": {"compliance_score": no_score, "status": no_status},
        "mdm_noncompliant": noncompliant,
        "ring": ring,
        "status": status,
    }


def _score(value: object) -> float | None:
    """A compliance score: a JSON number (not a boolean) from 0 up, else None."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return value if math.isfinite(value) and value >= 0 else None
