"""Jamf Pro API tokens: API client credentials, or an account's bearer token kept alive.

- API clients (Jamf Pro 10.49+): ``POST /api/oauth/token`` with ``grant_type=
  client_credentials``, ``client_id`` and ``client_secret`` in the form body;
  the answer is a standard OAuth token (``access_token``, ``expires_in``).
- Accounts: ``POST /api/v1/auth/token`` with HTTP basic auth answers
  ``{"token": ..., "expires": <ISO 8601>}``. Shortly before it expires the token
  is renewed with ``POST /api/v1/auth/keep-alive`` (which invalidates the old
  one and answers a new one); on close it is given back with
  ``POST /api/v1/auth/invalidate-token`` (204).

Either way :class:`connectors.base.oauth_client.BearerAuth` puts the token on
requests and, when the server answers 401 (a token that expired or was
revoked mid-run), fetches a new one and retries once; a second 401 is a
SourceAuthError.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime
from typing import Any

import httpx
from pydantic import SecretStr

from connectors.base.errors import FatalSourceError, TransientSourceError
from connectors.base.http import Clock, RetryPolicy, decode_json, raise_for_status
from connectors.base.oauth_client import AccessToken, TokenCache, TokenGrant

logger = logging.getLogger(__name__)

FALLBACK_LIFETIME = 300.0


def client_credentials_cache(
    client: httpx.AsyncClient, base_url: str, client_id: str, secret: SecretStr, *, source: str
) -> TokenCache:
    """A token cache for an API client (``/api/oauth/token``)."""
    grant = TokenGrant(
        token_url=f"{base_url}/api/oauth/token", client_id=client_id, client_secret=secret
    )
    return TokenCache(client, grant, source=source)


class AccountTokenCache(TokenCache):
    """Bearer tokens of a Jamf Pro account: issued, kept alive, invalidated on close."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        base_url: str,
        username: str,
        password: SecretStr,
        *,
        source: str,
        margin: float = 60.0,
        clock: Clock = time.time,
    ) -> None:
        grant = TokenGrant(
            token_url=f"{base_url}/api/v1/auth/token",
            client_id=username,
            client_secret=password,
            client_auth="basic",
        )
        super().__init__(client, grant, source=source, margin=margin, clock=clock)
        self.base_url = base_url
        self.keep_alives = 0
        self._current: AccessToken | None = None

    def invalidate(self, value: str) -> None:
        """Forget a token the server refused (it cannot be kept alive either)."""
        super().invalidate(value)
        if self._current is not None and self._current.value == value:
            self._current = None

    async def _request_token(self) -> AccessToken:
        """Keep the current token alive while it is still valid, else ask for a new one."""
        current = self._current
        renewed = None
        if current is not None and current.expires_at > self._clock():
            renewed = await self._keep_alive(current.value)
        self._current = renewed or await self._new_token()
        return self._usable(self._current)

    async def _new_token(self) -> AccessToken:
        secret = self.grant.client_secret.get_secret_value()
        auth = httpx.BasicAuth(self.grant.client_id, secret)
        response = await self._send(self.grant.token_url, auth=auth)
        raise_for_status(self.source, response, RetryPolicy())
        self.fetches += 1
        return self._token_from(response)

    async def _keep_alive(self, token: str) -> AccessToken | None:
        response = await self._send(f"{self.base_url}/api/v1/auth/keep-alive", bearer=token)
        if response.status_code == 401:
            logger.info("%s refused to keep the token alive; asking for a new one", self.source)
            return None
        raise_for_status(self.source, response, RetryPolicy())
        self.keep_alives += 1
        return self._token_from(response)

    async def release(self) -> None:
        """Invalidate the current token on the server (best effort; never raises)."""
        current, self._current, self._token = self._current, None, None
        if current is None or current.expires_at <= self._clock():
            return
        url = f"{self.base_url}/api/v1/auth/invalidate-token"
        try:
            response = await self._send(url, bearer=current.value)
        except TransientSourceError as err:
            logger.warning("%s: could not invalidate the token: %s", self.source, err)
            return
        if response.status_code not in (204, 401):
            logger.warning(
                "%s: invalidating the token answered %d", self.source, response.status_code
            )

    def _token_from(self, response: httpx.Response) -> AccessToken:
        body = decode_json(self.source, response)
        value = body.get("token") if isinstance(body, dict) else None
        if not isinstance(value, str) or not value:
            raise FatalSourceError(f"{self.source} answered the token request without a token")
        expires = _expiry(body.get("expires"), self._clock())
        logger.info(
            "%s issued a bearer token valid for %d s", self.source, int(expires - self._clock())
        )
        return AccessToken(value, expires)

    def _usable(self, token: AccessToken) -> AccessToken:
        """The token as cached: dropped ``margin`` seconds before it really expires."""
        lifetime = token.expires_at - self._clock()
        return AccessToken(token.value, self._clock() + max(lifetime - self.margin, lifetime / 2))

    async def _send(
        self, url: str, *, auth: httpx.Auth | None = None, bearer: str | None = None
    ) -> httpx.Response:
        headers = {"Accept": "application/json"}
        if bearer is not None:
            headers["Authorization"] = f"Bearer {bearer}"
        try:
            return await self.client.post(
                url, headers=headers, auth=auth or httpx.USE_CLIENT_DEFAULT
            )
        except httpx.TransportError as err:
            raise TransientSourceError(
                f"{self.source} auth endpoint unreachable ({type(err).__name__})"
            ) from err


def _expiry(value: Any, now: float) -> float:
    """Epoch seconds of Jamf's ``expires`` (ISO 8601, UTC); a short default when unreadable."""
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
        except ValueError:
            pass
    return now + FALLBACK_LIFETIME
