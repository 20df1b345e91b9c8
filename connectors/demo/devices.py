"""The demo fleet: devices with the spec's type, OS, site, status and compliance shares."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from connectors.base.canonical import CanonicalDevice
from connectors.demo import catalog, organisation
from connectors.demo.people import DAY, Person, Roster
from connectors.demo.sampling import (
    Weighted,
    clip,
    seconds_before,
    serial_number,
    shuffled_labels,
)

COMPLIANCE_MEAN = 90.0
COMPLIANCE_SD = 10.0
COMPLIANCE_FLOOR = 70.0
TAIL_SHARE = 0.01
"""Share of devices drawn below the floor (35..70), so policies have something to deny."""

_KINDS = Weighted([(kind, kind.share) for kind in catalog.DEVICE_KINDS])
_STATUSES = Weighted(catalog.DEVICE_STATUSES)
_SITES = Weighted([(site, site.weight) for site in organisation.SITES])
_CARBON_KG = {
    "laptop": (45, 110),
    "desktop": (110, 240),
    "virtual_machine": (20, 60),
    "mobile": (5, 15),
    "server": (800, 2000),
}


def ring_sizes(devices: int) -> list[int]:
    """Devices per ring: Lab 50, Canary 500, Pilot 5,000, Department 25,000 (of 50,000), Global."""
    fixed = [round(devices * share) for share in catalog.RING_SHARES]
    while sum(fixed) > devices:
        fixed[fixed.index(max(fixed))] -= 1
    return [*fixed, devices - sum(fixed)]


def generate_devices(
    rng: random.Random, *, count: int, seed: int, roster: Roster, now: datetime
) -> Iterator[CanonicalDevice]:
    """``count`` devices in index order; rings are dealt out in exactly the ring sizes."""
    rings = shuffled_labels(rng, catalog.RINGS, ring_sizes(count))
    it_staff = [p for p in roster.people if organisation.DEPARTMENTS[p.department].name == "IT Ops"]
    for index in range(count):
        yield _device(rng, index, seed, rings[index], roster, it_staff or roster.people, now)


def _device(
    rng: random.Random,
    index: int,
    seed: int,
    ring: str,
    roster: Roster,
    it_staff: list[Person],
    now: datetime,
) -> CanonicalDevice:
    kind = _KINDS.pick(rng)
    infrastructure = kind.device_type in ("server", "virtual_machine") and kind.type_code != "VD"
    owner = rng.choice(it_staff) if infrastructure else rng.choice(roster.people)
    site = organisation.SITES[owner.site] if rng.random() < 0.9 else _SITES.pick(rng)
    status = _STATUSES.pick(rng)
    manufacturer, model = rng.choice(kind.models)
    score = _compliance_score(rng)
    jailbroken = kind.device_type == "mobile" and rng.random() < 0.003
    reasons = _reasons(rng, score, jailbroken)
    return CanonicalDevice(
        source_id=f"dev-{index + 1:06d}",
        serial_number=serial_number(seed, index),
        asset_tag=f"AT{index + 1:07d}",
        hostname=f"{site.code}-{kind.type_code}-{index + 1:06d}".lower(),
        device_type=kind.device_type,
        os=kind.os,
        os_version=rng.choice(kind.os_versions),
        manufacturer=manufacturer,
        model=model,
        location=site.name,
        department=organisation.DEPARTMENTS[owner.department].name,
        owner=owner.email,
        status=status,
        install_status=catalog.INSTALL_STATUS[status],
        cmdb_class=catalog.CMDB_CLASSES[kind.device_type],
        ring=ring,
        compliance_score=score,
        compliance_state=_state(score, jailbroken),
        compliance_reasons=reasons,
        management_state="managed",
        enrollment_state="enrolled",
        encrypted="disk_encryption_disabled" not in reasons,
        jailbroken=jailbroken if kind.device_type == "mobile" else None,
        ownership=_ownership(rng, kind.device_type),
        enrolled_at=seconds_before(now, rng.uniform(30 * DAY, 1_100 * DAY)),
        last_seen=seconds_before(now, _last_seen_s(rng, status)),
        ip_address=f"10.{site.subnet}.{(index >> 8) & 255}.{index & 255}",
        mac_address=_mac(rng),
        extra=_dex(rng, kind.device_type),
    )


def _compliance_score(rng: random.Random) -> float:
    """Normal(90, 10) reflected at 70 and clipped at 100, plus a 1 % tail below 70."""
    if rng.random() < TAIL_SHARE:
        return round(rng.uniform(35.0, COMPLIANCE_FLOOR - 0.1), 1)
    score = rng.gauss(COMPLIANCE_MEAN, COMPLIANCE_SD)
    if score < COMPLIANCE_FLOOR:
        score = 2 * COMPLIANCE_FLOOR - score
    return round(clip(score, COMPLIANCE_FLOOR, 100.0), 1)


def _state(score: float, jailbroken: bool) -> str:
    if jailbroken or score < COMPLIANCE_FLOOR:
        return "noncompliant"
    return "in_grace_period" if score < 80.0 else "compliant"


def _reasons(rng: random.Random, score: float, jailbroken: bool) -> list[str]:
    reasons = ["device_jailbroken"] if jailbroken else []
    if score < 80.0:
        reasons.extend(rng.sample(catalog.NONCOMPLIANCE_REASONS, 1 if score >= 70.0 else 2))
    return sorted(reasons)


def _ownership(rng: random.Random, device_type: str) -> str:
    return "personal" if device_type == "mobile" and rng.random() < 0.25 else "corporate"


def _last_seen_s(rng: random.Random, status: str) -> float:
    if status == "inactive":
        return rng.uniform(30 * DAY, 120 * DAY)
    if status == "maintenance":
        return rng.uniform(1 * DAY, 10 * DAY)
    return rng.uniform(0, 3 * DAY)


def _mac(rng: random.Random) -> str:
    octets = [0x02, *(rng.getrandbits(8) for _ in range(5))]
    return ":".join(f"{octet:02x}" for octet in octets)


def _dex(rng: random.Random, device_type: str) -> dict[str, Any]:
    """Digital-experience metrics: boot time, yearly carbon footprint, user sentiment."""
    boot = clip(rng.lognormvariate(3.2, 0.35), 8.0, 180.0)
    if device_type == "server":
        boot *= 4
    low, high = _CARBON_KG[device_type]
    sentiment = clip(5.2 - boot / 20 + rng.gauss(0, 0.5), 1.0, 5.0)
    return {
        "boot_time_s": round(boot, 1),
        "carbon_footprint_kg": round(rng.uniform(low, high), 1),
        "user_sentiment": round(sentiment, 1),
        "dex_score": round(clip(sentiment * 2 + rng.gauss(0, 0.4), 0.0, 10.0), 1),
    }
