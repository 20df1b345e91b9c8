"""A mid-size demo dataset generated once per module, and a helper to collect streams."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import pytest

from connectors.base.canonical import CanonicalRecord
from connectors.base.stream import SyncContext
from connectors.demo import DemoConfig, DemoConnector

NOW = datetime(2026, 1, 6, tzinfo=UTC)
MID_SIZE: dict[str, Any] = {
    "users": 400,
    "devices": 5_000,
    "applications": 300,
    "deployments": 1_500,
    "changes": 120,
    "audit_events": 5_000,
    "now": NOW,
}
Dataset = dict[str, list[Any]]


async def collect(
    config: DemoConfig, started_at: datetime = NOW
) -> dict[str, list[CanonicalRecord]]:
    """Every stream's records, by stream name, as a sync starting at ``started_at`` sees them."""
    connector = DemoConnector(config)
    context = SyncContext(started_at=started_at)
    out: dict[str, list[CanonicalRecord]] = {}
    for stream in connector.get_streams():
        out[stream.name] = [r async for page in stream.pages(context) for r in page.records]
    return out


@pytest.fixture(scope="module")
def sample() -> Dataset:
    """The mid-size dataset (5,000 devices) for seed 42."""
    return asyncio.run(collect(DemoConfig(**MID_SIZE)))  # type: ignore[return-value]
