"""Fixtures: a started runtime (SQLite and PostgreSQL), the Okta fake, an Okta connection."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from pip_service.api.app import create_app
from pip_service.connections.service import create_connection
from pip_service.db.session import transaction
from pip_service.runtime import Runtime
from tests.api.conftest import make_settings
from tests.conftest import Database
from tests.fakes.okta import OktaFake
from tests.fakes.server import FakeServer

HOOK_SECRET = "okta-event-hook-secret-0123456789"


@pytest.fixture(scope="module")
def okta() -> Iterator[OktaFake]:
    """An Okta org fake served over HTTP for the module."""
    fake = OktaFake()
    with FakeServer(fake.app) as server:
        fake.base_url = server.url
        yield fake


@dataclass
class Setup:
    """The runtime, an HTTP client of its app, and the Okta connection id."""

    runtime: Runtime
    http: httpx.AsyncClient
    connection_id: int
    okta: OktaFake


async def add_okta(runtime: Runtime, okta: OktaFake, **extra: Any) -> int:
    """Create the Okta connection (with the event hook secret) and sync it."""
    config = {"org_url": okta.base_url, "api_token": okta.api_token, "webhook_secret": HOOK_SECRET}
    async with transaction(runtime.sessions) as session:
        connection = await create_connection(
            session, name="okta", connector_type="okta", config={**config, **extra},
            actor="tests", keyring=runtime.keyring,
        )  # fmt: skip
        connection_id = connection.id
    result = await runtime.run_connection(connection_id, mode="full")
    assert result.status == "success", result.error
    return connection_id


@pytest.fixture
async def setup(db: Database, tmp_path: Path, okta: OktaFake) -> AsyncIterator[Setup]:
    """Ten Okta users and two groups, synced; the app served in process."""
    okta.reset(users=10, groups=2)
    runtime = Runtime(make_settings(db.url, tmp_path))
    await runtime.start()
    connection_id = await add_okta(runtime, okta)
    transport = httpx.ASGITransport(app=create_app(runtime))
    async with httpx.AsyncClient(transport=transport, base_url="http://pip.test") as http:
        yield Setup(runtime, http, connection_id, okta)
    await runtime.stop()
