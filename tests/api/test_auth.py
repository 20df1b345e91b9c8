"""Authentication and roles on the admin API: 401, 403, and nothing written when refused."""

from __future__ import annotations

import httpx
import pytest

from pip_service.runtime import Runtime
from tests.api.conftest import ADMIN_TOKEN, OPAL_TOKEN, bearer
from tests.api.helpers import PROBLEM, row_counts

DEMO_CONNECTION = {"name": "demo-small", "connector_type": "demo", "config": {"users": 10}}


@pytest.mark.parametrize(
    "headers",
    [{}, bearer("pip_not-a-real-token-0000000000000000"), {"Authorization": "Basic abc"}],
    ids=["missing", "unknown", "not-bearer"],
)
async def test_missing_or_unknown_token_is_401_problem(
    client: httpx.AsyncClient, runtime: Runtime, headers: dict[str, str]
) -> None:
    before = await row_counts(runtime)
    response = await client.post("/api/v1/connections", json=DEMO_CONNECTION, headers=headers)
    assert response.status_code == 401
    assert response.headers["content-type"] == PROBLEM
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert response.json()["code"] == "unauthenticated"
    assert await row_counts(runtime) == before


async def test_viewer_cannot_change_anything(
    client: httpx.AsyncClient, runtime: Runtime, tokens: dict[str, str]
) -> None:
    before = await row_counts(runtime)
    viewer = bearer(tokens["viewer"])
    attempts = [
        client.post("/api/v1/connections", json=DEMO_CONNECTION, headers=viewer),
        client.post("/api/v1/tokens", json={"name": "x", "role": "admin"}, headers=viewer),
        client.post("/api/v1/connections/1/sync", headers=viewer),
        client.delete("/api/v1/tokens/1", headers=viewer),
    ]
    for attempt in attempts:
        response = await attempt
        assert response.status_code == 403, response.text
        assert response.json()["code"] == "forbidden"
    assert await row_counts(runtime) == before
    assert (await client.get("/api/v1/connections", headers=viewer)).status_code == 200


async def test_operator_may_sync_but_not_configure(
    client: httpx.AsyncClient, runtime: Runtime, tokens: dict[str, str]
) -> None:
    before = await row_counts(runtime)
    operator = bearer(tokens["operator"])
    response = await client.post("/api/v1/connections", json=DEMO_CONNECTION, headers=operator)
    assert response.status_code == 403
    assert await row_counts(runtime) == before
    response = await client.post("/api/v1/connections/999/sync", headers=operator)
    assert response.status_code == 404  # allowed to try: the connection just does not exist


async def test_opal_tokens_cannot_use_admin_api_and_admin_cannot_read_opal(
    client: httpx.AsyncClient, tokens: dict[str, str]
) -> None:
    for token in (OPAL_TOKEN, tokens["opal"]):
        response = await client.get("/api/v1/connections", headers=bearer(token))
        assert response.status_code == 401
    response = await client.get("/opal/pip-data/identity/users", headers=bearer(ADMIN_TOKEN))
    assert response.status_code == 401
    response = await client.get("/opal/pip-data/identity/users", headers=bearer(tokens["opal"]))
    assert response.status_code == 200


async def test_revoked_token_stops_working(
    client: httpx.AsyncClient, tokens: dict[str, str]
) -> None:
    admin = bearer(ADMIN_TOKEN)
    listed = (await client.get("/api/v1/tokens", headers=admin)).json()["items"]
    viewer_id = next(item["id"] for item in listed if item["name"] == "auditor")
    assert (await client.get("/api/v1/audit", headers=bearer(tokens["viewer"]))).status_code == 200
    response = await client.delete(f"/api/v1/tokens/{viewer_id}", headers=admin)
    assert response.status_code == 200
    assert response.json()["revoked_at"] is not None
    assert (await client.get("/api/v1/audit", headers=bearer(tokens["viewer"]))).status_code == 401


async def test_created_token_is_shown_once_and_works(client: httpx.AsyncClient) -> None:
    admin = bearer(ADMIN_TOKEN)
    response = await client.post(
        "/api/v1/tokens", json={"name": "ci-bot", "role": "operator"}, headers=admin
    )
    assert response.status_code == 201
    token = response.json()["token"]
    assert token.startswith("pip_")
    listed = (await client.get("/api/v1/tokens", headers=admin)).text
    assert token not in listed
    assert (await client.get("/api/v1/sync-runs", headers=bearer(token))).status_code == 200
    events = (await client.get("/api/v1/audit?action=token.create", headers=admin)).json()
    assert any(e["actor"] == "bootstrap-admin" for e in events["items"])
