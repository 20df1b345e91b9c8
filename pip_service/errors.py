"""Service-level errors, on top of the connector error tree.

PipError                          (connectors.base.errors)
 ├── ConfigError                  400/422: bad configuration or input
 ├── SourceError ...              502/503: see connectors.base.errors
 ├── NotFoundError                404: no such connection, run, document...
 ├── ConflictError                409: a name taken, a run already going
 ├── AuthenticationError          401: no or a wrong token
 ├── ForbiddenError               403: the token's role may not do this
 └── UnavailableError             503: data past its TTL that fails closed, a dependency down

One exception handler in the API maps each to an RFC 9457 problem response.
"""

from __future__ import annotations

from connectors.base.errors import (
    ConfigError,
    FatalSourceError,
    PipError,
    RateLimitedError,
    SourceAuthError,
    SourceError,
    TransientSourceError,
)

__all__ = [
    "AuthenticationError",
    "ConfigError",
    "ConflictError",
    "FatalSourceError",
    "ForbiddenError",
    "NotFoundError",
    "PipError",
    "RateLimitedError",
    "SourceAuthError",
    "SourceError",
    "TransientSourceError",
    "UnavailableError",
]


class NotFoundError(PipError):
    """The thing asked for does not exist."""

    code = "not_found"


class ConflictError(PipError):
    """The request conflicts with the current state."""

    code = "conflict"


class AuthenticationError(PipError):
    """No bearer token, or one we do not know."""

    code = "unauthenticated"


class ForbiddenError(PipError):
    """The token is known but its role may not do this."""

    code = "forbidden"


class UnavailableError(PipError):
    """The answer cannot be given now (stale data that fails closed, a dependency down)."""

    code = "unavailable"
