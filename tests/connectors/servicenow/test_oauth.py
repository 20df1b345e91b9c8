"""OAuth against the fake's /oauth_token.do: one token per lifetime, refused secrets named."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest

from connectors.base.errors import SourceAuthError
from connectors.base.registry import parse_config
from connectors.base.stream import SyncContext
from connectors.base.testing import RecordingSleep, now, read_stream
from connectors.servicenow import ServiceNowConnector
from tests.connectors.servicenow.harness import Harness

CLIENT_ID, CLIENT_SECRET = "pip-client", "cl1ent-S3CRET-value"


@asynccontextmanager
async def oauth_connector(harness: Harness, **extra: Any) -> AsyncIterator[ServiceNowConnector]:
    harness.fake.oauth.clients = {CLIENT_ID: CLIENT_SECRET}
    raw = {"instance_url": harness.server.url, "auth_method": "oauth", "client_id": CLIENT_ID,
           "client_secret": CLIENT_SECRET, "page_size": 5, **extra}  # fmt: skip
    config = parse_config(ServiceNowConnector, raw)
    async with httpx.AsyncClient(timeout=10) as client:
        connector = ServiceNowConnector(config, http_client=client, sleep=RecordingSleep())  # type: ignore[arg-type]
        yield connector


async def test_client_credentials_token_is_fetched_once_for_many_pages(
    servicenow: Harness,
) -> None:
    servicenow.reset(23)
    before = servicenow.fake.oauth.requests
    async with oauth_connector(servicenow) as connector:
        run = await read_stream(connector, "computers", SyncContext(now()))
    assert set(run.ids) == servicenow.source_ids() and len(run.cursors) == 5
    assert servicenow.fake.oauth.requests - before == 1


async def test_expired_token_is_replaced_and_the_run_goes_on(servicenow: Harness) -> None:
    servicenow.reset(12)
    async with oauth_connector(servicenow) as connector:
        stream = next(s for s in connector.get_streams() if s.name == "computers")
        seen: list[str] = []
        async for page in stream.pages(SyncContext(now())):
            servicenow.fake.oauth.expire_all()  # the source revokes it before our clock says so
            seen += [r.source_id for r in page.records]
    assert sorted(seen) == sorted(servicenow.source_ids())
    assert servicenow.fake.oauth.requests >= 3


async def test_password_grant_sends_the_integration_user(servicenow: Harness) -> None:
    servicenow.reset(3)
    user = {"oauth_grant": "password", "username": servicenow.username,
            "password": servicenow.password}  # fmt: skip
    async with oauth_connector(servicenow, **user) as connector:
        assert (await connector.test_connection()).ok
    async with oauth_connector(servicenow, **{**user, "password": "wrong-one"}) as connector:
        refused = await connector.test_connection()
    assert refused.error_code == "needs_reconnect" and "access_denied" in refused.message


async def test_wrong_client_secret_needs_reconnect_and_is_never_shown(servicenow: Harness) -> None:
    servicenow.reset(3)
    async with oauth_connector(servicenow, client_secret="not-the-secret") as connector:
        with pytest.raises(SourceAuthError) as caught:
            await read_stream(connector, "computers", SyncContext(now()))
    assert "HTTP 401" in caught.value.message and "access_denied" in caught.value.message
    assert "not-the-secret" not in str(caught.value) and CLIENT_SECRET not in str(caught.value)


def test_oauth_config_names_missing_client_fields() -> None:
    from connectors.base.errors import ConfigError

    with pytest.raises(ConfigError) as caught:
        parse_config(ServiceNowConnector, {"instance_url": "https://x.service-now.com",
                                           "auth_method": "oauth"})  # fmt: skip
    assert set(caught.value.details["fields"]) == {"client_id", "client_secret"}


async def test_token_cache_refreshes_before_expiry_and_fetches_once_for_concurrent_callers() -> (
    None
):
    import asyncio

    from pydantic import SecretStr

    from connectors.base.oauth_client import TokenCache, TokenGrant

    issued: list[str] = []

    def token_endpoint(request: httpx.Request) -> httpx.Response:
        issued.append(f"t{len(issued)}")
        assert b"client_secret=s3" in request.content
        return httpx.Response(200, json={"access_token": issued[-1], "expires_in": 600})

    clock = [1000.0]
    grant = TokenGrant(
        token_url="https://x/oauth_token.do", client_id="c", client_secret=SecretStr("s3")
    )
    async with httpx.AsyncClient(transport=httpx.MockTransport(token_endpoint)) as client:
        cache = TokenCache(client, grant, source="X", margin=60, clock=lambda: clock[0])
        assert set(await asyncio.gather(*(cache.token() for _ in range(5)))) == {"t0"}
        clock[0] += 539  # still inside expires_in minus the margin
        assert await cache.token() == "t0"
        clock[0] += 2
        assert await cache.token() == "t1" and len(issued) == 2
