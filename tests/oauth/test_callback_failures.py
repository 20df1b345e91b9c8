"""Every way a callback can go wrong gives a named failure page and writes no token."""

from __future__ import annotations

import time
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest

from pip_service.api.routes.oauth import get_oauth
from pip_service.runtime import Runtime
from tests.conftest import Database
from tests.oauth.conftest import (
    Admin,
    finish,
    new_connection,
    outcome,
    start_flow,
    token_rows,
)
from tests.rigs.oidc_provider import Browser, OidcProvider


@pytest.fixture
def db(sqlite_db: Database) -> Database:
    """These run on SQLite only (the flow itself runs on both databases)."""
    return sqlite_db


def with_params(url: str, **changes: str | None) -> str:
    """``url`` with query parameters replaced (None removes one)."""
    parts = urlsplit(url)
    query = {key: values[0] for key, values in parse_qs(parts.query).items()}
    for key, value in changes.items():
        if value is None:
            query.pop(key, None)
        else:
            query[key] = value
    return parts._replace(query=urlencode(query)).geturl()


def param(url: str, name: str) -> str:
    return parse_qs(urlsplit(url).query)[name][0]


async def returned_url(admin: Admin, browser: Browser, provider: OidcProvider) -> tuple[int, str]:
    connection_id = await new_connection(admin, provider)
    return connection_id, await browser.authorize(await start_flow(admin, connection_id))


async def assert_failed(runtime: Runtime, response: object, reason: str) -> None:
    page = response
    assert getattr(page, "status_code", None) == 400
    assert outcome(page) == reason  # type: ignore[arg-type]
    assert "Connection failed" in page.text  # type: ignore[attr-defined]
    assert await token_rows(runtime) == []


async def test_a_tampered_state_is_refused(
    runtime: Runtime, admins: dict[str, Admin], browser: Browser, oidc_provider: OidcProvider
) -> None:
    alice = admins["alice"]
    _, url = await returned_url(alice, browser, oidc_provider)
    state = param(url, "state")
    head, _, mac = state.rpartition(".")
    forged = head.replace(head.split(".")[2][:4], "eyJj", 1) + "." + mac

    page = await finish(alice, with_params(url, state=forged))

    await assert_failed(runtime, page, "state_invalid")
    assert "altered" in page.text


async def test_an_expired_state_is_refused(
    runtime: Runtime, admins: dict[str, Admin], browser: Browser, oidc_provider: OidcProvider
) -> None:
    alice = admins["alice"]
    _, url = await returned_url(alice, browser, oidc_provider)
    get_oauth(runtime).signer.clock = lambda: time.time() + 3600

    page = await finish(alice, url)

    await assert_failed(runtime, page, "state_expired")
    assert "took too long" in page.text


async def test_a_replayed_state_is_refused_and_the_stored_tokens_stay(
    runtime: Runtime, admins: dict[str, Admin], browser: Browser, oidc_provider: OidcProvider
) -> None:
    alice = admins["alice"]
    _, url = await returned_url(alice, browser, oidc_provider)
    assert outcome(await finish(alice, url)) == "connected"
    [before] = await token_rows(runtime)

    page = await finish(alice, url)

    assert (page.status_code, outcome(page)) == (400, "state_replayed")
    [after] = await token_rows(runtime)
    assert (after.token_blob, after.generation) == (before.token_blob, before.generation)


async def test_a_flow_started_by_one_admin_cannot_be_finished_by_another(
    runtime: Runtime, admins: dict[str, Admin], browser: Browser, oidc_provider: OidcProvider
) -> None:
    alice, bob = admins["alice"], admins["bob"]
    connection_id, url = await returned_url(alice, browser, oidc_provider)
    await start_flow(bob, connection_id)  # bob has an admin cookie of his own

    page = await finish(bob, url)

    await assert_failed(runtime, page, "wrong_admin")
    assert "started by another admin" in page.text
    assert outcome(await finish(alice, url)) == "connected"  # bob did not burn alice's flow


async def test_a_wrong_or_missing_iss_is_refused(
    runtime: Runtime, admins: dict[str, Admin], browser: Browser, oidc_provider: OidcProvider
) -> None:
    alice = admins["alice"]
    connection_id, url = await returned_url(alice, browser, oidc_provider)
    assert param(url, "iss") == oidc_provider.issuer  # the provider sends RFC 9207 iss

    page = await finish(alice, with_params(url, iss="https://evil.example"))
    await assert_failed(runtime, page, "issuer_mismatch")

    second = await browser.authorize(await start_flow(alice, connection_id))
    page = await finish(alice, with_params(second, iss=None))
    await assert_failed(runtime, page, "issuer_mismatch")


async def test_a_reused_code_is_refused_and_the_stored_tokens_stay(
    runtime: Runtime, admins: dict[str, Admin], browser: Browser, oidc_provider: OidcProvider
) -> None:
    alice = admins["alice"]
    connection_id, first = await returned_url(alice, browser, oidc_provider)
    assert outcome(await finish(alice, first)) == "connected"
    [before] = await token_rows(runtime)
    second = await browser.authorize(await start_flow(alice, connection_id))

    page = await finish(alice, with_params(second, code=param(first, "code")))

    assert (page.status_code, outcome(page)) == (400, "code_rejected")
    assert "used already" in page.text
    [after] = await token_rows(runtime)
    assert after.token_blob == before.token_blob


async def test_access_denied_at_the_provider_is_named(
    runtime: Runtime, admins: dict[str, Admin], browser: Browser, oidc_provider: OidcProvider
) -> None:
    alice = admins["alice"]
    connection_id = await new_connection(alice, oidc_provider)

    url = await browser.authorize(await start_flow(alice, connection_id), abort=True)
    page = await finish(alice, url)

    assert param(url, "error") == "access_denied"
    await assert_failed(runtime, page, "access_denied")
    assert "Access was denied at the provider" in page.text


async def test_authorize_needs_an_admin_and_a_configured_client(
    runtime: Runtime, admins: dict[str, Admin], oidc_provider: OidcProvider
) -> None:
    alice = admins["alice"]
    created = await alice.http.post(
        "/api/v1/connections", headers=alice.headers,
        json={"name": "bare", "connector_type": "oidc_userinfo",
              "config": {"userinfo_url": f"{oidc_provider.issuer}/me"}},
    )  # fmt: skip
    bare = created.json()["id"]

    anonymous = await alice.http.get(f"/api/v1/connections/{bare}/oauth/authorize")
    unconfigured = await alice.http.get(
        f"/api/v1/connections/{bare}/oauth/authorize", headers=alice.headers
    )

    assert anonymous.status_code == 401
    assert unconfigured.status_code == 422
    assert unconfigured.json()["code"] == "oauth_not_configured"
    assert unconfigured.headers["content-type"] == "application/problem+json"


async def test_a_bad_oauth_client_is_refused_and_nothing_is_stored(
    runtime: Runtime, admins: dict[str, Admin], oidc_provider: OidcProvider
) -> None:
    alice = admins["alice"]
    connection_id = await new_connection(alice, oidc_provider)
    url = f"/api/v1/connections/{connection_id}/oauth/client"

    unknown = await alice.http.put(url, headers=alice.headers,
                                   json={"provider": "myspace", "client_id": "x"})  # fmt: skip
    missing = await alice.http.put(url, headers=alice.headers,
                                   json={"provider": "okta", "client_id": "x"})  # fmt: skip
    status = await alice.http.get(f"/api/v1/connections/{connection_id}/oauth",
                                  headers=alice.headers)  # fmt: skip

    assert (unknown.status_code, missing.status_code) == (422, 422)
    assert "myspace" in unknown.json()["detail"] and "domain" in missing.json()["detail"]
    assert status.json()["provider"] == "generic_oidc"  # the earlier, valid client stays
