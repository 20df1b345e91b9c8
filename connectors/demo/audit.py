"""The demo audit trail: 90 days of events with a business-hours rhythm, tied to rollouts."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import NamedTuple

from connectors.base.canonical import CanonicalAuditEvent
from connectors.demo import catalog
from connectors.demo.people import DAY, Person, Roster
from connectors.demo.releases import Release, Step, change_number
from connectors.demo.sampling import Weighted, seconds_before

HISTORY_DAYS = 90
_TYPES = Weighted(catalog.AUDIT_TYPES)
_HOURS = Weighted(list(enumerate(catalog.HOUR_WEIGHTS)))


class _Event(NamedTuple):
    seconds_ago: int
    kind: str
    ref: int
    actor: int


class _Sources(NamedTuple):
    roster: Roster
    steps: list[tuple[Release, Step]]
    linked: list[Release]


def generate_audit_events(
    rng: random.Random, *, count: int, now: datetime, roster: Roster, releases: list[Release]
) -> Iterator[CanonicalAuditEvent]:
    """``count`` events, oldest first; deployment events fall on their deployments' times."""
    sources = _Sources(
        roster,
        [(release, step) for release in releases for step in release.steps],
        [release for release in releases if release.change is not None],
    )
    days = _day_weights(now)
    events = [_plan(rng, sources, days, now) for _ in range(count)]
    events.sort(key=lambda event: -event.seconds_ago)
    for number, event in enumerate(events):
        yield _record(number, event, sources, now)


def _day_weights(now: datetime) -> Weighted[int]:
    base = now.replace(hour=0, minute=0, second=0, microsecond=0)
    weights = []
    for day in range(1, HISTORY_DAYS + 1):
        weekend = (base - timedelta(days=day)).weekday() >= 5
        weights.append((day, catalog.WEEKEND_FACTOR if weekend else 1.0))
    return Weighted(weights)


def _plan(rng: random.Random, sources: _Sources, days: Weighted[int], now: datetime) -> _Event:
    kind = _TYPES.pick(rng)
    if kind == "deployment" and sources.steps:
        ref = rng.randrange(len(sources.steps))
        step = sources.steps[ref][1]
        finished = step.end_s is not None and rng.random() < 0.5
        moment = (step.end_s or 0) if finished else step.start_s + rng.randint(0, 600)
        return _Event(max(1, moment), "deployment_finished" if finished else kind, ref, -1)
    moment = _business_moment(rng, days, now)
    people = sources.roster.people
    if kind == "approval" and sources.linked and sources.roster.cab:
        cab = sources.roster.cab
        return _Event(moment, kind, rng.randrange(len(sources.linked)), rng.randrange(len(cab)))
    if kind == "policy_change":
        admins = sources.roster.admins
        actor = admins[rng.randrange(len(admins))].index if admins else 0
        return _Event(moment, kind, rng.randrange(len(catalog.POLICY_FILES)), actor)
    return _Event(
        moment, "user_action", rng.randrange(len(catalog.USER_ACTIONS)), rng.randrange(len(people))
    )


def _business_moment(rng: random.Random, days: Weighted[int], now: datetime) -> int:
    """Seconds before ``now`` of a moment drawn by day (weekends quieter) and hour of day."""
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    since_midnight = int((now - midnight).total_seconds())
    day, hour = days.pick(rng), _HOURS.pick(rng)
    return since_midnight + day * DAY - hour * 3_600 - rng.randrange(3_600)


def _record(number: int, event: _Event, sources: _Sources, now: datetime) -> CanonicalAuditEvent:
    actor, correlation, summary = _describe(event, sources)
    return CanonicalAuditEvent(
        source_id=f"evt-{number + 1:07d}",
        event_id=f"EVT-{number + 1:07d}",
        type="deployment" if event.kind == "deployment_finished" else event.kind,
        actor=actor,
        at=seconds_before(now, event.seconds_ago),
        correlation_id=correlation,
        summary=summary,
    )


def _describe(event: _Event, sources: _Sources) -> tuple[str, str | None, str]:
    people = sources.roster.people
    if event.kind.startswith("deployment"):
        release, step = sources.steps[event.ref]
        what = f"DEP-{step.number + 1:06d}: {release.app.name} {release.version}"
        ring = catalog.RINGS[step.ring]
        verb = f"finished ({step.status})" if event.kind == "deployment_finished" else "started"
        summary = f"Deployment {what} to {ring} {verb}"
        return release.requester.email, release.correlation_id, summary
    if event.kind == "approval":
        release = sources.linked[event.ref]
        approver: Person = sources.roster.cab[event.actor]
        number = change_number(release.change or 0)
        return approver.email, release.correlation_id, f"Reviewed change {number} for the CAB"
    if event.kind == "policy_change":
        return people[event.actor].email, None, f"Updated policy {catalog.POLICY_FILES[event.ref]}"
    return people[event.actor].email, None, catalog.USER_ACTIONS[event.ref]
