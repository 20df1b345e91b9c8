"""A source that throttles (429 + Retry-After) mid-run: the run waits, completes, loses nothing."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any, ClassVar

import httpx
import pytest
from pydantic import BaseModel

from connectors.base import registry
from connectors.base.canonical import CanonicalDevice
from connectors.base.connector import Connector
from connectors.base.http import RetryPolicy, SourceClient
from connectors.base.stream import Page, Stream, SyncContext
from connectors.base.types import Category
from pip_service.connections.service import create_connection
from pip_service.secrets.crypto import KeyRing
from tests.conftest import Database
from tests.sync.conftest import Sync
from tests.sync.helpers import live

TOTAL, PAGE = 25, 5


class ThrottledConfig(BaseModel):
    """No settings: the transport is injected."""


class ThrottledStream(Stream):
    """Offset-paged devices read through the real SourceClient."""

    name = "devices"
    record_model = CanonicalDevice

    async def pages(self, context: SyncContext) -> AsyncIterator[Page]:
        """Pages of ``/devices?offset=N``."""
        assert self.connector.http_client is not None
        client = SourceClient(
            self.connector.http_client,
            source="throttled",
            policy=RetryPolicy(initial_backoff=0.01, jitter=0.0),
        )
        for offset in range(0, TOTAL, PAGE):
            body = (await client.get_json("/devices", params={"offset": offset})).body
            yield Page(records=[CanonicalDevice(source_id=i, hostname=i) for i in body["ids"]])


class ThrottledConnector(Connector[ThrottledConfig]):
    """Registered as ``throttled`` for this test."""

    slug = "throttled"
    title = "Throttled"
    category = Category.CMDB
    config_model = ThrottledConfig
    streams: ClassVar[tuple[type[Stream], ...]] = (ThrottledStream,)


def _handler(seen: list[int]) -> Any:
    def handle(request: httpx.Request) -> httpx.Response:
        offset = int(request.url.params["offset"])
        seen.append(offset)
        if offset == 10 and seen.count(10) == 1:
            return httpx.Response(429, headers={"Retry-After": "0"}, json={"error": "slow down"})
        ids = [f"dev-{i}" for i in range(offset, min(offset + PAGE, TOTAL))]
        return httpx.Response(200, json={"ids": ids})

    return handle


async def test_rate_limited_page_is_retried_and_no_record_is_lost(
    db: Database, keyring: KeyRing, sync: Sync, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(registry, "get_connector_class", lambda slug: ThrottledConnector)
    async with db.sessions.begin() as session:
        conn = await create_connection(
            session, name="throttled", connector_type="throttled", config={},
            actor="test", keyring=keyring,
        )  # fmt: skip
    seen: list[int] = []
    transport = httpx.MockTransport(_handler(seen))

    async with httpx.AsyncClient(transport=transport, base_url="https://src.test") as client:
        result = await sync(conn.id, http_client=client)

    assert (result.status, result.fetched, result.created) == ("success", TOTAL, TOTAL)
    assert seen == [0, 5, 10, 10, 15, 20]
    assert await live(db, conn.id) == {f"dev-{i}" for i in range(TOTAL)}
