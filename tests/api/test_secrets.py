"""Connection secrets are write-only: never in a response, a log line or a problem body."""

from __future__ import annotations

import base64
import logging
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from pip_service.api.app import create_app
from pip_service.runtime import Runtime
from tests.api.conftest import ADMIN_TOKEN, bearer, make_settings
from tests.conftest import Database

ADMIN = bearer(ADMIN_TOKEN)
SECRET = "Hunter2-very-secret-S3rviceNow"
NEW_SECRET = "Swordfish-rotated-secret-0042"


def leaky_source(request: httpx.Request) -> httpx.Response:
    """A source that refuses the credentials and echoes the password it got in its error."""
    encoded = request.headers.get("authorization", "Basic ").removeprefix("Basic ")
    password = base64.b64decode(encoded).decode().partition(":")[2]
    message = f"User not authenticated (password {password!r} is wrong)"
    return httpx.Response(401, json={"error": {"message": message}}, request=request)


@pytest.fixture
async def leaky_client(db: Database, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    """A client of an app whose connectors talk to ``leaky_source``."""
    runtime = Runtime(
        make_settings(db.url, tmp_path),
        http_client_factory=lambda: httpx.AsyncClient(transport=httpx.MockTransport(leaky_source)),
    )
    await runtime.start()
    transport = httpx.ASGITransport(app=create_app(runtime))
    async with httpx.AsyncClient(transport=transport, base_url="http://pip.test") as http:
        yield http
    await runtime.stop()


async def test_secret_never_leaves_the_service(
    leaky_client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    config = {
        "instance_url": "https://acme.service-now.com", "username": "pip", "password": SECRET,
    }  # fmt: skip
    body = {"name": "cmdb", "connector_type": "servicenow", "config": config}
    created = await leaky_client.post("/api/v1/connections", json=body, headers=ADMIN)
    assert created.status_code == 201, created.text
    assert created.json()["secret_fields"] == ["password"]
    url = f"/api/v1/connections/{created.json()['id']}"
    responses = [
        created,
        await leaky_client.get(url, headers=ADMIN),
        await leaky_client.get("/api/v1/connections", headers=ADMIN),
        await leaky_client.post(f"{url}/test", headers=ADMIN),
        await leaky_client.get(f"{url}/discover", headers=ADMIN),
        await leaky_client.patch(url, json={"config": {"password": NEW_SECRET}}, headers=ADMIN),
        await leaky_client.patch(url, json={"config": {"password": 12345}}, headers=ADMIN),
        await leaky_client.post(f"{url}/test", headers=ADMIN),
        await leaky_client.get("/api/v1/audit", headers=ADMIN),
    ]
    sync = await leaky_client.post(f"{url}/sync", headers=ADMIN)
    responses.append(sync)
    run = await _finished(leaky_client, sync.json()["run_id"])
    responses += [run, await leaky_client.get(f"{url}/runs", headers=ADMIN)]
    assert responses[3].json()["ok"] is False  # the test reports the refusal...
    assert run.json()["status"] == "failed"  # ...and so does the sync
    for response in responses:
        assert SECRET not in response.text, response.request.url
        assert NEW_SECRET not in response.text, response.request.url
    assert SECRET not in caplog.text
    assert NEW_SECRET not in caplog.text


async def _finished(client: httpx.AsyncClient, run_id: int) -> httpx.Response:
    from tests.api.helpers import wait_for_run

    await wait_for_run(client, run_id, ADMIN)
    return await client.get(f"/api/v1/sync-runs/{run_id}", headers=ADMIN)
