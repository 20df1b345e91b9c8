"""An in-memory device source with programmable pages and failures, and its connector.

``FakeSource`` is the "remote system": devices with a logical clock (``version``)
bumped by every change, deletions remembered with their version. The connector
``memory`` reads it: a full run pages through every device by id; an incremental
run returns what changed (and what was deleted) after the saved cursor's version.
The cursor is the version the source was at when the run started, so a change
made while the run goes is read again next time.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any, ClassVar

import pytest
from pydantic import BaseModel, ConfigDict, Field, SecretStr

from connectors.base import registry
from connectors.base.canonical import CanonicalDevice, CanonicalUser
from connectors.base.connector import Connector
from connectors.base.stream import Page, Stream, SyncContext
from connectors.base.types import Category

SOURCES: dict[str, FakeSource] = {}


@dataclass
class FakeSource:
    """Devices by id, a logical clock, and knobs to make pages fail or crawl."""

    name: str
    devices: dict[str, dict[str, Any]] = field(default_factory=dict)
    changed_at: dict[str, int] = field(default_factory=dict)
    deleted_at: dict[str, int] = field(default_factory=dict)
    version: int = 0
    fail_on_page: int | None = None
    failure: BaseException | None = None
    page_delay: float = 0.0
    pages_served: int = 0
    requests: list[tuple[str, dict[str, Any] | None]] = field(default_factory=list)

    def put(self, source_id: str, **fields: Any) -> None:
        """Add or change a device."""
        self.version += 1
        self.devices[source_id] = {"serial_number": f"SN-{source_id}", **fields}
        self.changed_at[source_id] = self.version
        self.deleted_at.pop(source_id, None)

    def delete(self, source_id: str) -> None:
        """Delete a device."""
        self.version += 1
        self.devices.pop(source_id)
        self.changed_at.pop(source_id)
        self.deleted_at[source_id] = self.version

    def fill(self, count: int, **fields: Any) -> None:
        """Add ``count`` devices with ids d00000, d00001..."""
        for index in range(count):
            self.put(f"d{index:05d}", hostname=f"host-{index}", **fields)

    def fail(self, page: int, error: BaseException) -> None:
        """Make the ``page``-th page (1-based, counted per run) raise ``error``."""
        self.fail_on_page, self.failure = page, error

    def heal(self) -> None:
        """Stop failing."""
        self.fail_on_page = self.failure = None


class MemoryConfig(BaseModel):
    """Config of the memory connector: which FakeSource, and a secret to keep safe."""

    model_config = ConfigDict(extra="forbid")

    source: str = Field(description="Name of the FakeSource to read")
    api_token: SecretStr = Field(description="Pretend credential")
    page_size: int = Field(default=10, ge=1, le=5000)
    region: str | None = None


class DeviceStream(Stream):
    """Devices of the FakeSource, paged by id, incremental by version."""

    name = "devices"
    primary_key = "id"
    replication_key = "version"
    record_model = CanonicalDevice

    async def pages(self, context: SyncContext) -> AsyncIterator[Page]:
        """Pages of the source's devices for this run."""
        source, size = self.connector.source, self.connector.config.page_size
        source.requests.append((context.mode, context.cursor))
        started_version = source.version
        since = (context.cursor or {}).get("version", 0) if context.mode == "incremental" else 0
        ids = sorted(i for i, v in source.changed_at.items() if v > since)
        removed = sorted(i for i, v in source.deleted_at.items() if v > since) if since else []
        chunks = [ids[i : i + size] for i in range(0, len(ids), size)] or [[]]
        for number, chunk in enumerate(chunks, 1):
            await self._serve(source, number)
            last = number == len(chunks)
            yield Page(
                records=[_device(i, source.devices[i]) for i in chunk],
                removed=removed if last else [],
                cursor={"version": started_version} if last else None,
            )

    async def _serve(self, source: FakeSource, number: int) -> None:
        source.pages_served += 1
        if source.page_delay:
            await asyncio.sleep(source.page_delay)
        if source.fail_on_page == number and source.failure is not None:
            raise source.failure


class UserStream(Stream):
    """A fixed user per device owner: a second entity kind, full sync only."""

    name = "users"
    record_model = CanonicalUser

    async def pages(self, context: SyncContext) -> AsyncIterator[Page]:
        """One page of the owners of the source's devices."""
        owners = sorted(
            {d["owner"] for d in self.connector.source.devices.values() if "owner" in d}
        )
        yield Page(records=[CanonicalUser(source_id=o, email=o) for o in owners])


class MemoryConnector(Connector[MemoryConfig]):
    """Reads a FakeSource; registered as ``memory`` by the ``memory_connector`` fixture."""

    slug = "memory"
    title = "In-memory devices"
    category = Category.CMDB
    config_model = MemoryConfig
    streams: ClassVar[tuple[type[Stream], ...]] = (DeviceStream,)

    @property
    def source(self) -> FakeSource:
        """The FakeSource this connection reads."""
        return SOURCES[self.config.source]


class MemoryWithUsersConnector(MemoryConnector):
    """Devices and their owners: two streams, the second full-sync only."""

    slug = "memory_users"
    streams: ClassVar[tuple[type[Stream], ...]] = (DeviceStream, UserStream)


TEST_CONNECTORS: dict[str, type[Connector[Any]]] = {
    c.slug: c for c in (MemoryConnector, MemoryWithUsersConnector)
}


def _device(source_id: str, fields: dict[str, Any]) -> CanonicalDevice:
    return CanonicalDevice(source_id=source_id, **fields)


def install(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make the registry also know the test connectors."""
    real = registry.get_connector_class

    def lookup(slug: str) -> type[Connector[Any]]:
        return TEST_CONNECTORS[slug] if slug in TEST_CONNECTORS else real(slug)

    monkeypatch.setattr(registry, "get_connector_class", lookup)


def install_globally() -> None:
    """``install`` for a subprocess (no monkeypatch fixture there)."""
    real = registry.get_connector_class
    registry.get_connector_class = lambda slug: TEST_CONNECTORS.get(slug) or real(slug)  # type: ignore[assignment]


@pytest.fixture
def fake_source() -> Iterator[FakeSource]:
    """A fresh FakeSource named for the test."""
    source = FakeSource(name=f"src-{len(SOURCES)}-{id(object())}")
    SOURCES[source.name] = source
    yield source
    SOURCES.pop(source.name, None)
