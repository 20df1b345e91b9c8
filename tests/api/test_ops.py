"""Ops endpoints: liveness, readiness (DB and cache), metrics, correlation ids."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from pip_service.api.app import create_app
from pip_service.db.session import create_engine
from pip_service.runtime import Runtime
from tests.api.conftest import ADMIN_TOKEN, OPAL_TOKEN, bearer, make_settings
from tests.api.helpers import PROBLEM


async def test_healthz_and_readyz_answer(client: httpx.AsyncClient) -> None:
    assert (await client.get("/healthz")).json() == {"status": "ok", "checks": {}}
    ready = await client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["checks"] == {"database": "ok", "cache": "ok"}


@pytest.fixture
async def dead_redis_client(sqlite_db: object, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    """An app whose Redis URL points at a port where nothing listens."""
    url = sqlite_db.url
    settings = make_settings(url, tmp_path).model_copy(
        update={"redis_url": "redis://127.0.0.1:1/0"}
    )
    runtime = Runtime(settings)
    await runtime.start()
    transport = httpx.ASGITransport(app=create_app(runtime))
    async with httpx.AsyncClient(transport=transport, base_url="http://pip.test") as http:
        yield http
    await runtime.stop()


async def test_readyz_is_503_problem_when_the_cache_is_down(
    dead_redis_client: httpx.AsyncClient,
) -> None:
    response = await dead_redis_client.get("/readyz")
    assert response.status_code == 503
    assert response.headers["content-type"] == PROBLEM
    assert {e["field"] for e in response.json()["errors"]} == {"cache"}


async def test_readyz_is_503_when_the_database_is_down(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    working = runtime.engine
    runtime.engine = create_engine("postgresql+asyncpg://postgres@127.0.0.1:1/nowhere")
    try:
        response = await client.get("/readyz")
    finally:
        await runtime.engine.dispose()
        runtime.engine = working
    assert response.status_code == 503
    assert "database" in response.json()["detail"]


async def test_correlation_id_is_echoed_or_made(client: httpx.AsyncClient) -> None:
    given = await client.get("/healthz", headers={"X-Correlation-ID": "req-abc.123"})
    assert given.headers["x-correlation-id"] == "req-abc.123"
    made = await client.get("/healthz", headers={"X-Correlation-ID": "bad id\twith spaces"})
    assert len(made.headers["x-correlation-id"]) == 32
    assert (
        made.headers["x-correlation-id"]
        != (await client.get("/healthz")).headers["x-correlation-id"]
    )


async def test_metrics_time_requests_by_route_template(client: httpx.AsyncClient) -> None:
    for run_id in (1, 2, 3):
        await client.get(f"/api/v1/sync-runs/{run_id}", headers=bearer(ADMIN_TOKEN))
    text = (await client.get("/metrics")).text
    line = (
        'pip_http_request_duration_seconds_count{method="GET",route="/api/v1/sync-runs/{run_id}",'
        'status="404"} 3.0'
    )
    assert line in text
    assert "/api/v1/sync-runs/1" not in text


async def test_metrics_count_cache_hits(client: httpx.AsyncClient) -> None:
    for _ in range(3):
        served = await client.get("/opal/pip-data/assets/devices", headers=bearer(OPAL_TOKEN))
        assert served.status_code == 200
    text = (await client.get("/metrics")).text
    hits = [line for line in text.splitlines() if line.startswith("pip_cache_requests_total")]
    assert any('result="hit"' in line and not line.endswith(" 0.0") for line in hits), hits
