"""Fixtures for the OPAL endpoint tests: a started runtime whose clock the test moves."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from pydantic import SecretStr

from connectors.base.types import Sensitivity
from pip_service.api.app import create_app
from pip_service.config import Settings
from pip_service.db.session import transaction
from pip_service.documents import snapshots
from pip_service.documents.doccache import meta_key
from pip_service.documents.serialize import EncodedBody, encode
from pip_service.documents.service import DocumentService
from pip_service.runtime import Runtime
from pip_service.secrets.crypto import generate_key
from tests.conftest import Database

ADMIN_TOKEN = "pip_admin-token-for-opal-tests-000000001"
OPAL_TOKEN = "pip_opal-read-token-for-opal-tests-00001"
SECOND_OPAL_TOKEN = "opal-client-jwt-stand-in-for-tests-0002"


@dataclass
class Clock:
    """A clock the test sets; the document service reads it."""

    now: datetime

    def __call__(self) -> datetime:
        return self.now


def make_settings(database_url: str, data_dir: Path, **overrides: Any) -> Settings:
    """Settings of a test runtime: no scheduler, no Redis, known tokens."""
    values: dict[str, Any] = {
        "database_url": database_url,
        "redis_url": None,
        "data_dir": data_dir,
        "public_url": "http://pip.test:8000",
        "bootstrap_admin_token": SecretStr(ADMIN_TOKEN),
        "opal_tokens": SecretStr(f"{OPAL_TOKEN},{SECOND_OPAL_TOKEN}"),
        "encryption_keys": SecretStr(f"test1:{generate_key()}"),
        "scheduler_enabled": False,
        "log_json": False,
        **overrides,
    }
    return Settings(**values)


@pytest.fixture
def clock() -> Clock:
    """Now (whole seconds), until the test moves it."""
    return Clock(datetime.now(UTC).replace(microsecond=0))


@pytest.fixture
async def runtime(db: Database, tmp_path: Path, clock: Clock) -> AsyncIterator[Runtime]:
    """A started runtime on the test database (SQLite and PostgreSQL) with a settable clock."""
    rt = Runtime(make_settings(db.url, tmp_path))
    await rt.start()
    rt.documents = DocumentService(rt.sessions, rt.cache, rt.settings, clock=clock)
    yield rt
    await rt.stop()


def _client(app: FastAPI) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://pip.test")


@pytest.fixture
async def client(runtime: Runtime) -> AsyncIterator[httpx.AsyncClient]:
    """An anonymous client of the app as served (OPAL reads take the fast path)."""
    async with _client(create_app(runtime)) as http:
        yield http


@pytest.fixture(params=["fast-path", "route"])
async def any_client(
    runtime: Runtime, request: pytest.FixtureRequest
) -> AsyncIterator[httpx.AsyncClient]:
    """The app as served, then without the fast path (every request takes the route)."""
    app = create_app(runtime)
    if request.param == "route":
        app.opal_fast_path = None  # nothing in front of FastAPI
        del app.build_middleware_stack  # FastAPI's own again
    async with _client(app) as http:
        yield http


async def store_document(
    runtime: Runtime,
    name: str,
    body: dict[str, Any],
    *,
    sensitivity: Sensitivity = Sensitivity.INTERNAL,
    refreshed_at: datetime,
) -> EncodedBody:
    """Save a built document version the way the builder does; returns its encoded form."""
    encoded = encode(body)
    version = snapshots.NewVersion(encoded, len(body), sensitivity, inputs_hash=encoded.etag)
    async with transaction(runtime.sessions) as session:
        await snapshots.store_version(
            session, name, version, (), refreshed_at, refreshed_at - timedelta(seconds=1)
        )
    await runtime.cache.delete(meta_key(name))  # as the builder does: readers see the new version
    return encoded


def bearer(token: str) -> dict[str, str]:
    """The Authorization header of a token."""
    return {"Authorization": f"Bearer {token}"}
