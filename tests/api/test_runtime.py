"""Runtime wiring: the scheduler follows connection changes; PostgreSQL must be migrated."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, text

from pip_service.api.app import create_app
from pip_service.errors import ConfigError
from pip_service.runtime import Runtime
from tests.api.conftest import ADMIN_TOKEN, bearer, make_settings
from tests.api.helpers import SMALL_DEMO
from tests.conftest import PG_ADMIN_URL, Database

ADMIN = bearer(ADMIN_TOKEN)


async def test_scheduler_follows_connections_created_and_deleted(
    sqlite_db: Database, tmp_path: Path
) -> None:
    settings = make_settings(sqlite_db.url, tmp_path).model_copy(update={"scheduler_enabled": True})
    runtime = Runtime(settings)
    await runtime.start()
    try:
        transport = httpx.ASGITransport(app=create_app(runtime))
        async with httpx.AsyncClient(transport=transport, base_url="http://pip.test") as client:
            body = {"name": "hq", "connector_type": "demo", "config": SMALL_DEMO,
                    "interval_seconds": 600}  # fmt: skip
            created = (await client.post("/api/v1/connections", json=body, headers=ADMIN)).json()
            assert runtime.scheduler is not None
            jobs = runtime.scheduler.scheduled()
            assert created["id"] in jobs
            assert jobs[created["id"]].trigger.interval.total_seconds() == 600
            url = f"/api/v1/connections/{created['id']}"
            await client.patch(url, json={"state": "paused"}, headers=ADMIN)
            assert created["id"] not in runtime.scheduler.scheduled()
            await client.patch(url, json={"state": "active"}, headers=ADMIN)
            assert created["id"] in runtime.scheduler.scheduled()
            await client.delete(url, headers=ADMIN)
            assert runtime.scheduler.scheduled() == {}
    finally:
        await runtime.stop()
    assert runtime.scheduler is None


@pytest.fixture
def empty_pg_url() -> Iterator[str]:
    """A PostgreSQL database that was never migrated."""
    name = f"pip_unmigrated_{uuid.uuid4().hex[:8]}"
    admin = create_engine(
        PG_ADMIN_URL.replace("postgresql://", "postgresql+psycopg://"), isolation_level="AUTOCOMMIT"
    )
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield (
        PG_ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://")
        + "/"
        + name
    )
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


async def test_unmigrated_postgres_fails_start_with_a_clear_message(
    empty_pg_url: str, tmp_path: Path
) -> None:
    runtime = Runtime(make_settings(empty_pg_url, tmp_path))
    with pytest.raises(ConfigError, match="run `pip-service migrate` first"):
        await runtime.start()
    await runtime.engine.dispose()
