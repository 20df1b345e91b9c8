"""Fixtures of the demo seeding tests: keys, locks, and a small real (non-demo) source."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, ClassVar

import pytest
from pydantic import BaseModel, ConfigDict

from connectors.base import registry
from connectors.base.canonical import CanonicalDevice
from connectors.base.connector import Connector
from connectors.base.stream import Page, Stream, SyncContext
from connectors.base.types import Category
from pip_service.secrets.crypto import KeyRing, generate_key
from pip_service.sync.locks import FileLocks, PostgresLocks, SyncLocks
from tests.conftest import Database


class InventoryConfig(BaseModel):
    """How many devices the inventory holds."""

    model_config = ConfigDict(extra="forbid")

    devices: int = 25


class InventoryDevices(Stream):
    """A fixed list of real (non-demo) devices."""

    name = "devices"
    record_model = CanonicalDevice

    async def pages(self, context: SyncContext) -> AsyncIterator[Page]:
        count = self.connector.config.devices
        yield Page([CanonicalDevice(source_id=f"real-{i}", serial_number=f"REAL{i:04d}")
                    for i in range(count)])  # fmt: skip


class InventoryConnector(Connector[InventoryConfig]):
    """A minimal real CMDB: what ``clear_demo`` must never touch."""

    slug: ClassVar[str] = "inventory"
    title: ClassVar[str] = "Inventory"
    category: ClassVar[Category] = Category.CMDB
    config_model: ClassVar[type[BaseModel]] = InventoryConfig
    streams: ClassVar[tuple[type[Stream], ...]] = (InventoryDevices,)


@pytest.fixture(autouse=True)
def inventory_connector(monkeypatch: pytest.MonkeyPatch) -> None:
    """Let the registry find the ``inventory`` connector for this test."""
    real = registry.get_connector_class

    def lookup(slug: str) -> type[Connector[Any]]:
        return InventoryConnector if slug == "inventory" else real(slug)

    monkeypatch.setattr(registry, "get_connector_class", lookup)


@pytest.fixture
def keyring() -> KeyRing:
    """A ring with one fresh key."""
    return KeyRing.parse(f"test1:{generate_key()}")


@pytest.fixture
async def locks(db: Database, tmp_path: Path) -> AsyncIterator[SyncLocks]:
    """The lock backend production would use with this database."""
    backend: SyncLocks = (
        FileLocks(tmp_path / "locks") if db.backend == "sqlite" else PostgresLocks(db.url)
    )
    yield backend
    await backend.aclose()
