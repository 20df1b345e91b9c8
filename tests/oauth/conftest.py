"""Fixtures of the OAuth tests: the real OpenID provider, a runtime, admins and their browsers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy import select

from pip_service.api.app import create_app
from pip_service.auth.roles import Role
from pip_service.auth.service import create_token
from pip_service.config import Settings
from pip_service.db.session import transaction
from pip_service.oauth.models import OAuthToken
from pip_service.runtime import Runtime
from pip_service.secrets.crypto import generate_key
from tests.conftest import Database
from tests.oauth.connector import install
from tests.rigs.oidc_provider import REDIRECT_URI, Browser, OidcProvider, oidc_provider

__all__ = ["oidc_provider"]

ADMIN_TOKEN = "pip_bootstrap-admin-token-for-oauth-tests"
USERINFO = "/me"


@pytest.fixture(autouse=True)
def userinfo_connector(monkeypatch: pytest.MonkeyPatch) -> None:
    """Register the userinfo test connector."""
    install(monkeypatch)


def oauth_settings(database_url: str, data_dir: Path, keys: str | None = None) -> Settings:
    """A test runtime's settings with the rig's exact redirect URI."""
    return Settings(
        database_url=database_url, redis_url=None, data_dir=data_dir,
        bootstrap_admin_token=SecretStr(ADMIN_TOKEN),
        encryption_keys=SecretStr(keys or f"test1:{generate_key()}"),
        scheduler_enabled=False, log_json=False, public_url="http://pip.test",
    )  # fmt: skip


@pytest.fixture
async def runtime(db: Database, tmp_path: Path) -> AsyncIterator[Runtime]:
    """A started runtime (SQLite and PostgreSQL)."""
    rt = Runtime(oauth_settings(db.url, tmp_path))
    await rt.start()
    yield rt
    await rt.stop()


@dataclass
class Admin:
    """An admin's API client (with its own cookie jar) and bearer header."""

    http: httpx.AsyncClient
    headers: dict[str, str]


@pytest.fixture
async def admins(runtime: Runtime) -> AsyncIterator[dict[str, Admin]]:
    """Two admins, ``alice`` (bootstrap token) and ``bob`` (a stored token), each a browser."""
    async with transaction(runtime.sessions) as session:
        bob = (await create_token(session, name="bob", role=Role.ADMIN, actor="tests")).plaintext
    app = create_app(runtime)
    clients = [httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://pip.test")
               for _ in range(2)]  # fmt: skip
    yield {
        "alice": Admin(clients[0], {"Authorization": f"Bearer {ADMIN_TOKEN}"}),
        "bob": Admin(clients[1], {"Authorization": f"Bearer {bob}"}),
    }
    for client in clients:
        await client.aclose()


@pytest.fixture
async def browser(oidc_provider: OidcProvider) -> AsyncIterator[Browser]:
    """The admin's browser at the provider."""
    driver = Browser(oidc_provider)
    yield driver
    await driver.aclose()


async def new_connection(admin: Admin, provider: OidcProvider, name: str = "idp") -> int:
    """A userinfo connection with the provider's client configured; its id."""
    created = await admin.http.post(
        "/api/v1/connections", headers=admin.headers,
        json={"name": name, "connector_type": "oidc_userinfo",
              "config": {"userinfo_url": f"{provider.issuer}{USERINFO}"}},
    )  # fmt: skip
    assert created.status_code == 201, created.text
    connection_id = int(created.json()["id"])
    client = await admin.http.put(
        f"/api/v1/connections/{connection_id}/oauth/client", headers=admin.headers,
        json={"provider": "generic_oidc", "client_id": provider.client_id,
              "client_secret": provider.client_secret,
              "params": {"discovery_url": provider.discovery_url},
              "scopes": ["openid", "offline_access", "directory.read"]},
    )  # fmt: skip
    assert client.status_code == 200, client.text
    return connection_id


async def start_flow(admin: Admin, connection_id: int) -> str:
    """The provider URL the authorize endpoint redirects to."""
    response = await admin.http.get(
        f"/api/v1/connections/{connection_id}/oauth/authorize", headers=admin.headers
    )
    assert response.status_code == 302, response.text
    return str(response.headers["Location"])


async def finish(admin: Admin, callback_url: str) -> httpx.Response:
    """The browser arriving at the PIP's callback (no bearer token, only its cookies)."""
    assert callback_url.startswith(REDIRECT_URI)
    return await admin.http.get(callback_url)


async def connect(admin: Admin, browser: Browser, connection_id: int) -> httpx.Response:
    """The whole flow: authorize, sign in and consent at the provider, callback."""
    return await finish(admin, await browser.authorize(await start_flow(admin, connection_id)))


async def token_rows(runtime: Runtime) -> list[OAuthToken]:
    """Every stored token row."""
    async with runtime.sessions() as session:
        return list(await session.scalars(select(OAuthToken)))


def outcome(response: httpx.Response) -> str:
    """The named outcome of a result page."""
    return str(response.headers.get("X-OAuth-Outcome"))


def as_dict(response: httpx.Response) -> dict[str, Any]:
    """A JSON body."""
    body: dict[str, Any] = response.json()
    return body
