"""Jira through OAuth 2.0 (3LO): the gateway's ex/jira path, the cloud id, the atlassian preset."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from connectors.base.errors import ConfigError, SourceAuthError
from connectors.base.registry import parse_config
from connectors.base.stream import SyncContext
from connectors.base.testing import RecordingSleep, now, read_stream
from connectors.jira import JiraConnector
from pip_service.oauth.implementations import AuthlibImplementation, ClientSettings
from pip_service.oauth.presets import get_preset
from tests.connectors.jira_service_management.harness import Harness
from tests.connectors.jira_service_management.test_create import intent, settings
from tests.fakes.jira_data import BEARER, CLOUD_ID


class StubTokens:
    """A TokenProvider handing out one token and recording refusals."""

    def __init__(self, value: str = BEARER) -> None:
        self.value, self.refused = value, list[str]()

    async def token(self) -> str:
        return self.value

    def invalidate(self, value: str) -> None:
        self.refused.append(value)


def oauth_config(jira: Harness, **changes: Any) -> dict[str, Any]:
    base = {k: v for k, v in settings(jira).items() if k not in ("email", "api_token")}
    return {**base, "auth_method": "oauth", "api_gateway_url": jira.server.url, **changes}


@asynccontextmanager
async def connected(
    jira: Harness, tokens: StubTokens | None, **changes: Any
) -> AsyncIterator[JiraConnector]:
    config = parse_config(JiraConnector, oauth_config(jira, **changes))
    async with httpx.AsyncClient(timeout=10) as client:
        connector = JiraConnector(config, http_client=client, sleep=RecordingSleep())  # type: ignore[arg-type]
        connector.token_provider = tokens
        yield connector


async def test_changes_are_read_through_the_gateway_with_the_cloud_id_found(
    jira: Harness,
) -> None:
    jira.fake.reset(3)
    jira.fake.site = jira.server.url
    async with connected(jira, StubTokens()) as connector:
        run = await read_stream(connector, "changes", SyncContext(now()))
    assert sorted(r.number for r in run.records) == ["CHG-1", "CHG-2", "CHG-3"]  # type: ignore[attr-defined]
    jira_paths = [p for p in jira.fake.requests if "/rest/" in p]
    assert jira_paths and all(f"/ex/jira/{CLOUD_ID}/rest/" in p for p in jira_paths)
    assert "GET /oauth/token/accessible-resources" in jira.fake.requests


async def test_configured_cloud_id_skips_discovery_and_creates_changes(jira: Harness) -> None:
    jira.fake.reset(0)
    async with connected(jira, StubTokens(), cloud_id=CLOUD_ID) as connector:
        created = await connector.create_change(intent())
    assert not created.existed and len(jira.fake.posts) == 1
    assert f"POST /ex/jira/{CLOUD_ID}/rest/api/3/issue" in jira.fake.requests
    assert not any("accessible-resources" in p for p in jira.fake.requests)


async def test_site_not_granted_is_a_clear_error(jira: Harness) -> None:
    jira.fake.reset(1)
    jira.fake.site = "https://someone-else.atlassian.net"
    async with connected(jira, StubTokens()) as connector:
        with pytest.raises(ConfigError, match="no access to") as caught:
            await read_stream(connector, "changes", SyncContext(now()))
    assert caught.value.details["field"] == "site_url"


async def test_refused_token_is_reported_without_the_token(jira: Harness) -> None:
    jira.fake.reset(1)
    tokens = StubTokens("stale-token-value")
    async with connected(jira, tokens, cloud_id=CLOUD_ID) as connector:
        with pytest.raises(SourceAuthError) as caught:
            await read_stream(connector, "changes", SyncContext(now()))
    assert tokens.refused and "stale-token-value" not in str(caught.value)


async def test_oauth_without_a_connected_token_says_to_connect(jira: Harness) -> None:
    jira.fake.reset(1)
    async with connected(jira, None, cloud_id=CLOUD_ID) as connector:
        with pytest.raises(ConfigError, match="connect the connection through OAuth"):
            await read_stream(connector, "changes", SyncContext(now()))
    assert jira.fake.requests == []


async def test_atlassian_preset_asks_for_the_api_audience_and_jira_scopes() -> None:
    preset = get_preset("atlassian")
    scopes = tuple(preset.scopes_for("jira_service_management"))
    client = ClientSettings(
        client_id="cid", client_secret=None, redirect_uri="https://pip.example/cb",
        scopes=scopes, auth_method=preset.client_auth, authorize_params=preset.authorize_params,
    )  # fmt: skip
    from pip_service.oauth.clients import _static

    implementation = AuthlibImplementation(preset.title, client, _static(preset, {}))
    url = await implementation.authorize_url(state="s", code_verifier="v" * 43, nonce="n")
    parts = urlsplit(url)
    query = parse_qs(parts.query)
    assert f"{parts.netloc}{parts.path}" == "auth.atlassian.com/authorize"
    assert query["audience"] == ["api.atlassian.com"] and query["prompt"] == ["consent"]
    assert {"write:jira-work", "read:cmdb-object:jira", "offline_access"} <= set(
        query["scope"][0].split()
    )
