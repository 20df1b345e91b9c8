"""Fixtures for API tests: a started runtime on each database, the app and clients per role."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr

from pip_service.api.app import create_app
from pip_service.auth.roles import Role
from pip_service.auth.service import create_token
from pip_service.config import Settings
from pip_service.db.session import transaction
from pip_service.runtime import Runtime
from pip_service.secrets.crypto import generate_key
from tests.conftest import Database

ADMIN_TOKEN = "pip_bootstrap-admin-token-for-tests-0001"
OPAL_TOKEN = "pip_opal-env-token-for-tests-00000001"


def make_settings(database_url: str, data_dir: Path) -> Settings:
    """Settings for a test runtime: no scheduler, no Redis, known tokens."""
    return Settings(
        database_url=database_url,
        redis_url=None,
        data_dir=data_dir,
        bootstrap_admin_token=SecretStr(ADMIN_TOKEN),
        opal_tokens=SecretStr(OPAL_TOKEN),
        encryption_keys=SecretStr(f"test1:{generate_key()}"),
        scheduler_enabled=False,
        log_json=False,
    )


@pytest.fixture
async def runtime(db: Database, tmp_path: Path) -> AsyncIterator[Runtime]:
    """A started runtime on the test database (SQLite and PostgreSQL)."""
    rt = Runtime(make_settings(db.url, tmp_path))
    await rt.start()
    yield rt
    await rt.stop()


@pytest.fixture
async def client(runtime: Runtime) -> AsyncIterator[httpx.AsyncClient]:
    """An anonymous client of the app."""
    app = create_app(runtime)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://pip.test") as http:
        yield http


async def issue(runtime: Runtime, name: str, role: Role) -> str:
    """A stored token of ``role``; returns its plaintext."""
    async with transaction(runtime.sessions) as session:
        issued = await create_token(session, name=name, role=role, actor="tests")
    return issued.plaintext


def bearer(token: str) -> dict[str, str]:
    """The Authorization header for a token."""
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
async def tokens(runtime: Runtime) -> dict[str, str]:
    """Plaintext tokens by role: admin (bootstrap), operator, viewer, opal."""
    return {
        "admin": ADMIN_TOKEN,
        "operator": await issue(runtime, "ops-bot", Role.OPERATOR),
        "viewer": await issue(runtime, "auditor", Role.VIEWER),
        "opal": await issue(runtime, "opal-client", Role.OPAL),
    }
