"""Change requests that went to the CAB: approvals, evidence packs, windows, links to rollouts."""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from connectors.base.canonical import Approval, CanonicalChange
from connectors.demo import catalog
from connectors.demo.people import DAY, Person
from connectors.demo.releases import Release, change_number
from connectors.demo.sampling import seconds_before, seeded_uuid

HOUR = 3_600
QUORUM = {"moderate": 2, "high": 3, "very_high": 4}
_STATE = {"pending": "authorize", "denied": "canceled"}
_APPROVAL = {"approved": "approved", "pending": "requested", "denied": "rejected"}


@dataclass
class ChangeContext:
    """What every change draws from: the CAB, the requesters and the linked releases."""

    now: datetime
    cab: list[Person]
    requesters: list[Person]
    outcomes: list[str]
    links: dict[int, Release]


def generate_changes(rng: random.Random, context: ChangeContext) -> Iterator[CanonicalChange]:
    """One change per outcome; approvers rotate through the CAB members."""
    rotation = 0
    for index, outcome in enumerate(context.outcomes):
        change = _change(rng, index, outcome, context, rotation)
        rotation += len(change.approvals)
        yield change


def _change(
    rng: random.Random, index: int, outcome: str, context: ChangeContext, rotation: int
) -> CanonicalChange:
    release = context.links.get(index)
    risk_score = release.risk if release else rng.randint(51, 100)
    risk = _risk_band(risk_score)
    requester = release.requester if release else rng.choice(context.requesters)
    start, end = _window(rng, outcome, release, context.now)
    emergency = rng.random() < 0.06
    approvers = _approvers(context.cab, rotation, QUORUM[risk], requester)
    number = change_number(index)
    return CanonicalChange(
        source_id=f"chg-{index + 1:05d}",
        number=number,
        title=_title(rng, release),
        state=_state(outcome, start, end, context.now),
        type="emergency" if emergency else "normal",
        risk=risk,
        risk_score=risk_score,
        impact={"moderate": "medium", "high": "high", "very_high": "high"}[risk],
        approval=_APPROVAL[outcome],
        cab_required=True,
        planned_start=start,
        planned_end=end,
        assignment_group=_assignment_group(release),
        requested_by=requester.email,
        approvals=_approvals(rng, outcome, approvers, start, context.now),
        evidence=_evidence(rng, number, outcome, emergency),
        post_hoc_review=(rng.random() < 0.8) if emergency else None,
        correlation_id=release.correlation_id if release else seeded_uuid(rng),
    )


def _risk_band(score: int) -> str:
    if score > 85:
        return "very_high"
    return "high" if score > 70 else "moderate"


def _window(
    rng: random.Random, outcome: str, release: Release | None, now: datetime
) -> tuple[datetime, datetime]:
    """Linked changes cover their release; the others lie around the reference time."""
    if release is not None:
        first, last = release.steps[0], release.steps[-1]
        start = seconds_before(now, first.start_s + rng.uniform(1, 24) * HOUR)
        if last.end_s is None:
            return start, now + timedelta(days=rng.randint(3, 14))
        return start, seconds_before(now, last.end_s - rng.uniform(2, 24) * HOUR)
    offset_days = rng.uniform(1, 21) if outcome == "pending" else rng.uniform(-30, 14)
    start = now + timedelta(seconds=int(offset_days * DAY))
    return start, start + timedelta(seconds=int(rng.uniform(2, 8) * HOUR))


def _state(outcome: str, start: datetime, end: datetime, now: datetime) -> str:
    if outcome != "approved":
        return _STATE[outcome]
    if end < now:
        return "closed"
    return "implement" if start <= now else "scheduled"


def _title(rng: random.Random, release: Release | None) -> str:
    if release is None:
        return rng.choice(catalog.STANDALONE_CHANGES)
    rings = f"{catalog.RINGS[0]} to {catalog.RINGS[release.steps[-1].ring]}"
    return f"Roll out {release.app.name} {release.version} ({rings})"


def _assignment_group(release: Release | None) -> str:
    if release is None or release.app.standard:
        return "dept-it-ops"
    return "dept-development"


def _approvers(cab: list[Person], rotation: int, quorum: int, requester: Person) -> list[Person]:
    """The next ``quorum`` CAB members in turn, never the requester (separation of duties)."""
    others = [member for member in cab if member.email != requester.email]
    if not others:
        return []
    return [others[(rotation + offset) % len(others)] for offset in range(min(quorum, len(others)))]


def _approvals(
    rng: random.Random, outcome: str, approvers: list[Person], start: datetime, now: datetime
) -> list[Approval]:
    decided_by = min(start, now)
    decisions = _decisions(rng, outcome, len(approvers))
    return [
        Approval(
            approver=person.email,
            state=state,
            at=None if state == "requested" else _before(rng, decided_by),
            group=person.cab_group,
        )
        for person, state in zip(approvers, decisions, strict=True)
    ]


def _before(rng: random.Random, moment: datetime) -> datetime:
    return seconds_before(moment, rng.uniform(1, 72) * HOUR)


def _decisions(rng: random.Random, outcome: str, count: int) -> list[str]:
    if outcome == "approved" or count == 0:
        return ["approved"] * count
    if outcome == "denied":
        rejected = rng.randrange(count)
        return ["rejected" if i == rejected else "approved" for i in range(count)]
    granted = rng.randrange(count)
    return ["approved"] * granted + ["requested"] * (count - granted)


def _evidence(rng: random.Random, number: str, outcome: str, emergency: bool) -> dict[str, object]:
    """Evidence pack metadata; approved normal changes always carry a complete pack."""
    missing_share = {"approved": 0.0, "pending": 0.4, "denied": 0.6}[outcome]
    if emergency:
        missing_share = max(missing_share, 0.3)
    items = {item: "complete" for item in catalog.EVIDENCE_ITEMS}
    if rng.random() < missing_share:
        for item in rng.sample(catalog.EVIDENCE_ITEMS, rng.randint(1, 3)):
            items[item] = "missing"
    missing = sorted(item for item, status in items.items() if status == "missing")
    return {"pack_id": f"EVP-{number}", "complete": not missing, "items": items, "missing": missing}
