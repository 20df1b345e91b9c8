"""Why a connect flow or a token operation failed, each with a named reason.

PipError
 ├── OAuthFlowError (ConfigError)        the callback cannot finish: ``reason`` names why
 │                                       (state_invalid, state_expired, state_replayed,
 │                                       wrong_admin, issuer_mismatch, access_denied,
 │                                       code_rejected, provider_error, not_configured)
 └── SourceAuthError
      └── ReconnectNeededError           refresh got ``invalid_grant`` or no token is stored

Messages never carry a token, a code, a verifier or a client secret.
"""

from __future__ import annotations

from typing import Any

from pip_service.errors import ConfigError, SourceAuthError

REASONS = {
    "state_missing": "The callback carried no state: start the connection again from the PIP.",
    "state_invalid": "The state was altered or was not issued by this PIP.",
    "state_expired": "The connect flow took too long; start it again.",
    "state_replayed": "This connect flow was already completed or abandoned; start it again.",
    "wrong_admin": "This connect flow was started by another admin (or in another browser).",
    "issuer_mismatch": "The answer came from a different authorization server than expected.",
    "access_denied": "Access was denied at the provider.",
    "code_rejected": "The provider refused the authorization code (used already or expired).",
    "provider_error": "The provider answered with an error.",
    "not_configured": "The connection has no OAuth client configured.",
}


class OAuthFlowError(ConfigError):
    """A connect flow that cannot finish; ``reason`` is one of ``REASONS``."""

    def __init__(self, reason: str, detail: str | None = None, **details: Any) -> None:
        message = REASONS.get(reason, "The connect flow failed.")
        if detail:
            message = f"{message} ({detail})"
        super().__init__(message, code=f"oauth_{reason}", reason=reason, **details)
        self.reason = reason


class ReconnectNeededError(SourceAuthError):
    """The stored grant no longer works: an admin must connect the source again."""

    code = "needs_reconnect"
