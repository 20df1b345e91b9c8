"""Microsoft Graph change notifications end to end: the PIP served on a port, the Graph fake
subscribing to it (validationToken), notifications, clientState, lifecycle events, renewal."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from sqlalchemy import select

from pip_service.api.app import create_app
from pip_service.connections.service import create_connection
from pip_service.db.session import transaction
from pip_service.records.models import Record
from pip_service.runtime import Runtime
from pip_service.sync.models import SyncRun
from pip_service.webhooks.models import WebhookEventRow
from pip_service.webhooks.subscriptions import keep_subscriptions
from tests.api.conftest import make_settings
from tests.conftest import Database
from tests.fakes.graph import GraphFake
from tests.fakes.graph_data import object_id
from tests.fakes.server import FakeServer

CLIENT_STATE = "graph-client-state-0123456789abcdef"
USER = object_id("users", 4)
EMAIL = "user000004@contoso.com"
MAX_LIFETIME = timedelta(minutes=41_760)


class _InLoopServer(uvicorn.Server):
    """uvicorn in the test's event loop (the runtime's loop), without signal handlers."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        """Leave pytest's signal handlers alone."""
        yield


@dataclass
class GraphSetup:
    """The runtime, the PIP's public URL, the Entra connection and the Graph fake."""

    runtime: Runtime
    url: str
    connection_id: int
    graph: GraphFake


@pytest.fixture(scope="module")
def graph() -> Iterator[GraphFake]:
    """A Graph tenant fake served over HTTP for the module."""
    fake = GraphFake()
    with FakeServer(fake.app) as server:
        fake.base_url = server.url
        yield fake


@contextlib.asynccontextmanager
async def serve_pip(runtime: Runtime, sock: socket.socket) -> AsyncIterator[None]:
    """The PIP app on ``sock``, served by uvicorn in this event loop."""
    config = uvicorn.Config(
        create_app(runtime), lifespan="off", ws="none", access_log=False, log_level="warning"
    )
    server = _InLoopServer(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:
        await asyncio.sleep(0.01)
    try:
        yield
    finally:
        server.should_exit = True
        await task


async def add_entra(runtime: Runtime, graph: GraphFake) -> int:
    """The Entra ID connection with the client state, synced in full."""
    config = {
        "tenant_id": graph.tenant_id, "client_id": graph.client_id,
        "client_secret": graph.identity.client_secret, "authority_url": graph.base_url,
        "graph_url": graph.base_url, "webhook_client_state": CLIENT_STATE,
    }  # fmt: skip
    async with transaction(runtime.sessions) as session:
        connection = await create_connection(
            session, name="entra", connector_type="entra_id", config=config, actor="tests",
            keyring=runtime.keyring,
        )  # fmt: skip
        connection_id = connection.id
    result = await runtime.run_connection(connection_id, mode="full")
    assert result.status == "success", result.error
    return connection_id


@pytest.fixture
async def setup(db: Database, tmp_path: Path, graph: GraphFake) -> AsyncIterator[GraphSetup]:
    """Ten users and two groups synced; the PIP listening on a port Graph can call."""
    graph.reset(users=10, groups=2)
    graph.offset = 0.0
    graph.subscriptions.items.clear()
    graph.subscriptions.validations.clear()
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    settings = make_settings(db.url, tmp_path).model_copy(update={"public_url": url})
    runtime = Runtime(settings)
    await runtime.start()
    try:
        async with serve_pip(runtime, sock):
            yield GraphSetup(runtime, url, await add_entra(runtime, graph), graph)
    finally:
        graph.offset = 0.0
        await runtime.stop()


async def subscribed(setup: GraphSetup, now: datetime | None = None) -> list[Any]:
    """Run the renewal job once; this connection's subscription states."""
    results = await keep_subscriptions(setup.runtime, now=now)
    states: list[Any] = results[setup.connection_id]
    return states


async def user(setup: GraphSetup) -> dict[str, Any]:
    """User 4 in the users document."""
    data = (await setup.runtime.documents.get("identity/users")).data()
    found: dict[str, Any] = data[EMAIL]
    return found


async def records(setup: GraphSetup) -> list[tuple[str, str]]:
    """Every record's id and content hash."""
    async with setup.runtime.sessions() as session:
        rows = await session.scalars(select(Record))
        return sorted((r.external_id, r.content_hash) for r in rows)


async def event_rows(setup: GraphSetup) -> list[WebhookEventRow]:
    """The webhook event log, oldest first."""
    async with setup.runtime.sessions() as session:
        return list(await session.scalars(select(WebhookEventRow).order_by(WebhookEventRow.id)))


def disable_user(graph: GraphFake) -> None:
    """An admin disables user 4 in Entra ID."""
    graph.directory.objects["users"][USER]["accountEnabled"] = False
    graph.directory.touch("users", [USER])


async def test_validation_token_is_echoed_as_plain_text(setup: GraphSetup) -> None:
    async with httpx.AsyncClient() as http:
        answer = await http.post(
            f"{setup.url}/webhooks/{setup.connection_id}",
            params={"validationToken": "Validation: Testing client application reachability"},
            headers={"Content-Type": "text/plain"},
        )
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain")
    assert answer.text == "Validation: Testing client application reachability"


async def test_a_user_disabled_in_entra_is_disabled_by_its_notification(setup: GraphSetup) -> None:
    await subscribed(setup)
    assert (await user(setup))["enabled"] is True
    disable_user(setup.graph)
    answer = await setup.graph.subscriptions.notification("users", USER).send()
    assert answer.status_code == 202
    await setup.runtime.webhooks.wait_idle()
    assert (await user(setup))["enabled"] is False
    [row] = await event_rows(setup)
    assert (row.status, row.provider, row.verified) == ("applied", "graph", True)
    assert row.object_refs == {"action": "upsert", "stream": "users", "source_id": USER}


async def test_a_deleted_user_leaves_the_document(setup: GraphSetup) -> None:
    await subscribed(setup)
    setup.graph.directory.delete("users", USER)
    answer = await setup.graph.subscriptions.notification("users", USER, "deleted").send()
    assert answer.status_code == 202
    await setup.runtime.webhooks.wait_idle()
    data = (await setup.runtime.documents.get("identity/users")).data()
    assert EMAIL not in data


async def test_a_wrong_client_state_changes_nothing(setup: GraphSetup) -> None:
    await subscribed(setup)
    disable_user(setup.graph)
    before = await records(setup)
    delivery = setup.graph.subscriptions.notification("users", USER)
    delivery.body["value"][0]["clientState"] = "guessed-client-state"
    answer = await delivery.send()
    assert answer.status_code == 401
    assert CLIENT_STATE not in answer.text and "guessed-client-state" not in answer.text
    await setup.runtime.webhooks.wait_idle()
    assert await records(setup) == before
    assert (await user(setup))["enabled"] is True
    assert [(r.status, r.verified, r.event_id) for r in await event_rows(setup)] == [
        ("rejected", False, None)
    ]


async def test_missed_notifications_trigger_a_sync_that_reads_the_change(
    setup: GraphSetup,
) -> None:
    await subscribed(setup)
    disable_user(setup.graph)  # the notification of this change was lost
    answer = await setup.graph.subscriptions.lifecycle("users", "missed").send()
    assert answer.status_code == 202
    await setup.runtime.webhooks.wait_idle()
    run = await last_run(setup)
    assert (run.mode, run.status) == ("incremental", "success")
    await eventually_disabled(setup)


async def eventually_disabled(setup: GraphSetup) -> None:
    """Wait for the documents rebuilt after the sync to show user 4 disabled."""
    for _ in range(1500):
        if (await user(setup))["enabled"] is False:
            return
        await asyncio.sleep(0.02)
    raise AssertionError("the sync's documents never showed the user disabled")


async def last_run(setup: GraphSetup) -> SyncRun:
    """The newest sync run, once it has finished."""
    for _ in range(1500):
        async with setup.runtime.sessions() as session:
            run = await session.scalar(select(SyncRun).order_by(SyncRun.id.desc()).limit(1))
        if run is not None and run.status != "running":
            return run
        await asyncio.sleep(0.02)
    raise AssertionError("the sync did not finish")


async def test_subscriptions_are_created_validated_and_renewed_before_expiry(
    setup: GraphSetup,
) -> None:
    hook = f"{setup.url}/webhooks/{setup.connection_id}"
    now = datetime.now(UTC)
    created = await subscribed(setup, now)
    assert sorted((s.resource, s.action) for s in created) == [
        ("groups", "created"), ("users", "created")
    ]  # fmt: skip
    assert setup.graph.subscriptions.validations == [hook, hook]  # Graph called the PIP
    items = list(setup.graph.subscriptions.items.values())
    assert {(i["notificationUrl"], i["clientState"]) for i in items} == {(hook, CLIENT_STATE)}
    first = {i["id"]: i["expirationDateTime"] for i in items}
    assert all(s.expires <= now + MAX_LIFETIME for s in created)
    assert [s.action for s in await subscribed(setup, now)] == ["kept", "kept"]
    later = now + timedelta(days=27)  # two days before they would expire
    setup.graph.offset = (later - now).total_seconds()
    renewed = await subscribed(setup, later)
    assert [s.action for s in renewed] == ["renewed", "renewed"]
    after = {i["id"]: i["expirationDateTime"] for i in setup.graph.subscriptions.items.values()}
    assert after.keys() == first.keys()
    assert all(after[sid] > first[sid] for sid in first)


async def test_a_removed_subscription_is_recreated(setup: GraphSetup) -> None:
    await subscribed(setup)
    users_sub = next(
        sid for sid, s in setup.graph.subscriptions.items.items() if s["resource"] == "users"
    )
    del setup.graph.subscriptions.items[users_sub]  # Graph removed it
    states = await subscribed(setup)
    assert sorted((s.resource, s.action) for s in states) == [
        ("groups", "kept"), ("users", "created")
    ]  # fmt: skip
    assert len(setup.graph.subscriptions.items) == 2


async def test_reauthorization_required_renews_the_subscription(setup: GraphSetup) -> None:
    await subscribed(setup)
    sub = next(s for s in setup.graph.subscriptions.items.values() if s["resource"] == "users")
    sub["expirationDateTime"] = (datetime.now(UTC) + timedelta(minutes=30)).strftime(
        "%Y-%m-%dT%H:%M:%SZ"
    )
    answer = await setup.graph.subscriptions.lifecycle("users", "reauthorizationRequired").send()
    assert answer.status_code == 202
    await setup.runtime.webhooks.wait_idle()
    renewed = datetime.fromisoformat(sub["expirationDateTime"].replace("Z", "+00:00"))
    assert renewed > datetime.now(UTC) + timedelta(days=28)
    async with setup.runtime.sessions() as session:  # renewing is enough: no sync
        assert len(list(await session.scalars(select(SyncRun)))) == 1


async def test_an_unreachable_pip_gets_no_subscription(setup: GraphSetup) -> None:
    setup.graph.subscriptions.refuse_validation = True
    try:
        assert await keep_subscriptions(setup.runtime) == {}
    finally:
        setup.graph.subscriptions.refuse_validation = False
    assert setup.graph.subscriptions.items == {}
