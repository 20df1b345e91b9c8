"""The demo connector's streams: each turns the shared scenario into pages of canonical records."""

from __future__ import annotations

import asyncio
import random
from abc import abstractmethod
from collections.abc import AsyncIterator, Iterable, Iterator
from itertools import islice
from typing import TYPE_CHECKING, ClassVar, cast

from connectors.base.canonical import (
    CanonicalApplication,
    CanonicalAuditEvent,
    CanonicalChange,
    CanonicalDeployment,
    CanonicalDevice,
    CanonicalGroup,
    CanonicalRecord,
    CanonicalUser,
)
from connectors.base.stream import Page, Stream, SyncContext
from connectors.demo.applications import generate_applications
from connectors.demo.audit import generate_audit_events
from connectors.demo.changes import generate_changes
from connectors.demo.devices import generate_devices
from connectors.demo.people import group_records, user_record
from connectors.demo.releases import generate_deployments
from connectors.demo.sampling import stream_rng
from connectors.demo.world import DemoWorld

if TYPE_CHECKING:
    from connectors.demo.connector import DemoConnector


class DemoStream(Stream):
    """A generated stream: full sync only, no cursor, pages of ``page_size`` records."""

    primary_key: ClassVar[str] = "source_id"
    replication_key: ClassVar[str | None] = None

    async def pages(self, context: SyncContext) -> AsyncIterator[Page]:
        """Pages of the stream's records for the reference time of this run."""
        connector = cast("DemoConnector", self.connector)
        world = connector.world(connector.config.reference_time(context.started_at))
        records = self.records(world, stream_rng(connector.config.seed, self.name))
        for batch in _batches(records, connector.config.page_size):
            yield Page(records=batch)
            await asyncio.sleep(0)

    @abstractmethod
    def records(self, world: DemoWorld, rng: random.Random) -> Iterable[CanonicalRecord]:
        """The stream's records, generated lazily from the scenario and the stream's generator."""


def _batches(records: Iterable[CanonicalRecord], size: int) -> Iterator[list[CanonicalRecord]]:
    iterator = iter(records)
    while batch := list(islice(iterator, size)):
        yield batch


class UsersStream(DemoStream):
    """Users with roles (through groups), departments, managers and sign-ins."""

    name = "users"
    path = "demo://users"
    record_model = CanonicalUser

    def records(self, world: DemoWorld, rng: random.Random) -> Iterable[CanonicalRecord]:
        """One record per person on the roster."""
        return (user_record(person, world.now) for person in world.roster.people)


class GroupsStream(DemoStream):
    """Role groups, department groups and the nested CAB."""

    name = "groups"
    path = "demo://groups"
    record_model = CanonicalGroup

    def records(self, world: DemoWorld, rng: random.Random) -> Iterable[CanonicalRecord]:
        """The groups of the roster."""
        return group_records(world.roster)


class DevicesStream(DemoStream):
    """The fleet: laptops, desktops, VMs, mobiles and servers across 20 sites."""

    name = "devices"
    path = "demo://devices"
    record_model = CanonicalDevice

    def records(self, world: DemoWorld, rng: random.Random) -> Iterable[CanonicalRecord]:
        """``devices`` device records."""
        config = world.config
        return generate_devices(
            rng, count=config.devices, seed=config.seed, roster=world.roster, now=world.now
        )


class ApplicationsStream(DemoStream):
    """Standard and line-of-business applications with versions and vulnerabilities."""

    name = "applications"
    path = "demo://applications"
    record_model = CanonicalApplication

    def records(self, world: DemoWorld, rng: random.Random) -> Iterable[CanonicalRecord]:
        """One record per application of the catalogue."""
        return generate_applications(rng, world.apps)


class DeploymentsStream(DemoStream):
    """Deployments of application versions to rings, with per-ring telemetry."""

    name = "deployments"
    path = "demo://deployments"
    record_model = CanonicalDeployment

    def records(self, world: DemoWorld, rng: random.Random) -> Iterable[CanonicalRecord]:
        """Every deployment of every release."""
        return generate_deployments(world.releases, world.now)


class ChangesStream(DemoStream):
    """Change requests decided by the CAB."""

    name = "changes"
    path = "demo://changes"
    record_model = CanonicalChange

    def records(self, world: DemoWorld, rng: random.Random) -> Iterable[CanonicalRecord]:
        """``changes`` change records."""
        return generate_changes(rng, world.change_context())


class AuditEventsStream(DemoStream):
    """Ninety days of audit events."""

    name = "audit_events"
    path = "demo://audit_events"
    record_model = CanonicalAuditEvent

    def records(self, world: DemoWorld, rng: random.Random) -> Iterable[CanonicalRecord]:
        """``audit_events`` events, oldest first."""
        return generate_audit_events(
            rng,
            count=world.config.audit_events,
            now=world.now,
            roster=world.roster,
            releases=world.releases,
        )


DEMO_STREAMS: tuple[type[Stream], ...] = (
    UsersStream,
    GroupsStream,
    DevicesStream,
    ApplicationsStream,
    DeploymentsStream,
    ChangesStream,
    AuditEventsStream,
)
