"""SourceClient: retries, waits, rate windows, concurrency and error mapping (MockTransport)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime
from email.utils import format_datetime

import httpx
import pytest

from connectors.base.errors import (
    FatalSourceError,
    RateLimitedError,
    SourceAuthError,
    TransientSourceError,
)
from connectors.base.http import RetryPolicy, SourceClient
from connectors.base.testing import RecordingSleep

NOW = 1_800_000_000.0
OK = httpx.Response(200, json={"result": []})
SN_401 = {"error": {"message": "User Not Authenticated", "detail": "Required"}, "status": "failure"}


def scripted(
    *answers: httpx.Response | Exception,
) -> tuple[httpx.MockTransport, list[httpx.Request]]:
    """A transport answering in order (the last answer repeats) and logging requests."""
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        answer = answers[min(len(seen) - 1, len(answers) - 1)]
        if isinstance(answer, Exception):
            raise answer
        return httpx.Response(answer.status_code, headers=answer.headers, content=answer.content)

    return httpx.MockTransport(handler), seen


def client(
    transport: httpx.BaseTransport | httpx.AsyncBaseTransport,
    sleep: RecordingSleep,
    policy: RetryPolicy | None = None,
    clock: Callable[[], float] = lambda: NOW,
    **kwargs: object,
) -> SourceClient:
    http = httpx.AsyncClient(transport=transport, base_url="https://sn.example")  # type: ignore[arg-type]
    return SourceClient(
        http,
        source="ServiceNow",
        policy=policy or RetryPolicy(),
        sleep=sleep,
        clock=clock,
        auth=httpx.BasicAuth("svc", "hunter2-secret"),
        **kwargs,  # type: ignore[arg-type]
    )


async def test_retry_after_seconds_is_waited_exactly() -> None:
    transport, seen = scripted(httpx.Response(429, headers={"Retry-After": "3"}), OK)
    sleep = RecordingSleep()
    body = (await client(transport, sleep).get_json("/api")).body
    assert body == {"result": []} and sleep.waits == [3.0] and len(seen) == 2


async def test_retry_after_http_date_is_waited_until_that_time() -> None:
    when = format_datetime(datetime.fromtimestamp(NOW + 12, UTC), usegmt=True)
    transport, _ = scripted(httpx.Response(503, headers={"Retry-After": when}), OK)
    sleep = RecordingSleep()
    await client(transport, sleep).get_json("/api")
    assert sleep.waits == [12.0]


async def test_retry_after_is_capped() -> None:
    transport, _ = scripted(httpx.Response(429, headers={"Retry-After": "86400"}), OK)
    sleep = RecordingSleep()
    await client(transport, sleep, RetryPolicy(max_wait=60)).get_json("/api")
    assert sleep.waits == [60.0]


@pytest.mark.parametrize(
    ("headers", "wait"),
    [
        ({"X-Rate-Limit-Remaining": "0", "X-Rate-Limit-Reset": str(int(NOW) + 30)}, 30.0),
        ({"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "8"}, 8.0),
        ({"RateLimit-Remaining": "0", "RateLimit-Reset": "5"}, 5.0),
        ({"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "2026-01-01T00:00:00Z"}, None),
        ({"RateLimit-Remaining": "4", "RateLimit-Reset": "5"}, None),
    ],
)
async def test_used_up_rate_window_is_waited_before_the_next_request(
    headers: dict[str, str], wait: float | None
) -> None:
    transport, seen = scripted(httpx.Response(200, json={}, headers=headers), OK)
    sleep = RecordingSleep()
    source = client(transport, sleep)
    await source.get_json("/a")
    assert sleep.waits == []
    await source.get_json("/b")
    assert sleep.waits == ([wait] if wait else []) and len(seen) == 2


async def test_5xx_burst_backs_off_then_succeeds() -> None:
    transport, seen = scripted(httpx.Response(502), httpx.Response(504), OK)
    sleep = RecordingSleep()
    policy = RetryPolicy(initial_backoff=1, max_backoff=30, jitter=0.5)
    await client(transport, sleep, policy).get_json("/api")
    assert len(seen) == 3 and len(sleep.waits) == 2
    assert 1 <= sleep.waits[0] <= 1.5 and 2 <= sleep.waits[1] <= 2.5


async def test_endless_5xx_gives_up_after_bounded_attempts() -> None:
    transport, seen = scripted(httpx.Response(503, json={"error": {"message": "Down"}}))
    with pytest.raises(TransientSourceError, match=r"HTTP 503: Down\); gave up after 3 attempts"):
        await client(transport, RecordingSleep(), RetryPolicy(max_attempts=3)).get_json("/api")
    assert len(seen) == 3


async def test_endless_429_gives_up_as_rate_limited() -> None:
    transport, _ = scripted(httpx.Response(429, headers={"Retry-After": "2"}))
    with pytest.raises(RateLimitedError) as caught:
        await client(transport, RecordingSleep(), RetryPolicy(max_attempts=2)).get_json("/api")
    assert caught.value.retry_after == 2.0


async def test_timeouts_and_dropped_connections_are_retried() -> None:
    transport, seen = scripted(httpx.ReadTimeout("slow"), httpx.RemoteProtocolError("cut"), OK)
    await client(transport, RecordingSleep()).get_json("/api")
    assert len(seen) == 3


async def test_unreachable_source_gives_up_with_transient_error() -> None:
    transport, _ = scripted(httpx.ConnectError("refused"))
    with pytest.raises(TransientSourceError, match="could not be reached"):
        await client(transport, RecordingSleep(), RetryPolicy(max_attempts=2)).get_json("/api")


@pytest.mark.parametrize("status", [401, 403])
async def test_refused_credentials_are_auth_errors_and_not_retried(status: int) -> None:
    transport, seen = scripted(httpx.Response(status, json=SN_401))
    with pytest.raises(SourceAuthError) as caught:
        await client(transport, RecordingSleep()).get_json("/api")
    assert f"HTTP {status}: User Not Authenticated: Required" in caught.value.message
    assert caught.value.status_code == status and len(seen) == 1
    assert "hunter2" not in str(caught.value) and "Basic" not in str(caught.value)


async def test_other_4xx_are_fatal_with_vendor_message_but_no_query_string() -> None:
    transport, seen = scripted(httpx.Response(404, json={"errorSummary": "Not found: thing"}))
    with pytest.raises(FatalSourceError) as caught:
        await client(transport, RecordingSleep()).get_json("/api/x", params={"token": "s3cr3t"})
    assert caught.value.message == (
        "ServiceNow rejected the request for /api/x (HTTP 404: Not found: thing)"
    )
    assert len(seen) == 1


async def test_body_that_is_not_json_is_fatal() -> None:
    transport, _ = scripted(httpx.Response(200, text="<html>login</html>"))
    with pytest.raises(FatalSourceError, match="returned a response that is not JSON"):
        await client(transport, RecordingSleep()).get_json("/api")


async def test_concurrency_is_bounded_per_connection() -> None:
    in_flight, peak = 0, 0

    async def handler(request: httpx.Request) -> httpx.Response:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        await asyncio.sleep(0.01)
        in_flight -= 1
        return httpx.Response(200, json={})

    source = client(httpx.MockTransport(handler), RecordingSleep(), max_concurrency=2)
    await asyncio.gather(*(source.get_json(f"/r{i}") for i in range(8)))
    assert peak == 2
