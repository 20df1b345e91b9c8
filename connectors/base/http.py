"""SourceClient: the one way connectors talk HTTP to a source system.

It wraps an ``httpx.AsyncClient`` that is passed in (the engine owns it, tests
swap its transport) and adds what every SaaS API needs:

- retries with tenacity: 429, 500/502/503/504, timeouts and dropped
  connections are retried with exponential backoff and jitter, a bounded
  number of times (:class:`RetryPolicy`);
- ``Retry-After`` honoured in seconds and in HTTP-date form (waited exactly,
  capped by ``RetryPolicy.max_wait``);
- vendor rate headers (``X-Rate-Limit-*`` Okta style, ``X-RateLimit-*``,
  IETF ``RateLimit-*``): when a response says nothing is left, the next
  request waits until the window resets;
- bounded concurrency per connection (a semaphore);
- final failures mapped onto the error tree (:mod:`connectors.base.errors`).
  Messages carry the status and the vendor's own error message, never
  headers, query strings or credentials.

The sleep function and the clock are injectable so tests can assert the
waited durations without sleeping.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

import httpx
import orjson
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception_type, stop_after_attempt
from tenacity.wait import wait_exponential, wait_random

from connectors.base.allocation import gc_paused
from connectors.base.errors import (
    FatalSourceError,
    RateLimitedError,
    SourceAuthError,
    SourceError,
    TransientSourceError,
)
from connectors.base.ratelimit import rate_window_reset, retry_after_seconds, vendor_message

logger = logging.getLogger(__name__)

Sleep = Callable[[float], Awaitable[None]]
Clock = Callable[[], float]


@dataclass(frozen=True)
class RetryPolicy:
    """How hard a SourceClient tries before giving up.

    ``max_attempts`` counts the first try. Backoff grows from ``initial_backoff``
    doubling up to ``max_backoff`` plus up to ``jitter`` seconds of random jitter.
    ``max_wait`` caps any single wait asked for by the source (Retry-After,
    rate-limit reset).
    """

    max_attempts: int = 5
    initial_backoff: float = 0.5
    max_backoff: float = 30.0
    jitter: float = 1.0
    max_wait: float = 300.0
    retry_statuses: frozenset[int] = frozenset({429, 500, 502, 503, 504})


class JsonResponse(NamedTuple):
    """A response together with its decoded JSON body."""

    response: httpx.Response
    body: Any


class SourceClient:
    """Retrying, rate-limit aware HTTP access to one connection's source system."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        *,
        source: str,
        auth: httpx.Auth | None = None,
        policy: RetryPolicy | None = None,
        max_concurrency: int = 4,
        sleep: Sleep | None = None,
        clock: Clock = time.time,
    ) -> None:
        self.client = client
        self.source = source
        self.policy = policy or RetryPolicy()
        self._auth = auth
        self._semaphore = asyncio.Semaphore(max_concurrency)
        self._sleep: Sleep = sleep or asyncio.sleep
        self._clock = clock
        self._resume_at: float | None = None
        self._backoff = wait_exponential(
            multiplier=self.policy.initial_backoff, max=self.policy.max_backoff
        ) + wait_random(0, self.policy.jitter)

    async def request(
        self,
        method: str,
        url: str | httpx.URL,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        """Send one request, retrying transient failures; raise the error tree on failure."""
        retrying = AsyncRetrying(
            stop=stop_after_attempt(self.policy.max_attempts),
            wait=self._wait,
            retry=retry_if_exception_type(TransientSourceError),
            sleep=self._sleep,
            before_sleep=self._log_retry,
            reraise=True,
        )
        try:
            response: httpx.Response = await retrying(
                self._send_once, method, url, params=params, json=json, headers=headers
            )
        except TransientSourceError as err:
            raise _exhausted(err, self.policy.max_attempts) from err
        return response

    async def get_json(
        self, url: str | httpx.URL, *, params: Mapping[str, Any] | None = None
    ) -> JsonResponse:
        """GET ``url`` and decode its JSON body (FatalSourceError when it is not JSON)."""
        response = await self.request("GET", url, params=params)
        return JsonResponse(response, decode_json(self.source, response))

    async def _send_once(
        self,
        method: str,
        url: str | httpx.URL,
        *,
        params: Mapping[str, Any] | None,
        json: Any,
        headers: Mapping[str, str] | None,
    ) -> httpx.Response:
        await self._wait_for_rate_window()
        async with self._semaphore:
            response = await self._transport_call(
                method, url, params=params, json=json, headers=headers
            )
        self._note_rate_window(response)
        raise_for_status(self.source, response, self.policy, self._clock)
        return response

    async def _transport_call(
        self, method: str, url: str | httpx.URL, **kwargs: Any
    ) -> httpx.Response:
        auth: Any = self._auth if self._auth is not None else httpx.USE_CLIENT_DEFAULT
        try:
            return await self.client.request(method, url, auth=auth, **kwargs)
        except httpx.TimeoutException as err:
            message = f"{self.source} did not answer in time ({type(err).__name__})"
            raise TransientSourceError(message, code="source_timeout") from err
        except httpx.TransportError as err:
            message = f"{self.source} could not be reached ({type(err).__name__})"
            raise TransientSourceError(message) from err

    def _wait(self, state: RetryCallState) -> float:
        error = state.outcome.exception() if state.outcome else None
        if isinstance(error, RateLimitedError) and error.retry_after is not None:
            return min(error.retry_after, self.policy.max_wait)
        return float(self._backoff(state))

    async def _log_retry(self, state: RetryCallState) -> None:
        error = state.outcome.exception() if state.outcome else None
        wait = state.next_action.sleep if state.next_action else 0.0
        logger.warning(
            "%s (attempt %d of %d); retrying in %.1f s",
            error,
            state.attempt_number,
            self.policy.max_attempts,
            wait,
        )

    def _note_rate_window(self, response: httpx.Response) -> None:
        reset_at = rate_window_reset(response.headers, self._clock())
        if reset_at is not None:
            self._resume_at = reset_at

    async def _wait_for_rate_window(self) -> None:
        if self._resume_at is None:
            return
        delay = min(self._resume_at - self._clock(), self.policy.max_wait)
        self._resume_at = None
        if delay > 0:
            logger.info("%s rate limit used up; waiting %.1f s for it to reset", self.source, delay)
            await self._sleep(delay)


def raise_for_status(
    source: str, response: httpx.Response, policy: RetryPolicy, clock: Clock = time.time
) -> None:
    """Map a non-2xx response onto the error tree; 2xx and 3xx pass."""
    status = response.status_code
    if status < 400:
        return
    detail = _detail(response)
    if status in policy.retry_statuses:
        raise _transient(source, response, detail, clock)
    if status in (401, 403):
        what = "refused the credentials" if status == 401 else "denied access"
        raise SourceAuthError(f"{source} {what} (HTTP {status}{detail})", status_code=status)
    path = response.request.url.path
    message = f"{source} rejected the request for {path} (HTTP {status}{detail})"
    raise FatalSourceError(message, status_code=status)


def _transient(
    source: str, response: httpx.Response, detail: str, clock: Clock
) -> TransientSourceError:
    status = response.status_code
    retry_after = retry_after_seconds(response.headers.get("Retry-After"), clock())
    if status == 429:
        message = f"{source} is rate limiting requests (HTTP 429{detail})"
        return RateLimitedError(message, retry_after=retry_after, status_code=status)
    message = f"{source} is unavailable (HTTP {status}{detail})"
    if retry_after is not None:
        return RateLimitedError(message, retry_after=retry_after, status_code=status)
    return TransientSourceError(message, status_code=status)


def _detail(response: httpx.Response) -> str:
    try:
        body = orjson.loads(response.content)
    except orjson.JSONDecodeError:
        return ""
    message = vendor_message(body)
    return f": {message}" if message else ""


def decode_json(source: str, response: httpx.Response) -> Any:
    """The response's JSON body; FatalSourceError when it is empty or not JSON.

    Decoded with the garbage collector paused (see ``allocation``).
    """
    try:
        with gc_paused():
            return orjson.loads(response.content)
    except orjson.JSONDecodeError as err:
        kind = response.headers.get("Content-Type", "no content type").split(";")[0]
        message = (
            f"{source} returned a response that is not JSON "
            f"(HTTP {response.status_code}, {kind}, {len(response.content)} bytes)"
        )
        raise FatalSourceError(message, status_code=response.status_code) from err


def _exhausted(error: TransientSourceError, attempts: int) -> SourceError:
    message = f"{error.message}; gave up after {attempts} attempts"
    if isinstance(error, RateLimitedError):
        return RateLimitedError(
            message, retry_after=error.retry_after, status_code=error.status_code
        )
    return TransientSourceError(message, status_code=error.status_code, code=error.code)
