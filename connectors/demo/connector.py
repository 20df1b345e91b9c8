"""The demo connector: a whole enterprise generated from a seed, synced like any source."""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from typing import ClassVar

import httpx
from pydantic import BaseModel

from connectors.base.connector import ConnectionTestResult, Connector
from connectors.base.stream import Stream
from connectors.base.types import Category
from connectors.demo.config import DemoConfig
from connectors.demo.streams import DEMO_STREAMS
from connectors.demo.world import DemoWorld, build_world


class DemoConnector(Connector[DemoConfig]):
    """Realistic enterprise data (seed plan 000, section 2.2); every record is demo data."""

    slug: ClassVar[str] = "demo"
    title: ClassVar[str] = "Demo data"
    category: ClassVar[Category] = Category.DEMO
    config_model: ClassVar[type[BaseModel]] = DemoConfig
    streams: ClassVar[tuple[type[Stream], ...]] = DEMO_STREAMS
    default_interval: ClassVar[timedelta] = timedelta(hours=24)
    is_demo: ClassVar[bool] = True

    def __init__(self, config: DemoConfig, *, http_client: httpx.AsyncClient | None = None) -> None:
        super().__init__(config, http_client=http_client)
        self._worlds: dict[datetime, DemoWorld] = {}

    def world(self, now: datetime) -> DemoWorld:
        """The scenario laid out around ``now``, built once and shared by the streams."""
        if now not in self._worlds:
            self._worlds = {now: build_world(self.config, now)}
        return self._worlds[now]

    async def test_connection(self) -> ConnectionTestResult:
        """Always reachable: the data is generated here, from the configuration."""
        began = time.perf_counter()
        config = self.config
        message = (
            f"Demo data is generated locally (seed {config.seed}: {config.users} users, "
            f"{config.devices} devices); there is nothing to connect to"
        )
        return ConnectionTestResult(
            ok=True,
            message=message,
            checked=["config"],
            latency_ms=round((time.perf_counter() - began) * 1000, 2),
        )
