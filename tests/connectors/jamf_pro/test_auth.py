"""Jamf Pro auth: API clients, account tokens kept alive and invalidated, expiry mid-run."""

from __future__ import annotations

import logging
import time

import httpx
import pytest
from pydantic import SecretStr

from connectors.base.errors import SourceAuthError
from connectors.base.registry import parse_config
from connectors.base.stream import SyncContext
from connectors.base.testing import now, read_stream
from connectors.jamf import JamfConnector
from connectors.jamf.auth import AccountTokenCache
from tests.connectors.jamf_pro.harness import Harness


async def read_with(jamf: Harness, config: dict[str, object]) -> list[str]:
    connector = JamfConnector(parse_config(JamfConnector, config))  # type: ignore[arg-type]
    async with httpx.AsyncClient(timeout=10) as client:
        connector.http_client = client
        try:
            run = await read_stream(connector, "computers", SyncContext(now()))
        finally:
            await connector.aclose()
    return run.ids


async def test_account_token_is_used_and_invalidated_on_close(jamf: Harness) -> None:
    jamf.reset(7)
    ids = await read_with(jamf, jamf.account_config())
    assert set(ids) == jamf.source_ids()
    assert jamf.fake.issued["account"] == 1 and jamf.fake.issued["oauth"] == 0
    assert jamf.fake.issued["invalidated"] == 1
    assert jamf.fake.tokens == {}, "the bearer token is still valid after the connector closed"


async def test_account_token_is_kept_alive_before_it_expires(jamf: Harness) -> None:
    jamf.reset(1)
    clock = [time.time()]
    async with httpx.AsyncClient(base_url=jamf.server.url, timeout=10) as client:
        cache = AccountTokenCache(
            client,
            jamf.server.url,
            jamf.fake.username,
            SecretStr(jamf.fake.password),
            source="Jamf Pro",
            clock=lambda: clock[0],
        )
        first = await cache.token()
        clock[0] += jamf.fake.token_lifetime - 30  # inside the safety margin, not yet expired
        second = await cache.token()
    assert second != first
    assert cache.keep_alives == 1 and jamf.fake.issued["keep_alive"] == 1
    assert first not in jamf.fake.tokens and second in jamf.fake.tokens
    assert jamf.fake.issued["account"] == 1, "a new token was requested instead of keep-alive"


@pytest.mark.parametrize("account", [False, True])
async def test_token_expiring_mid_run_is_replaced_once(jamf: Harness, account: bool) -> None:
    jamf.reset(17)
    jamf.fake.expire_tokens_after(2)  # tokens time out after the second page
    config = jamf.account_config() if account else jamf.config()
    ids = await read_with(jamf, config)
    assert sorted(ids, key=int) == sorted(jamf.source_ids(), key=int)
    assert jamf.fake.issued["account" if account else "oauth"] == 2


async def test_revoked_credentials_mid_run_need_reconnect(
    jamf: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    jamf.reset(17)
    secret, password = jamf.fake.client_secret, jamf.fake.password
    config = jamf.config()
    jamf.fake.expire_tokens_after(1, revoke=True)
    with caplog.at_level(logging.DEBUG), pytest.raises(SourceAuthError) as caught:
        await read_with(jamf, config)
    assert caught.value.code == "needs_reconnect" and "401" in caught.value.message
    for value in (secret, password):
        assert value not in caught.value.message and value not in caplog.text


async def test_wrong_client_secret_is_refused_without_leaking_it(jamf: Harness) -> None:
    jamf.reset(2)
    with pytest.raises(SourceAuthError) as caught:
        await read_with(jamf, {**jamf.config(), "client_secret": "not-the-secret-123"})
    assert "not-the-secret-123" not in caught.value.message
    assert "invalid_client" in caught.value.message
