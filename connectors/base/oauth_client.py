"""OAuth 2.0 access tokens a connector gets for itself (no browser), cached until expiry.

For the grants that need no user at a browser (RFC 6749 section 4.4 client
credentials, and section 4.3 resource owner password, which ServiceNow and a
few others still offer): :class:`TokenCache` posts the grant to the token
endpoint once, keeps the token until ``expires_in`` minus a safety margin, and
lets only one task refresh at a time. :class:`BearerAuth` is the httpx auth
flow that puts the token on every request and, when the source still answers
401 (a token revoked early), drops it and retries once with a fresh one.

Usage::

    grant = TokenGrant(
        token_url="https://acme.service-now.com/oauth_token.do",
        client_id="...", client_secret=SecretStr("..."),
    )
    auth = BearerAuth(TokenCache(http_client, grant, source="ServiceNow"))
    SourceClient(http_client, source="ServiceNow", auth=auth)

Token endpoint failures map onto the error tree: 400/401 → SourceAuthError
(the connection needs new credentials), 429/5xx/timeouts →
TransientSourceError (retried by SourceClient). Messages carry the endpoint's
``error``/``error_description``, never the secret or the token.

Grants whose form must be computed per request (a freshly signed client
assertion: Entra ID certificates, Okta service apps) pass ``fields``, a
callable whose form fields are added to every token request; see
:mod:`connectors.base.client_assertion`.

The browser "connect" flow (authorization code + PKCE) is a different module
(issue 5); it can reuse :class:`TokenCache` by subclassing ``_request_token``.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncGenerator, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import httpx
from pydantic import SecretStr

from connectors.base.auth import TokenProvider
from connectors.base.errors import FatalSourceError, TransientSourceError
from connectors.base.http import Clock, RetryPolicy, decode_json, raise_for_status

logger = logging.getLogger(__name__)

DEFAULT_LIFETIME = 300.0
NO_SECRET = SecretStr("")
FormFields = Callable[[], Mapping[str, str]]


@dataclass(frozen=True)
class TokenGrant:
    """What to post to the token endpoint.

    ``grant_type`` is ``client_credentials`` unless ``extra`` carries another grant's
    fields (the password grant sends ``username`` and ``password`` there). The client
    authenticates in the form body (``client_auth="body"``, what ServiceNow documents),
    with HTTP basic (``"basic"``, RFC 6749 section 2.3.1), or through ``fields``
    (``"none"``: e.g. a client assertion). ``fields`` is called for every token request
    and its form fields are added last.
    """

    token_url: str
    client_id: str
    client_secret: SecretStr = NO_SECRET
    grant_type: str = "client_credentials"
    scope: str | None = None
    extra: Mapping[str, SecretStr] = field(default_factory=dict)
    client_auth: Literal["body", "basic", "none"] = "body"
    fields: FormFields | None = field(default=None, repr=False, compare=False)

    def form(self) -> dict[str, str]:
        """The form fields of the token request (secrets included: never log it)."""
        form = {"grant_type": self.grant_type}
        if self.client_auth == "body":
            form["client_id"] = self.client_id
            form["client_secret"] = self.client_secret.get_secret_value()
        if self.scope:
            form["scope"] = self.scope
        form.update({name: secret.get_secret_value() for name, secret in self.extra.items()})
        if self.fields is not None:
            form.update(self.fields())
        return form


@dataclass(frozen=True)
class AccessToken:
    """A token and the clock time after which it is no longer used."""

    value: str
    expires_at: float


class TokenCache:
    """One grant's access token, fetched on first use and again shortly before it expires."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        grant: TokenGrant,
        *,
        source: str,
        margin: float = 60.0,
        clock: Clock = time.time,
    ) -> None:
        self.client = client
        self.grant = grant
        self.source = source
        self.margin = margin
        self._clock = clock
        self._token: AccessToken | None = None
        self._lock = asyncio.Lock()
        self.fetches = 0

    async def token(self) -> str:
        """A valid access token (fetched under a lock when missing or about to expire)."""
        current = self._token
        if current is not None and current.expires_at > self._clock():
            return current.value
        async with self._lock:
            current = self._token
            if current is None or current.expires_at <= self._clock():
                self._token = current = await self._request_token()
            return current.value

    def invalidate(self, value: str) -> None:
        """Forget ``value`` (the source refused it) unless it was already replaced."""
        if self._token is not None and self._token.value == value:
            self._token = None

    async def _request_token(self) -> AccessToken:
        """Post the grant; the token with its expiry (``expires_in`` minus the margin)."""
        response = await self._post()
        _raise_for_token_error(self.source, response)
        body = decode_json(self.source, response)
        value = body.get("access_token") if isinstance(body, dict) else None
        if not isinstance(value, str) or not value:
            raise FatalSourceError(f"{self.source} answered the token request without a token")
        self.fetches += 1
        lifetime = _lifetime(body.get("expires_in"))
        logger.info("%s issued an access token valid for %d s", self.source, int(lifetime))
        return AccessToken(value, self._clock() + max(lifetime - self.margin, lifetime / 2))

    async def _post(self) -> httpx.Response:
        auth: httpx.Auth | None = None
        if self.grant.client_auth == "basic":
            secret = self.grant.client_secret.get_secret_value()
            auth = httpx.BasicAuth(self.grant.client_id, secret)
        try:
            return await self.client.post(
                self.grant.token_url,
                data=self.grant.form(),
                auth=auth or httpx.USE_CLIENT_DEFAULT,
                headers={"Accept": "application/json"},
            )
        except httpx.TimeoutException as err:
            raise TransientSourceError(
                f"{self.source} token endpoint did not answer in time", code="source_timeout"
            ) from err
        except httpx.TransportError as err:
            raise TransientSourceError(f"{self.source} token endpoint unreachable") from err


class BearerAuth(httpx.Auth):
    """httpx auth flow: ``Authorization: Bearer <token>``, one retry after a 401."""

    def __init__(self, cache: TokenProvider) -> None:
        self.cache = cache

    async def async_auth_flow(
        self, request: httpx.Request
    ) -> AsyncGenerator[httpx.Request, httpx.Response]:
        """Send with the cached token; on 401 drop it and send once more with a new one."""
        token = await self.cache.token()
        request.headers["Authorization"] = f"Bearer {token}"
        response = yield request
        if response.status_code == 401:
            self.cache.invalidate(token)
            request.headers["Authorization"] = f"Bearer {await self.cache.token()}"
            yield request


def _raise_for_token_error(source: str, response: httpx.Response) -> None:
    if response.status_code in (400, 401):
        raise_for_status(source, _as_auth_failure(response), RetryPolicy())
    raise_for_status(f"{source} token endpoint", response, RetryPolicy())


def _as_auth_failure(response: httpx.Response) -> httpx.Response:
    """A 400 from a token endpoint (invalid_client, invalid_grant) is refused credentials."""
    if response.status_code == 401:
        return response
    return httpx.Response(401, content=response.content, request=response.request)


def _lifetime(expires_in: Any) -> float:
    try:
        seconds = float(expires_in)
    except (TypeError, ValueError):
        return DEFAULT_LIFETIME
    return seconds if seconds > 0 else DEFAULT_LIFETIME
