"""A full flow: create a demo connection, trigger a sync, poll the run, see the documents."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from pip_service.runtime import Runtime
from tests.api.conftest import ADMIN_TOKEN, bearer
from tests.api.helpers import SMALL_DEMO, wait_for_run

ADMIN = bearer(ADMIN_TOKEN)


async def test_sync_through_the_api_builds_documents(
    client: httpx.AsyncClient, runtime: Runtime, tokens: dict[str, str]
) -> None:
    body = {"name": "demo-small", "connector_type": "demo", "config": SMALL_DEMO}
    created = await client.post("/api/v1/connections", json=body, headers=ADMIN)
    assert created.status_code == 201, created.text
    connection_id = created.json()["id"]

    started = await client.post(
        f"/api/v1/connections/{connection_id}/sync", headers=bearer(tokens["operator"])
    )
    assert started.status_code == 202, started.text
    run = await wait_for_run(client, started.json()["run_id"], ADMIN)
    assert run["status"] == "success", run
    assert run["fetched"] > 0
    assert run["created"] == run["fetched"]

    users = await _document_once_rebuilt(client, "identity/users")
    assert users["built"] and users["entity_count"] == SMALL_DEMO["users"]
    assert [source["name"] for source in users["sources"]] == ["demo-small"]
    assert users["stale"] is False

    served = await client.get("/opal/pip-data/identity/users", headers=bearer(tokens["opal"]))
    assert served.status_code == 200
    assert len(served.json()) == SMALL_DEMO["users"]
    assert served.headers["etag"] == users["etag"]

    runs = (await client.get(f"/api/v1/connections/{connection_id}/runs", headers=ADMIN)).json()
    assert [item["id"] for item in runs["items"]] == [run["id"]]
    audit = (await client.get("/api/v1/audit?action=sync.trigger", headers=ADMIN)).json()
    assert audit["items"][0]["actor"] == "ops-bot"

    metrics = await _metrics_once_observed(client, 'pip_sync_runs_total{connection="demo-small"')
    assert 'pip_sync_runs_total{connection="demo-small",status="success"} 1.0' in metrics
    assert 'pip_document_size_bytes{document="identity/users"}' in metrics
    assert 'pip_connection_state{connection="demo-small",state="active"} 1.0' in metrics


async def test_second_trigger_while_running_is_409(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    body = {"name": "demo-big", "connector_type": "demo",
            "config": {**SMALL_DEMO, "devices": 20000, "page_size": 100}}  # fmt: skip
    connection_id = (await client.post("/api/v1/connections", json=body, headers=ADMIN)).json()[
        "id"
    ]
    first = await client.post(f"/api/v1/connections/{connection_id}/sync", headers=ADMIN)
    assert first.status_code == 202
    second = await client.post(f"/api/v1/connections/{connection_id}/sync", headers=ADMIN)
    assert second.status_code == 409
    cancel = await client.post(f"/api/v1/connections/{connection_id}/sync/cancel", headers=ADMIN)
    assert cancel.json()["cancelled"] is True
    run = await wait_for_run(client, first.json()["run_id"], ADMIN)
    assert run["status"] == "cancelled"
    documents = (await client.get("/api/v1/documents/assets/devices", headers=ADMIN)).json()
    assert documents["entity_count"] == 0  # a cancelled run changes no document


async def test_pagination_follows_next_links(client: httpx.AsyncClient) -> None:
    for index in range(3):
        body = {"name": f"demo-{index}", "connector_type": "demo", "config": SMALL_DEMO}
        assert (
            await client.post("/api/v1/connections", json=body, headers=ADMIN)
        ).status_code == 201
    first = (await client.get("/api/v1/connections?limit=2", headers=ADMIN)).json()
    assert [c["name"] for c in first["items"]] == ["demo-2", "demo-1"]
    second = (await client.get(first["next"], headers=ADMIN)).json()
    assert [c["name"] for c in second["items"]] == ["demo-0"]
    assert second["next"] is None


async def _metrics_once_observed(client: httpx.AsyncClient, needle: str) -> str:
    """The metrics text, once ``needle`` shows (the run is observed just after it commits)."""
    for _ in range(1500):
        text = (await client.get("/metrics")).text
        if needle in text:
            return text
        await asyncio.sleep(0.02)
    return text


async def _document_once_rebuilt(client: httpx.AsyncClient, name: str) -> dict[str, Any]:
    """A document's info once it has entities (rebuilt just after the run commits)."""
    for _ in range(1500):
        documents = (await client.get("/api/v1/documents", headers=ADMIN)).json()
        info: dict[str, Any] = next(doc for doc in documents if doc["name"] == name)
        if info["entity_count"]:
            return info
        await asyncio.sleep(0.02)
    return info


async def test_a_full_sync_losing_most_devices_is_refused_unless_forced(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    body = {"name": "demo-guard", "connector_type": "demo", "config": SMALL_DEMO}
    connection_id = (await client.post("/api/v1/connections", json=body, headers=ADMIN)).json()[
        "id"
    ]
    sync_url = f"/api/v1/connections/{connection_id}/sync"
    first = await client.post(sync_url, params={"mode": "full"}, headers=ADMIN)
    assert (await wait_for_run(client, first.json()["run_id"], ADMIN))["status"] == "success"
    devices = SMALL_DEMO["devices"]
    shrunk = await client.patch(
        f"/api/v1/connections/{connection_id}", json={"config": {"devices": 3}}, headers=ADMIN
    )
    assert shrunk.status_code == 200, shrunk.text

    refused = await _trigger(client, sync_url, {"mode": "full"})
    run = await wait_for_run(client, refused.json()["run_id"], ADMIN)
    assert (run["status"], run["error_code"]) == ("failed", "mass_deletion_refused")
    assert f"did not see {devices - 3} of the {devices} stored records" in run["error"]
    document = (await client.get("/api/v1/documents/assets/devices", headers=ADMIN)).json()
    assert document["entity_count"] == devices

    forced = await _trigger(client, sync_url, {"mode": "full", "force": "true"})
    run = await wait_for_run(client, forced.json()["run_id"], ADMIN)
    assert run["status"] == "success" and run["deleted"] >= devices - 3


async def _trigger(client: httpx.AsyncClient, url: str, params: dict[str, str]) -> httpx.Response:
    """Trigger a sync once the previous one (and its document rebuild) has finished."""
    for _ in range(300):
        answer = await client.post(url, params=params, headers=ADMIN)
        if answer.status_code != 409:
            assert answer.status_code == 202, answer.text
            return answer
        await asyncio.sleep(0.1)
    raise AssertionError("the previous sync never finished")
