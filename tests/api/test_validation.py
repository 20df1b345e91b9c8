"""Bad input gets a 422 (or 409) problem naming the field, and writes nothing."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from pip_service.runtime import Runtime
from tests.api.conftest import ADMIN_TOKEN, bearer
from tests.api.helpers import PROBLEM, SMALL_DEMO, field_names, row_counts

ADMIN = bearer(ADMIN_TOKEN)
GOOD = {"name": "demo-a", "connector_type": "demo", "config": SMALL_DEMO}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({**GOOD, "interval_seconds": "often"}, "interval_seconds"),
        ({**GOOD, "enabled": {"yes": 1}}, "enabled"),
        ({**GOOD, "colour": "blue"}, "colour"),
        ({k: v for k, v in GOOD.items() if k != "name"}, "name"),
        ({**GOOD, "config": {**SMALL_DEMO, "devices": "many"}}, "config.devices"),
        ({**GOOD, "config": {**SMALL_DEMO, "favourite": 1}}, "config.favourite"),
        ({**GOOD, "connector_type": "no-such-type"}, "connector_type"),
        ({**GOOD, "interval_seconds": 1}, "interval_seconds"),
    ],
    ids=[
        "wrong-type",
        "object-for-bool",
        "unknown-field",
        "missing",
        "config-type",
        "config-unknown",
        "connector-type",
        "too-small",
    ],
)
async def test_bad_connection_is_422_naming_the_field(
    client: httpx.AsyncClient, runtime: Runtime, body: dict[str, Any], field: str
) -> None:
    before = await row_counts(runtime)
    response = await client.post("/api/v1/connections", json=body, headers=ADMIN)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == PROBLEM
    problem = response.json()
    assert {"type", "title", "status", "detail", "code", "errors"} <= problem.keys()
    assert field in field_names(problem)
    assert await row_counts(runtime) == before


async def test_malformed_json_is_422_and_writes_nothing(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    before = await row_counts(runtime)
    response = await client.post(
        "/api/v1/connections",
        content=b'{"name": "x", "connector_type": ',
        headers={**ADMIN, "Content-Type": "application/json"},
    )
    assert response.status_code == 422
    assert field_names(response.json()) == {"body"}
    assert await row_counts(runtime) == before


async def test_duplicate_name_is_409_and_writes_nothing(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    assert (await client.post("/api/v1/connections", json=GOOD, headers=ADMIN)).status_code == 201
    before = await row_counts(runtime)
    response = await client.post("/api/v1/connections", json=GOOD, headers=ADMIN)
    assert response.status_code == 409
    assert field_names(response.json()) == {"name"}
    assert await row_counts(runtime) == before


async def test_bad_update_writes_nothing(client: httpx.AsyncClient, runtime: Runtime) -> None:
    created = (await client.post("/api/v1/connections", json=GOOD, headers=ADMIN)).json()
    before = await row_counts(runtime)
    url = f"/api/v1/connections/{created['id']}"
    for body in ({"config": {"devices": -5}}, {"state": "exploded"}, {"nmae": "typo"}):
        response = await client.patch(url, json=body, headers=ADMIN)
        assert response.status_code == 422, response.text
    assert (await client.get(url, headers=ADMIN)).json()["config"] == created["config"]
    assert await row_counts(runtime) == before


@pytest.mark.parametrize(
    ("url", "field"),
    [
        ("/api/v1/sync-runs?limit=0", "limit"),
        ("/api/v1/sync-runs?limit=lots", "limit"),
        ("/api/v1/audit?cursor=-3", "cursor"),
        ("/api/v1/sync-runs?status=exploded", "status"),
        ("/api/v1/connections/abc", "connection_id"),
    ],
)
async def test_bad_query_and_path_values_name_the_field(
    client: httpx.AsyncClient, url: str, field: str
) -> None:
    response = await client.get(url, headers=ADMIN)
    assert response.status_code == 422
    assert field in field_names(response.json())


async def test_bad_token_request_writes_nothing(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    before = await row_counts(runtime)
    for body in (
        {"name": "x", "role": "superuser"},
        {"name": "", "role": "viewer"},
        {"role": "admin"},
    ):
        response = await client.post("/api/v1/tokens", json=body, headers=ADMIN)
        assert response.status_code == 422
    assert await row_counts(runtime) == before


async def test_unknown_route_and_method_are_problems(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v1/nothing-here", headers=ADMIN)
    assert response.status_code == 404
    assert response.headers["content-type"] == PROBLEM
    response = await client.put("/api/v1/connections", headers=ADMIN)
    assert response.status_code == 405
    assert response.json()["code"] == "method_not_allowed"
