"""The demo enterprise as a whole: the small shared facts every stream draws from.

Each stream has a random generator of its own (seeded by the seed and the stream
name), so one stream's draws never shift another's. What streams must agree on
(who the users are, which apps and versions exist, which rollouts happened and
which changes approved them) is built here once per reference time and shared.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from connectors.demo import catalog, organisation
from connectors.demo.applications import AppInfo, build_catalogue
from connectors.demo.changes import ChangeContext
from connectors.demo.config import DemoConfig
from connectors.demo.devices import ring_sizes
from connectors.demo.people import CAB_SUBGROUPS, Roster, build_roster
from connectors.demo.releases import Release, build_releases
from connectors.demo.sampling import allocate, shuffled_labels, stream_rng


@dataclass
class DemoWorld:
    """Users, the app catalogue, the rollouts and the CAB decisions of one scenario."""

    config: DemoConfig
    now: datetime
    roster: Roster
    apps: list[AppInfo]
    releases: list[Release]
    outcomes: list[str]

    def change_context(self) -> ChangeContext:
        """What the changes stream needs: the CAB, requesters and each change's release."""
        links = {r.change: r for r in self.releases if r.change is not None}
        roster = self.roster
        return ChangeContext(self.now, roster.cab, roster.requesters, self.outcomes, links)


def build_world(config: DemoConfig, now: datetime) -> DemoWorld:
    """The shared facts of the scenario ``config`` describes, laid out around ``now``."""
    roster = build_roster(stream_rng(config.seed, "users"), config.users, config.domain)
    apps = build_catalogue(stream_rng(config.seed, "applications"), config.applications)
    outcome_rng = stream_rng(config.seed, "change-outcomes")
    labels = [name for name, _ in catalog.CHANGE_OUTCOMES]
    shares = [share for _, share in catalog.CHANGE_OUTCOMES]
    outcomes = shuffled_labels(outcome_rng, labels, allocate(config.changes, shares))
    releases = build_releases(
        stream_rng(config.seed, "releases"),
        count=config.deployments,
        apps=apps,
        requesters=roster.requesters or roster.people,
        rings=ring_sizes(config.devices),
        approved_changes=[i for i, outcome in enumerate(outcomes) if outcome == "approved"],
        now=now,
    )
    return DemoWorld(config, now, roster, apps, releases, outcomes)


def stream_counts(config: DemoConfig) -> dict[str, int]:
    """How many records each stream yields for ``config`` (for progress bars and checks)."""
    groups = len(organisation.ROLE_GROUPS) + len(organisation.DEPARTMENTS) + 1 + len(CAB_SUBGROUPS)
    return {
        "users": config.users,
        "groups": groups,
        "devices": config.devices,
        "applications": config.applications,
        "deployments": config.deployments,
        "changes": config.changes,
        "audit_events": config.audit_events,
    }
