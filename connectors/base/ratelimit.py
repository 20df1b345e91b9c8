"""Reading what a source says about waiting: Retry-After, rate headers, error bodies.

Pure functions over header values and decoded bodies, used by
:class:`connectors.base.http.SourceClient`. Times are epoch seconds.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import Any

# (remaining, reset) header pairs, most specific first. Header lookups are
# case-insensitive on httpx.Headers, so Freshservice's X-Ratelimit-* match too.
RATE_HEADERS: tuple[tuple[str, str], ...] = (
    ("X-Rate-Limit-Remaining", "X-Rate-Limit-Reset"),  # Okta: reset in epoch seconds
    ("X-RateLimit-Remaining", "X-RateLimit-Reset"),  # GitHub & co: epoch or delta seconds
    ("RateLimit-Remaining", "RateLimit-Reset"),  # IETF draft: delta seconds
)

# Values above this are epoch timestamps, below it durations in seconds.
_EPOCH_THRESHOLD = 1_000_000_000
_MAX_MESSAGE = 300


def retry_after_seconds(value: str | None, now: float) -> float | None:
    """Seconds to wait from a ``Retry-After`` value (delay-seconds or HTTP-date)."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        return max(float(text), 0.0)
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    return max(when.timestamp() - now, 0.0)


def rate_window_reset(headers: Mapping[str, str], now: float) -> float | None:
    """When (epoch seconds) to send again if the rate headers say nothing is left."""
    for remaining_name, reset_name in RATE_HEADERS:
        remaining = _number(headers.get(remaining_name))
        if remaining is None:
            continue
        if remaining > 0:
            return None
        return reset_epoch(headers.get(reset_name), now)
    return None


def reset_epoch(value: str | None, now: float) -> float | None:
    """A reset header as epoch seconds: epoch, delta seconds or an ISO 8601 timestamp."""
    if value is None:
        return None
    number = _number(value)
    if number is not None:
        return number if number >= _EPOCH_THRESHOLD else now + number
    try:
        return datetime.fromisoformat(value.strip().replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def _number(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        return float(value.strip())
    except ValueError:
        return None


def vendor_message(body: Any) -> str | None:
    """The human error message inside a vendor's JSON error body, if it has one."""
    if not isinstance(body, dict):
        return None
    parts = _error_parts(body)
    text = ": ".join(str(part) for part in parts if part not in (None, ""))
    cleaned = " ".join(text.split())
    return cleaned[:_MAX_MESSAGE] or None


def _error_parts(body: dict[str, Any]) -> list[Any]:
    error = body.get("error")
    if isinstance(error, dict):  # ServiceNow, Microsoft Graph
        return [error.get("message"), error.get("detail")]
    if isinstance(error, str):  # OAuth; Auth0 Management API {"error", "message"}
        return [error, body.get("error_description") or body.get("message")]
    errors = body.get("errors")
    if isinstance(errors, list) and errors and isinstance(errors[0], dict):
        return [errors[0].get("message") or errors[0].get("detail")]
    messages = body.get("errorMessages")
    if isinstance(messages, list) and messages:  # Jira: {"errorMessages": [...], "errors": {...}}
        return [messages[0]]
    if isinstance(errors, dict) and errors:  # Jira field errors: {"errors": {"summary": "..."}}
        return [f"{field} ({message})" for field, message in sorted(errors.items())]
    for key in ("errorSummary", "message", "detail", "title"):  # Okta, generic, RFC 7807
        if body.get(key):
            return [body[key]]
    return []
