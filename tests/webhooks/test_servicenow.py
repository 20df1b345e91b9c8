"""ServiceNow signed webhooks end to end: a business rule's HMAC-signed event refreshes one CI."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from sqlalchemy import select

from connectors.base.webhooks import hmac_signature
from pip_service.api.app import create_app
from pip_service.connections.service import create_connection
from pip_service.db.session import transaction
from pip_service.records.models import Record
from pip_service.runtime import Runtime
from pip_service.webhooks.models import WebhookEventRow
from tests.api.conftest import make_settings
from tests.conftest import Database
from tests.fakes.server import FakeServer
from tests.fakes.servicenow import ServiceNowFake

SECRET = "servicenow-business-rule-secret-0001"


@dataclass
class SnSetup:
    """The runtime, an in-process client of its app, the connection and the fake."""

    runtime: Runtime
    http: httpx.AsyncClient
    connection_id: int
    fake: ServiceNowFake


@pytest.fixture(scope="module")
def servicenow() -> Iterator[ServiceNowFake]:
    """A ServiceNow instance fake served over HTTP for the module."""
    fake = ServiceNowFake()
    with FakeServer(fake.app) as server:
        fake.base_url = server.url  # type: ignore[attr-defined]
        yield fake


@pytest.fixture
async def setup(db: Database, tmp_path: Path, servicenow: ServiceNowFake) -> AsyncIterator[SnSetup]:
    """Five computers synced (no relationships or changes); the app served in process."""
    servicenow.reset(5)
    runtime = Runtime(make_settings(db.url, tmp_path))
    await runtime.start()
    config = {
        "instance_url": servicenow.base_url,  # type: ignore[attr-defined]
        "username": servicenow.username, "password": servicenow.password,
        "read_relationships": False, "read_changes": False, "webhook_secret": SECRET,
    }  # fmt: skip
    async with transaction(runtime.sessions) as session:
        connection = await create_connection(
            session, name="servicenow", connector_type="servicenow", config=config,
            actor="tests", keyring=runtime.keyring,
        )  # fmt: skip
        connection_id = connection.id
    result = await runtime.run_connection(connection_id, mode="full")
    assert result.status == "success", result.error
    transport = httpx.ASGITransport(app=create_app(runtime))
    async with httpx.AsyncClient(transport=transport, base_url="http://pip.test") as http:
        yield SnSetup(runtime, http, connection_id, servicenow)
    await runtime.stop()


def ci(fake: ServiceNowFake, index: int = 1) -> dict[str, Any]:
    """The ``index``-th computer row of the fake."""
    return fake.rows()[index]


async def send(
    setup: SnSetup, body: dict[str, Any], *, secret: str = SECRET, at: datetime | None = None
) -> httpx.Response:
    """POST ``body`` signed like the business rule signs it."""
    raw = orjson.dumps(body)
    stamp = str(int((at or datetime.now(UTC)).timestamp()))
    headers = {
        "Content-Type": "application/json", "X-Timestamp": stamp,
        "X-Signature": hmac_signature(secret, stamp, raw),
    }  # fmt: skip
    return await setup.http.post(f"/webhooks/{setup.connection_id}", content=raw, headers=headers)


def updated(sys_id: str, event_id: str = "sn-evt-1") -> dict[str, Any]:
    """The business rule's event: this CI was updated (no record: the PIP reads it)."""
    return {"id": event_id, "stream": "computers", "source_id": sys_id, "action": "upsert"}


async def device(setup: SnSetup, name: str) -> dict[str, Any]:
    """The devices document entry of the CI called ``name``."""
    data = (await setup.runtime.documents.get("assets/devices")).data()
    found = [
        v for v in data.values() if isinstance(v, dict) and f'"{name}"' in orjson.dumps(v).decode()
    ]
    assert len(found) == 1, data
    entry: dict[str, Any] = found[0]
    return entry


async def snapshot(setup: SnSetup) -> tuple[Any, ...]:
    """Every record's hash and every document revision."""
    async with setup.runtime.sessions() as session:
        records = sorted(
            (r.external_id, r.content_hash) for r in await session.scalars(select(Record))
        )
    return records, [(i.name, i.revision) for i in await setup.runtime.documents.list()]


async def test_a_signed_ci_update_refreshes_that_ci(setup: SnSetup) -> None:
    row = ci(setup.fake)
    assert (await device(setup, row["name"]))["os_version"] != "99.1-webhook"
    setup.fake.touch([row["sys_id"]], os_version="99.1-webhook")
    answer = await send(setup, updated(row["sys_id"]))
    assert answer.status_code == 200
    assert answer.json() == {"accepted": 1, "duplicates": 0}
    await setup.runtime.webhooks.wait_idle()
    assert (await device(setup, row["name"]))["os_version"] == "99.1-webhook"
    async with setup.runtime.sessions() as session:
        [logged] = list(await session.scalars(select(WebhookEventRow)))
    assert (logged.status, logged.provider, logged.event_id) == (
        "applied",
        "servicenow",
        "sn-evt-1",
    )


async def test_a_signed_delete_removes_the_ci(setup: SnSetup) -> None:
    row = ci(setup.fake, 2)
    setup.fake.delete([row["sys_id"]])
    body = {**updated(row["sys_id"]), "action": "delete"}
    assert (await send(setup, body)).status_code == 200
    await setup.runtime.webhooks.wait_idle()
    data = (await setup.runtime.documents.get("assets/devices")).data()
    assert f'"{row["name"]}"' not in orjson.dumps(data).decode()


async def test_bad_signatures_and_old_timestamps_are_401_and_change_nothing(
    setup: SnSetup,
) -> None:
    row = ci(setup.fake)
    setup.fake.touch([row["sys_id"]], os_version="99.2-forged")
    before = await snapshot(setup)
    forged = await send(setup, updated(row["sys_id"], "e-forged"), secret="not-the-secret")
    old = await send(
        setup, updated(row["sys_id"], "e-old"), at=datetime.now(UTC) - timedelta(hours=1)
    )
    stamp = str(int(datetime.now(UTC).timestamp()))
    unsigned = await setup.http.post(
        f"/webhooks/{setup.connection_id}",
        content=orjson.dumps(updated(row["sys_id"], "e-none")),
        headers={"X-Timestamp": stamp, "X-Signature": "sha256=00"},
    )
    assert [a.status_code for a in (forged, old, unsigned)] == [401, 401, 401]
    assert all(SECRET not in a.text for a in (forged, old, unsigned))
    await setup.runtime.webhooks.wait_idle()
    assert await snapshot(setup) == before
    assert (await device(setup, row["name"]))["os_version"] != "99.2-forged"
