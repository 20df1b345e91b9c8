"""A started runtime beside a served ServiceNow fake, and an API client with tokens."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from pip_service.api.app import create_app
from pip_service.auth.roles import Role
from pip_service.connections.service import create_connection
from pip_service.db.session import transaction
from pip_service.runtime import Runtime
from tests.api.conftest import ADMIN_TOKEN, bearer, issue, make_settings
from tests.conftest import Database
from tests.connectors.servicenow.harness import Harness


@pytest.fixture(scope="module")
def servicenow() -> Iterator[Harness]:
    """The ServiceNow fake served over HTTP for the module."""
    harness = Harness()
    harness.start()
    yield harness
    harness.stop()


@dataclass
class Setup:
    """What a change-request test works with."""

    runtime: Runtime
    client: httpx.AsyncClient
    fake: Any
    connection_id: int
    operator: dict[str, str]
    viewer: dict[str, str]
    timeouts: dict[str, float]


@pytest.fixture
async def setup(db: Database, tmp_path: Path, servicenow: Harness) -> AsyncIterator[Setup]:
    """Runtime on the test database, one ServiceNow connection, operator and viewer tokens."""
    servicenow.fake.reset(12, relationships=5, changes=4)
    timeouts = {"read": 10.0}
    runtime = Runtime(
        make_settings(db.url, tmp_path),
        http_client_factory=lambda: httpx.AsyncClient(timeout=timeouts["read"]),
    )
    await runtime.start()
    async with transaction(runtime.sessions) as session:
        connection = await create_connection(
            session, name="snow", connector_type="servicenow", config=servicenow.config(),
            actor="test", keyring=runtime.keyring,
        )  # fmt: skip
    transport = httpx.ASGITransport(app=create_app(runtime))
    async with httpx.AsyncClient(transport=transport, base_url="http://pip.test") as client:
        yield Setup(
            runtime, client, servicenow.fake, connection.id,
            bearer(await issue(runtime, "deployer", Role.OPERATOR)),
            bearer(await issue(runtime, "auditor", Role.VIEWER)), timeouts,
        )  # fmt: skip
    await runtime.stop()


__all__ = ["ADMIN_TOKEN"]
