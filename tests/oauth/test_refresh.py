"""Token refresh: once per connection across replicas, and invalid_grant → needs_reconnect."""

from __future__ import annotations

import asyncio

from pip_service.db.session import create_engine, session_factory
from pip_service.oauth.clients import Implementations
from pip_service.oauth.tokens import TokenService, unseal
from pip_service.runtime import Runtime
from tests.oauth.conftest import Admin, connect, new_connection, token_rows
from tests.rigs.oidc_provider import Browser, OidcProvider


async def test_two_replicas_refreshing_at_once_call_the_provider_once(
    runtime: Runtime, admins: dict[str, Admin], browser: Browser, oidc_provider: OidcProvider
) -> None:
    alice = admins["alice"]
    connection_id = await new_connection(alice, oidc_provider)
    await connect(alice, browser, connection_id)
    stale = unseal(runtime.keyring, (await token_rows(runtime))[0]).access_token
    engines = [create_engine(runtime.settings.database_url) for _ in range(2)]
    replicas = []
    for engine in engines:  # each replica: its own engine, pool and in-process locks
        sessions = session_factory(engine)
        implementations = Implementations(
            sessions, runtime.keyring, "http://pip.test/oauth/callback"
        )
        replicas.append(TokenService(sessions, runtime.keyring, implementations.for_connection))

    tokens = await asyncio.gather(
        *(replica.access_token(connection_id, rejected=stale) for replica in replicas * 2)
    )

    assert len(set(tokens)) == 1 and tokens[0] != stale
    assert sum(replica.refreshes for replica in replicas) == 1
    stored = unseal(runtime.keyring, (await token_rows(runtime))[0])
    assert oidc_provider.introspect(str(stored.refresh_token))["active"] is True  # not reused
    for engine in engines:
        await engine.dispose()


async def test_a_refused_refresh_marks_the_connection_needs_reconnect(
    runtime: Runtime, admins: dict[str, Admin], browser: Browser, oidc_provider: OidcProvider
) -> None:
    alice = admins["alice"]
    connection_id = await new_connection(alice, oidc_provider)
    await connect(alice, browser, connection_id)
    tokens = unseal(runtime.keyring, (await token_rows(runtime))[0])
    oidc_provider.revoke(str(tokens.refresh_token))
    oidc_provider.revoke(tokens.access_token, "access_token")  # the source now answers 401

    result = await runtime.run_connection(connection_id, mode="full")

    assert result.status == "failed" and "invalid_grant" in str(result.error)
    assert await token_rows(runtime) == []
    shown = (
        await alice.http.get(f"/api/v1/connections/{connection_id}", headers=alice.headers)
    ).json()
    assert shown["state"] == "needs_reconnect"
    assert "invalid_grant" in shown["state_reason"] and "connect again" in shown["state_reason"]
    metrics = (await alice.http.get("/metrics", headers=alice.headers)).text
    assert 'pip_connection_state{connection="idp",state="needs_reconnect"} 1.0' in metrics
    page = await connect(alice, browser, connection_id)  # reconnecting heals it
    assert page.status_code == 200
    shown = (
        await alice.http.get(f"/api/v1/connections/{connection_id}", headers=alice.headers)
    ).json()
    assert (shown["state"], shown["state_reason"]) == ("active", None)
