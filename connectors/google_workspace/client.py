"""A SourceClient that knows Google's rate-limit 403s.

Google APIs answer ``{"error": {"code", "message", "errors": [{"reason", "domain",
"message"}], "status"}}`` ("Directory API: Limits and Quotas",
developers.google.com/admin-sdk/directory/v1/limits): a 403 whose reason is
``userRateLimitExceeded``, ``rateLimitExceeded`` or ``quotaExceeded`` is
throttling, to be retried with exponential backoff, not refused credentials.
"""

from __future__ import annotations

from typing import Any

import httpx
import orjson

from connectors.base.errors import RateLimitedError
from connectors.base.http import SourceClient
from connectors.base.ratelimit import retry_after_seconds

RATE_REASONS = frozenset({"userRateLimitExceeded", "rateLimitExceeded", "quotaExceeded"})


def rate_reason(response: httpx.Response) -> str | None:
    """The rate-limit reason of a Google 403, else None."""
    if response.status_code != 403:
        return None
    try:
        body: Any = orjson.loads(response.content)
    except orjson.JSONDecodeError:
        return None
    errors = body.get("error", {}).get("errors") if isinstance(body, dict) else None
    reasons = [e.get("reason") for e in errors or [] if isinstance(e, dict)]
    return next((r for r in reasons if r in RATE_REASONS), None)


class GoogleSourceClient(SourceClient):
    """SourceClient retrying Google's rate-limit 403s like 429s."""

    async def _transport_call(
        self, method: str, url: str | httpx.URL, **kwargs: Any
    ) -> httpx.Response:
        response = await super()._transport_call(method, url, **kwargs)
        reason = rate_reason(response)
        if reason is not None:
            wait = retry_after_seconds(response.headers.get("Retry-After"), self._clock())
            message = f"{self.source} is rate limiting requests (HTTP 403: {reason})"
            raise RateLimitedError(message, retry_after=wait, status_code=403)
        return response
