"""Rollouts of application versions through the rings, with telemetry and CAB links.

A release takes one application version from Lab towards Global, one deployment
per ring. Every deployment's status is drawn from the spec's shares; a release
moves on to the next ring only after a completed deployment with a healthy
success rate, so the ring history is what a promotion policy expects to read.
Releases with a risk score above 50 take one of the approved changes.
"""

from __future__ import annotations

import math
import random
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime

from connectors.base.canonical import CanonicalDeployment
from connectors.demo import catalog
from connectors.demo.applications import AppInfo
from connectors.demo.people import DAY, Person
from connectors.demo.sampling import Weighted, clip, seconds_before, seeded_uuid

HISTORY_DAYS = 88
"""Every release lies inside this many days before the reference time."""

HIGH_RISK = 50
"""Risk scores above this need an approved change."""

_STATUSES = Weighted(catalog.DEPLOYMENT_STATUSES)
_VERSION_AGE = Weighted([(2, 50), (1, 30), (0, 20)])
_HEALTHY = (0.95, 1.0)
_WORK_HOURS = Weighted([(h, w) for h, w in enumerate(catalog.HOUR_WEIGHTS) if 8 <= h < 18])
_RATES = {"failed": (0.40, 0.85), "rolled_back": (0.60, 0.92)}


@dataclass(slots=True)
class Step:
    """One deployment of a release: a ring, its status, its times and telemetry."""

    number: int
    ring: int
    status: str
    start_s: int = 0
    end_s: int | None = None
    target: int = 0
    success: int = 0
    failure: int = 0


@dataclass(slots=True)
class Release:
    """One application version on its way through the rings."""

    app: AppInfo
    version: str
    risk: int
    requester: Person
    correlation_id: str
    change: int | None
    steps: list[Step] = field(default_factory=list)


def change_number(index: int) -> str:
    """The number of change ``index`` (``CHG0030001`` for 0)."""
    return f"CHG{30_001 + index:07d}"


def build_releases(
    rng: random.Random,
    *,
    count: int,
    apps: list[AppInfo],
    requesters: list[Person],
    rings: list[int],
    approved_changes: list[int],
    now: datetime,
) -> list[Release]:
    """Releases holding exactly ``count`` deployments in all."""
    changes = deque(approved_changes)
    standard = [app for app in apps if app.standard] or apps
    releases: list[Release] = []
    made = 0
    while made < count:
        app = rng.choice(standard) if rng.random() < 0.3 else rng.choice(apps)
        release = _release(rng, app, rng.choice(requesters), changes)
        release.steps = _steps(rng, made, count - made, rings)
        _lay_out(rng, release.steps, int(now.timestamp()))
        made += len(release.steps)
        releases.append(release)
    return releases


def _release(rng: random.Random, app: AppInfo, requester: Person, changes: deque[int]) -> Release:
    risk = int(clip(rng.betavariate(2, 5) * 100, 1, 99))
    change = None
    if risk > HIGH_RISK and changes:
        change = changes.popleft()
    elif risk > HIGH_RISK:
        risk = rng.randint(5, HIGH_RISK)
    version = app.versions[_VERSION_AGE.pick(rng)]
    return Release(app, version, risk, requester, seeded_uuid(rng), change)


def _steps(rng: random.Random, first: int, room: int, rings: list[int]) -> list[Step]:
    steps: list[Step] = []
    for ring in range(len(catalog.RINGS)):
        if len(steps) == room:
            break
        status = _STATUSES.pick(rng)
        steps.append(Step(first + len(steps), ring, status, target=rings[ring]))
        if status != "completed" or rng.random() < 0.1:
            break
    for index, step in enumerate(steps):
        _telemetry(rng, step, promoted=index < len(steps) - 1)
    return steps


def _telemetry(rng: random.Random, step: Step, *, promoted: bool) -> None:
    processed = step.target
    if step.status == "in_progress":
        processed = round(step.target * rng.uniform(0.1, 0.9))
        low, high = _HEALTHY
    elif step.status == "completed":
        low, high = _HEALTHY if promoted or rng.random() < 0.85 else (0.85, 0.95)
    else:
        low, high = _RATES[step.status]
    step.success = round(processed * rng.uniform(low, high))
    step.failure = processed - step.success


def _lay_out(rng: random.Random, steps: list[Step], now_epoch: int) -> None:
    """Start each ring in business hours after the previous one ended, all before ``now``."""
    spans = [catalog.RING_DAYS[step.ring] * rng.uniform(0.6, 1.4) * DAY for step in steps]
    clock = now_epoch - _lead_time(rng, steps, spans)
    times: list[tuple[float, float | None]] = []
    for step, span in zip(steps, spans, strict=True):
        start = _business_hours(rng, clock)
        end = _end(rng, step.status, start, span)
        times.append((start, end))
        clock = (end if end is not None else start) + rng.uniform(0.1, 1.0) * DAY
    latest = max(end if end is not None else start for start, end in times)
    shift = math.ceil(max(0.0, latest - now_epoch) / DAY) * DAY
    for step, (start, end) in zip(steps, times, strict=True):
        step.start_s = int(now_epoch - start + shift)
        step.end_s = None if end is None else int(now_epoch - end + shift)


def _lead_time(rng: random.Random, steps: list[Step], spans: list[float]) -> float:
    """How long before ``now`` the release starts: running ones end in their last ring now."""
    before_last = sum(spans[:-1]) + (len(steps) - 1) * DAY
    if steps[-1].status == "in_progress":
        return before_last + rng.uniform(0, spans[-1])
    return rng.uniform(before_last + spans[-1], HISTORY_DAYS * DAY)


def _business_hours(rng: random.Random, moment: float) -> float:
    """The first working-day business-hours moment (drawn by hour weight) at or after ``moment``."""
    day = moment - moment % DAY
    hour = _WORK_HOURS.pick(rng)
    candidate = day + hour * 3_600 + rng.randrange(3_600)
    if candidate < moment:
        candidate += DAY
    while time.gmtime(candidate).tm_wday >= 5:
        candidate += DAY
    return candidate


def _end(rng: random.Random, status: str, start: float, span: float) -> float | None:
    if status == "in_progress":
        return None
    return start + (span if status == "completed" else span * rng.uniform(0.2, 0.8))


def generate_deployments(releases: list[Release], now: datetime) -> Iterator[CanonicalDeployment]:
    """The deployment records of every release, in deployment-number order."""
    for release in releases:
        for step in release.steps:
            yield _deployment(release, step, now)


def _deployment(release: Release, step: Step, now: datetime) -> CanonicalDeployment:
    number = step.number + 1
    return CanonicalDeployment(
        source_id=f"dep-{number:06d}",
        deployment_id=f"DEP-{number:06d}",
        application=release.app.key,
        version=release.version,
        ring=catalog.RINGS[step.ring],
        status=step.status,
        risk_score=release.risk,
        change_number=None if release.change is None else change_number(release.change),
        requested_by=release.requester.email,
        started_at=seconds_before(now, step.start_s),
        finished_at=None if step.end_s is None else seconds_before(now, step.end_s),
        target_count=step.target,
        success_count=step.success,
        failure_count=step.failure,
        correlation_id=release.correlation_id,
    )
