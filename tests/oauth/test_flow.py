"""The whole connect flow against a real OpenID provider: connect, use, refresh, disconnect."""

from __future__ import annotations

import asyncio

from sqlalchemy import select, text

from pip_service.audit.models import AuditEvent
from pip_service.oauth.tokens import unseal
from pip_service.runtime import Runtime
from tests.oauth.conftest import Admin, as_dict, connect, new_connection, outcome, token_rows
from tests.rigs.oidc_provider import ACCESS_TTL, Browser, OidcProvider


async def test_connect_stores_tokens_encrypted_and_the_connection_works(
    runtime: Runtime, admins: dict[str, Admin], browser: Browser, oidc_provider: OidcProvider
) -> None:
    alice = admins["alice"]
    connection_id = await new_connection(alice, oidc_provider)

    page = await connect(alice, browser, connection_id)

    assert (page.status_code, outcome(page)) == (200, "connected"), page.text
    assert "idp is connected to OpenID Connect provider" in page.text
    [row] = await token_rows(runtime)
    tokens = unseal(runtime.keyring, row)
    assert oidc_provider.introspect(tokens.access_token)["active"] is True
    assert tokens.refresh_token and row.has_refresh_token
    async with runtime.engine.connect() as conn:
        raw = (await conn.execute(text("SELECT * FROM oauth_tokens"))).one()
    dumped = repr(tuple(raw)).encode() + b"".join(v for v in raw if isinstance(v, bytes))
    assert tokens.access_token.encode() not in dumped
    assert tokens.refresh_token.encode() not in dumped
    status = as_dict(await alice.http.get(f"/api/v1/connections/{connection_id}/oauth",
                                          headers=alice.headers))  # fmt: skip
    assert status["connected"] and status["connected_by"] == "bootstrap-admin"
    assert tokens.access_token not in str(status) and tokens.refresh_token not in str(status)
    async with runtime.sessions() as session:
        actions = list(await session.scalars(select(AuditEvent.action)))
    assert "oauth.connect" in actions


async def test_a_sync_reads_the_source_with_the_stored_token(
    runtime: Runtime, admins: dict[str, Admin], browser: Browser, oidc_provider: OidcProvider
) -> None:
    alice = admins["alice"]
    connection_id = await new_connection(alice, oidc_provider)
    await connect(alice, browser, connection_id)

    result = await runtime.run_connection(connection_id, mode="full")

    assert (result.status, result.created) == ("success", 1), result.error


async def test_tokens_are_refreshed_ahead_of_expiry_and_the_refresh_token_rotates(
    runtime: Runtime, admins: dict[str, Admin], browser: Browser, oidc_provider: OidcProvider
) -> None:
    alice = admins["alice"]
    connection_id = await new_connection(alice, oidc_provider)
    await connect(alice, browser, connection_id)
    [before] = await token_rows(runtime)
    old = unseal(runtime.keyring, before)

    await asyncio.sleep(ACCESS_TTL / 2 + 0.3)  # past the refresh point (half the lifetime)
    result = await runtime.run_connection(connection_id, mode="full")

    assert result.status == "success", result.error
    [after] = await token_rows(runtime)
    new = unseal(runtime.keyring, after)
    assert new.access_token != old.access_token and after.generation == before.generation + 1
    assert new.refresh_token != old.refresh_token  # rotated, and saved
    assert oidc_provider.introspect(new.access_token)["active"] is True
    assert oidc_provider.introspect(old.refresh_token)["active"] is False


async def test_disconnect_revokes_at_the_provider_and_deletes_the_tokens(
    runtime: Runtime, admins: dict[str, Admin], browser: Browser, oidc_provider: OidcProvider
) -> None:
    alice = admins["alice"]
    connection_id = await new_connection(alice, oidc_provider)
    await connect(alice, browser, connection_id)
    [row] = await token_rows(runtime)
    tokens = unseal(runtime.keyring, row)

    response = await alice.http.delete(f"/api/v1/connections/{connection_id}/oauth",
                                       headers=alice.headers)  # fmt: skip

    assert as_dict(response) == {"connection_id": connection_id, "revoked": True, "deleted": True}
    assert await token_rows(runtime) == []
    assert oidc_provider.introspect(tokens.access_token)["active"] is False
    assert oidc_provider.introspect(str(tokens.refresh_token))["active"] is False
    result = await runtime.run_connection(connection_id, mode="full")
    assert result.status == "failed" and "not connected" in str(result.error)
