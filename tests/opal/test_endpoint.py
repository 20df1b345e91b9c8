"""GET /opal/pip-data/{name} and GET /opal/data-sources as OPAL clients see them."""

from __future__ import annotations

import gzip
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from connectors.base.types import Sensitivity
from pip_service.api.app import create_app
from pip_service.auth.roles import Role
from pip_service.auth.service import create_token, revoke_token
from pip_service.db.session import transaction
from pip_service.documents.catalog import document_names
from pip_service.runtime import Runtime
from tests.conftest import Database
from tests.opal.conftest import (
    ADMIN_TOKEN,
    OPAL_TOKEN,
    SECOND_OPAL_TOKEN,
    Clock,
    bearer,
    make_settings,
    store_document,
)

USERS = {
    "alice@example.com": {"key": "alice@example.com", "enabled": True, "sources": ["okta"]},
    "bob@example.com": {"key": "bob@example.com", "enabled": False, "sources": ["okta"]},
}
URL = "/opal/pip-data/identity/users"
GZIP = {"Accept-Encoding": "gzip"}


async def _users(runtime: Runtime, clock: Clock, age: float = 100.0, **kw: object) -> bytes:
    encoded = await store_document(
        runtime, "identity/users", USERS, refreshed_at=clock.now - timedelta(seconds=age), **kw
    )
    return encoded.gz


def _assert_ttl_left(max_age: int, ttl: int, clock: Clock, age: float) -> None:
    """``max_age`` is the TTL left of a document ``age`` seconds old at ``clock.now``.

    The service reads the wall clock, which has moved on since the fixture set ``clock``
    (a slow machine takes seconds to set up a database), so the bound follows it.
    """
    elapsed = (datetime.now(UTC) - clock.now).total_seconds()
    assert int(ttl - age - elapsed) - 1 <= max_age <= ttl - age


async def test_gzip_body_is_the_stored_bytes(
    any_client: httpx.AsyncClient, runtime: Runtime, clock: Clock
) -> None:
    stored = await _users(runtime, clock)
    async with any_client.stream("GET", URL, headers={**bearer(OPAL_TOKEN), **GZIP}) as response:
        raw = b"".join([chunk async for chunk in response.aiter_raw()])
    assert response.status_code == 200
    assert response.headers["content-encoding"] == "gzip"
    assert response.headers["content-type"] == "application/json"
    assert raw == stored
    assert orjson.loads(gzip.decompress(raw)) == USERS


@pytest.mark.parametrize("accept", ["identity", "gzip;q=0, identity"])
async def test_identity_when_gzip_not_accepted(
    any_client: httpx.AsyncClient, runtime: Runtime, clock: Clock, accept: str
) -> None:
    await _users(runtime, clock)
    response = await any_client.get(URL, headers={**bearer(OPAL_TOKEN), "Accept-Encoding": accept})
    assert response.status_code == 200
    assert "content-encoding" not in response.headers
    assert response.json() == USERS


@pytest.mark.parametrize("form", ["{etag}", "W/{etag}", '"other", {etag}'])
async def test_if_none_match_gives_304(
    any_client: httpx.AsyncClient, runtime: Runtime, clock: Clock, form: str
) -> None:
    await _users(runtime, clock)
    first = await any_client.get(URL, headers={**bearer(OPAL_TOKEN), **GZIP})
    etag = first.headers["etag"]
    assert etag.startswith('"') and etag.endswith('"')
    again = await any_client.get(
        URL, headers={**bearer(OPAL_TOKEN), "If-None-Match": form.format(etag=etag)}
    )
    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["etag"] == etag


async def test_304_carries_validators_not_revision(
    any_client: httpx.AsyncClient, runtime: Runtime, clock: Clock
) -> None:
    await _users(runtime, clock, age=100.0)
    first = await any_client.get(URL, headers={**bearer(OPAL_TOKEN), **GZIP})
    assert first.status_code == 200
    assert first.headers["vary"] == "Accept-Encoding"
    assert int(first.headers["x-pip-revision"]) >= 1
    assert first.headers["x-correlation-id"]
    etag = first.headers["etag"]
    again = await any_client.get(URL, headers={**bearer(OPAL_TOKEN), **GZIP, "If-None-Match": etag})
    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["etag"] == etag
    assert again.headers["vary"] == "Accept-Encoding"  # RFC 9110 §15.4.5: as the 200 would
    directive, max_age = again.headers["cache-control"].split("=")
    assert directive == "private, max-age"
    ttl = runtime.settings.ttl_internal
    _assert_ttl_left(int(max_age), ttl, clock, age=100.0)
    assert again.headers["x-correlation-id"]
    for absent in ("x-pip-revision", "x-pip-stale", "content-encoding", "content-type"):
        assert absent not in again.headers, absent


async def test_stale_304_is_marked(
    any_client: httpx.AsyncClient, runtime: Runtime, clock: Clock
) -> None:
    ttl = runtime.settings.ttl_confidential
    await _users(runtime, clock, age=2 * ttl, sensitivity=Sensitivity.CONFIDENTIAL)
    etag = (await any_client.get(URL, headers=bearer(OPAL_TOKEN))).headers["etag"]
    again = await any_client.get(URL, headers={**bearer(OPAL_TOKEN), "If-None-Match": etag})
    assert again.status_code == 304
    assert again.headers["x-pip-stale"] == "true"
    assert again.headers["cache-control"] == "private, max-age=0"


async def test_changed_document_is_sent_again(
    client: httpx.AsyncClient, runtime: Runtime, clock: Clock
) -> None:
    await _users(runtime, clock)
    first = await client.get(URL, headers=bearer(OPAL_TOKEN))
    old, old_revision = first.headers["etag"], int(first.headers["x-pip-revision"])
    changed = {**USERS, "carol@example.com": {"key": "carol@example.com", "sources": ["okta"]}}
    await store_document(runtime, "identity/users", changed, refreshed_at=clock.now)
    response = await client.get(URL, headers={**bearer(OPAL_TOKEN), "If-None-Match": old})
    assert response.status_code == 200
    assert response.headers["etag"] != old
    assert "carol@example.com" in response.json()
    assert int(response.headers["x-pip-revision"]) == old_revision + 1


async def test_cache_control_is_the_ttl_left(
    client: httpx.AsyncClient, runtime: Runtime, clock: Clock
) -> None:
    await _users(runtime, clock, age=100.0, sensitivity=Sensitivity.INTERNAL)
    response = await client.get(URL, headers=bearer(OPAL_TOKEN))
    ttl = runtime.settings.ttl_internal
    directive, max_age = response.headers["cache-control"].split("=")
    assert directive == "private, max-age"
    _assert_ttl_left(int(max_age), ttl, clock, age=100.0)
    assert "x-pip-stale" not in response.headers


async def test_stale_document_is_served_marked(
    any_client: httpx.AsyncClient, runtime: Runtime, clock: Clock
) -> None:
    ttl = runtime.settings.ttl_confidential
    await _users(runtime, clock, age=2 * ttl, sensitivity=Sensitivity.CONFIDENTIAL)
    response = await any_client.get(URL, headers=bearer(OPAL_TOKEN))
    assert response.status_code == 200
    assert response.headers["x-pip-stale"] == "true"
    assert response.headers["cache-control"] == "private, max-age=0"
    assert response.json() == USERS


async def test_stale_restricted_document_fails_closed(
    client: httpx.AsyncClient, runtime: Runtime, clock: Clock
) -> None:
    await _users(
        runtime, clock, age=runtime.settings.ttl_restricted + 1, sensitivity=Sensitivity.RESTRICTED
    )
    response = await client.get(URL, headers=bearer(OPAL_TOKEN))
    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["status"] == 503
    assert "identity/users" in problem["detail"]
    assert "alice" not in response.text


async def test_unknown_document_404_lists_known_ones(client: httpx.AsyncClient) -> None:
    response = await client.get("/opal/pip-data/identity/nope", headers=bearer(OPAL_TOKEN))
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    for name in document_names():
        assert name in response.json()["detail"]


@pytest.mark.parametrize("token", [None, ADMIN_TOKEN, "pip_not-a-known-token", ""])
@pytest.mark.parametrize("revalidate", [False, True])
async def test_only_opal_tokens_read_documents(
    any_client: httpx.AsyncClient,
    runtime: Runtime,
    clock: Clock,
    token: str | None,
    revalidate: bool,
) -> None:
    await _users(runtime, clock)
    etag = (await any_client.get(URL, headers=bearer(OPAL_TOKEN))).headers["etag"]
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    if revalidate:  # a current ETag does not let a request past authentication
        headers["If-None-Match"] = etag
    response = await any_client.get(URL, headers=headers)
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["www-authenticate"] == 'Bearer realm="pip-service"'
    problem = response.json()
    assert (problem["status"], problem["code"]) == (401, "unauthenticated")
    assert problem["type"] == "urn:pip-service:problem:unauthenticated"
    assert "etag" not in response.headers and "x-pip-revision" not in response.headers
    assert "alice" not in response.text


async def test_reads_skip_fastapi_unless_telemetry_is_configured(
    runtime: Runtime, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """OPAL reads are answered ahead of FastAPI; with OpenTelemetry on, inside its span."""
    await _users(runtime, clock)
    app = create_app(runtime)
    assert app.opal_fast_path is not None
    answers: list[int] = []
    answer = app.opal_fast_path.answer

    async def counted(scope: Any, send: Any) -> bool:
        answers.append(1)
        return await answer(scope, send)

    monkeypatch.setattr(app.opal_fast_path, "answer", counted)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://pip.test") as http:
        etag = (await http.get(URL, headers=bearer(OPAL_TOKEN))).headers["etag"]
        revalidated = await http.get(URL, headers={**bearer(OPAL_TOKEN), "If-None-Match": etag})
        assert revalidated.status_code == 304
        assert app.middleware_stack is None  # FastAPI never ran
        assert len(answers) == 2

        refused = await http.get(URL, headers=bearer("pip_not-a-known-token"))
        assert refused.status_code == 401  # declined once, then answered by the route
        assert len(answers) == 3
        assert app.middleware_stack is not None

        monkeypatch.setattr(app._native_telemetry, "enabled", lambda: True)
        monkeypatch.setattr(app, "_telemetry_checked_until", 0.0)
        calls: list[int] = []
        stack = app.middleware_stack

        async def through_fastapi(scope: Any, receive: Any, send: Any) -> None:
            calls.append(1)
            await stack(scope, receive, send)

        app.middleware_stack = through_fastapi
        again = await http.get(URL, headers={**bearer(OPAL_TOKEN), "If-None-Match": etag})
    assert again.status_code == 304
    assert "x-pip-revision" not in again.headers
    assert (len(calls), len(answers)) == (1, 4)  # through FastAPI, answered by the fast path


async def test_stored_opal_token_reads_until_revoked(
    client: httpx.AsyncClient, runtime: Runtime, clock: Clock
) -> None:
    await _users(runtime, clock)
    async with transaction(runtime.sessions) as session:
        issued = await create_token(session, name="opal-env", role=Role.OPAL, actor="tests")
    response = await client.get(URL, headers=bearer(issued.plaintext))
    assert response.status_code == 200
    assert response.json() == USERS
    async with transaction(runtime.sessions) as session:
        await revoke_token(session, token_id=issued.row.id, actor="tests")
    runtime.auth.forget()
    assert (await client.get(URL, headers=bearer(issued.plaintext))).status_code == 401


async def test_meta_is_served(client: httpx.AsyncClient, runtime: Runtime, clock: Clock) -> None:
    await _users(runtime, clock)
    response = await client.get("/opal/pip-data/meta", headers=bearer(OPAL_TOKEN))
    assert response.status_code == 200
    assert response.json()["identity/users"]["stale"] is False


async def test_data_sources_lists_every_document(
    client: httpx.AsyncClient, runtime: Runtime, clock: Clock
) -> None:
    await _users(runtime, clock, sensitivity=Sensitivity.CONFIDENTIAL)
    response = await client.get("/opal/data-sources", headers=bearer(OPAL_TOKEN))
    assert response.status_code == 200
    entries = {e["dst_path"].removeprefix("/pip/"): e for e in response.json()["entries"]}
    assert sorted(entries) == sorted(document_names())
    users = entries["identity/users"]
    assert users["url"] == "http://pip.test:8000/opal/pip-data/identity/users"
    assert users["topics"] == ["pip_identity"]
    assert users["save_method"] == "PUT"
    ratio = runtime.settings.refresh_ahead_ratio
    assert users["periodic_update_interval"] == runtime.settings.ttl_confidential * ratio
    for info in await runtime.documents.list():
        assert entries[info.name]["periodic_update_interval"] == (info.ttl_seconds or 0) * ratio
    assert entries["meta"]["periodic_update_interval"] == min(
        e["periodic_update_interval"] for e in entries.values()
    )
    for entry in entries.values():
        assert entry["config"] == {"headers": {"Authorization": f"Bearer {OPAL_TOKEN}"}}
    assert SECOND_OPAL_TOKEN not in response.text and ADMIN_TOKEN not in response.text


@pytest.mark.parametrize(
    ("headers", "query", "status"),
    [
        ({}, {"token": SECOND_OPAL_TOKEN}, 200),
        (bearer("opal-client-jwt-unknown"), {"token": OPAL_TOKEN}, 200),
        ({}, {}, 401),
        ({}, {"token": ADMIN_TOKEN}, 401),
        (bearer(ADMIN_TOKEN), {"token": "wrong"}, 401),
    ],
)
async def test_data_sources_token_from_header_or_query(
    client: httpx.AsyncClient, headers: dict[str, str], query: dict[str, str], status: int
) -> None:
    response = await client.get("/opal/data-sources", headers=headers, params=query)
    assert response.status_code == status


async def test_query_token_is_not_accepted_for_documents(
    client: httpx.AsyncClient, runtime: Runtime, clock: Clock
) -> None:
    await _users(runtime, clock)
    response = await client.get(URL, params={"token": OPAL_TOKEN})
    assert response.status_code == 401


async def test_correlation_id_is_echoed(
    any_client: httpx.AsyncClient, runtime: Runtime, clock: Clock
) -> None:
    await _users(runtime, clock)
    response = await any_client.get(
        URL, headers={**bearer(OPAL_TOKEN), "X-Correlation-ID": "abc-123"}
    )
    assert response.headers["x-correlation-id"] == "abc-123"
    fresh = await any_client.get(URL, headers=bearer(OPAL_TOKEN))
    assert fresh.headers["x-correlation-id"] not in ("", "abc-123")


async def test_reads_are_timed_in_metrics(
    any_client: httpx.AsyncClient, runtime: Runtime, clock: Clock
) -> None:
    await _users(runtime, clock)
    etag = (await any_client.get(URL, headers=bearer(OPAL_TOKEN))).headers["etag"]
    await any_client.get(URL, headers={**bearer(OPAL_TOKEN), "If-None-Match": etag})
    route = "/opal/pip-data/{document_path}"
    for status in ("200", "304"):
        labels = {"method": "GET", "route": route, "status": status}
        count = runtime.metrics.registry.get_sample_value(
            "pip_http_request_duration_seconds_count", labels
        )
        assert count == 1, status


async def test_data_sources_without_pip_opal_tokens_is_503(
    sqlite_db: Database, tmp_path: Path
) -> None:
    runtime = Runtime(make_settings(sqlite_db.url, tmp_path, opal_tokens=None))
    await runtime.start()
    try:
        async with transaction(runtime.sessions) as session:
            issued = await create_token(session, name="opal-eu", role=Role.OPAL, actor="tests")
        transport = httpx.ASGITransport(app=create_app(runtime))
        async with httpx.AsyncClient(transport=transport, base_url="http://pip.test") as http:
            response = await http.get("/opal/data-sources", headers=bearer(issued.plaintext))
    finally:
        await runtime.stop()
    assert response.status_code == 503
    assert "PIP_OPAL_TOKENS" in response.json()["detail"]
    assert issued.plaintext not in response.text
