"""The one error tree shared by connectors and the service.

PipError
 ├── ConfigError                 bad configuration or input; never retried
 └── SourceError                 talking to a source system went wrong
      ├── TransientSourceError   429, 5xx, timeouts, dropped connections: retried, bounded
      │    └── RateLimitedError  the source said when to come back (``retry_after``)
      ├── FatalSourceError       other 4xx, garbage responses, records that do not validate
      └── SourceAuthError        401/403, revoked or expired credentials: needs reconnect

Every error carries a short machine-readable ``code`` and a human ``message``;
neither may ever contain a secret.
"""

from __future__ import annotations

from typing import Any


class PipError(Exception):
    """Base of every error this product raises on purpose."""

    code = "pip_error"

    def __init__(self, message: str, *, code: str | None = None, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.details = details

    def __str__(self) -> str:
        return self.message


class ConfigError(PipError):
    """Configuration or input is wrong; retrying changes nothing."""

    code = "config_error"


class SourceError(PipError):
    """A source system could not be read."""

    code = "source_error"

    def __init__(
        self,
        message: str,
        *,
        status_code: int | None = None,
        code: str | None = None,
        **details: Any,
    ) -> None:
        super().__init__(message, code=code, **details)
        self.status_code = status_code


class TransientSourceError(SourceError):
    """A failure that may go away: retried with backoff, a bounded number of times."""

    code = "source_unavailable"


class RateLimitedError(TransientSourceError):
    """The source throttled us and may have said how long to wait."""

    code = "rate_limited"

    def __init__(
        self,
        message: str,
        *,
        retry_after: float | None = None,
        status_code: int | None = 429,
        **details: Any,
    ) -> None:
        super().__init__(message, status_code=status_code, **details)
        self.retry_after = retry_after


class FatalSourceError(SourceError):
    """The source answered in a way that retrying cannot fix."""

    code = "source_failed"


class SourceAuthError(SourceError):
    """Credentials were refused: the connection needs to be reconnected."""

    code = "needs_reconnect"
