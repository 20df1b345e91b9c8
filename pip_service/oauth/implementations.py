"""OAuth 2.0 implementations: authorize URL, code exchange, refresh, revoke (authlib underneath).

``OAuth2Implementation`` is the abstract interface (Home Assistant's model);
``AuthlibImplementation`` does the protocol work with authlib's
``AsyncOAuth2Client`` (PKCE S256, client authentication, RFC 7009 revocation)
against endpoints from OIDC discovery (validated with authlib's
``OpenIDProviderMetadata``) or from a preset. Provider answers map onto the
error tree: ``invalid_grant`` → ReconnectNeededError, other OAuth errors →
SourceAuthError, 5xx and network failures → TransientSourceError.
"""

from __future__ import annotations

import logging
import time
import warnings
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx
import orjson
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from authlib.oidc.discovery import OpenIDProviderMetadata
from pydantic import SecretStr

from pip_service.errors import SourceAuthError, TransientSourceError
from pip_service.oauth.errors import ReconnectNeededError

with warnings.catch_warnings():  # authlib 1.9 prefers httpx2 and warns when it uses httpx
    warnings.simplefilter("ignore", DeprecationWarning)
    from authlib.integrations.base_client import OAuthError
    from authlib.integrations.httpx_client import AsyncOAuth2Client

logger = logging.getLogger(__name__)

TIMEOUT = httpx.Timeout(20.0, connect=10.0)
DEFAULT_LIFETIME = 3600.0


@dataclass(frozen=True)
class ProviderMetadata:
    """The endpoints of an authorization server."""

    token_endpoint: str
    authorization_endpoint: str | None = None
    issuer: str | None = None
    revocation_endpoint: str | None = None
    introspection_endpoint: str | None = None
    userinfo_endpoint: str | None = None
    iss_parameter_supported: bool = False


@dataclass(frozen=True)
class TokenSet:
    """Tokens as stored (sealed); ``repr`` never shows them."""

    access_token: str = field(repr=False)
    refresh_token: str | None = field(default=None, repr=False)
    expires_at: float | None = None
    scopes: tuple[str, ...] = ()
    token_type: str = "Bearer"
    obtained_at: float = field(default_factory=time.time)

    @classmethod
    def from_response(
        cls, body: Mapping[str, Any], *, previous: TokenSet | None = None
    ) -> TokenSet:
        """Tokens from a token endpoint answer (a missing refresh token keeps the previous one)."""
        scope = body.get("scope")
        scopes = tuple(str(scope).split()) if scope else (previous.scopes if previous else ())
        refresh = body.get("refresh_token") or (previous.refresh_token if previous else None)
        return cls(
            access_token=str(body["access_token"]),
            refresh_token=refresh,
            expires_at=_expires_at(body),
            scopes=scopes,
            token_type=str(body.get("token_type") or "Bearer"),
        )

    def to_json(self) -> bytes:
        """The plaintext to seal."""
        return orjson.dumps({**self.__dict__, "scopes": list(self.scopes)})

    @classmethod
    def from_json(cls, data: bytes) -> TokenSet:
        """Tokens from opened plaintext."""
        value = orjson.loads(data)
        return cls(**{**value, "scopes": tuple(value.get("scopes") or ())})


class OAuth2Implementation(ABC):
    """What a provider must offer for connect flows and token upkeep."""

    name: str

    @abstractmethod
    async def metadata(self) -> ProviderMetadata:
        """The provider's endpoints."""

    @abstractmethod
    async def authorize_url(self, *, state: str, code_verifier: str, nonce: str) -> str:
        """Where to send the admin's browser (PKCE S256 challenge and state included)."""

    @abstractmethod
    async def exchange_code(self, *, code: str, code_verifier: str) -> TokenSet:
        """Trade an authorization code (and its PKCE verifier) for tokens."""

    @abstractmethod
    async def refresh(self, tokens: TokenSet) -> TokenSet:
        """New tokens from the refresh token (a rotated refresh token included)."""

    @abstractmethod
    async def revoke(self, tokens: TokenSet) -> bool:
        """Revoke at the provider (RFC 7009); False when the provider cannot revoke."""

    @abstractmethod
    async def client_credentials(self) -> TokenSet:
        """An access token for the client itself (RFC 6749 section 4.4)."""


@dataclass(frozen=True)
class ClientSettings:
    """The OAuth client of one connection."""

    client_id: str
    client_secret: SecretStr | None
    redirect_uri: str
    scopes: tuple[str, ...]
    auth_method: str = "client_secret_basic"
    authorize_params: Mapping[str, str] = field(default_factory=dict)


class AuthlibImplementation(OAuth2Implementation):
    """The implementation every preset uses, on authlib's ``AsyncOAuth2Client``."""

    def __init__(
        self,
        name: str,
        client: ClientSettings,
        metadata: ProviderMetadata,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.name = name
        self.client = client
        self._metadata = metadata
        self._transport = transport

    async def metadata(self) -> ProviderMetadata:
        """The endpoints this implementation was made with."""
        return self._metadata

    async def authorize_url(self, *, state: str, code_verifier: str, nonce: str) -> str:
        """The authorization request URL with PKCE S256, state and nonce."""
        endpoint = self._metadata.authorization_endpoint
        if endpoint is None:
            raise SourceAuthError(f"{self.name} has no authorization endpoint (no browser flow)")
        async with self._session() as session:
            url, _ = session.create_authorization_url(
                endpoint, state=state, code_verifier=code_verifier, nonce=nonce,
                **dict(self.client.authorize_params),
            )  # fmt: skip
        assert create_s256_code_challenge(code_verifier) in url
        return str(url)

    async def exchange_code(self, *, code: str, code_verifier: str) -> TokenSet:
        """POST the code with its verifier to the token endpoint."""
        async with self._session() as session:
            call = session.fetch_token(
                self._metadata.token_endpoint,
                code=code,
                code_verifier=code_verifier,
                grant_type="authorization_code",
            )
            body = await self._call(call)
        return TokenSet.from_response(body)

    async def refresh(self, tokens: TokenSet) -> TokenSet:
        """Use the refresh token; ReconnectNeededError when there is none or it is refused."""
        if not tokens.refresh_token:
            raise ReconnectNeededError(f"{self.name} gave no refresh token; connect again")
        async with self._session(with_scope=False) as session:  # same scopes as granted
            call = session.refresh_token(
                self._metadata.token_endpoint, refresh_token=tokens.refresh_token
            )
            body = await self._call(call)
        return TokenSet.from_response(body, previous=tokens)

    async def revoke(self, tokens: TokenSet) -> bool:
        """Revoke the refresh token (which ends the grant) and the access token."""
        endpoint = self._metadata.revocation_endpoint
        if endpoint is None:
            return False
        async with self._session() as session:
            for value, hint in ((tokens.refresh_token, "refresh_token"),
                                (tokens.access_token, "access_token")):  # fmt: skip
                if value:
                    await self._revoke_one(session, endpoint, value, hint)
        return True

    async def client_credentials(self) -> TokenSet:
        """Fetch a token for the client itself."""
        async with self._session() as session:
            call = session.fetch_token(
                self._metadata.token_endpoint, grant_type="client_credentials"
            )
            body = await self._call(call)
        return TokenSet.from_response(body)

    def _session(self, *, with_scope: bool = True) -> AsyncOAuth2Client:
        secret = self.client.client_secret
        return AsyncOAuth2Client(
            client_id=self.client.client_id,
            client_secret=secret.get_secret_value() if secret else None,
            token_endpoint_auth_method=self.client.auth_method,
            revocation_endpoint_auth_method=self.client.auth_method,
            scope=(" ".join(self.client.scopes) or None) if with_scope else None,
            redirect_uri=self.client.redirect_uri,
            code_challenge_method="S256",
            timeout=TIMEOUT,
            transport=self._transport,
        )

    async def _call(self, call: Any) -> dict[str, Any]:
        try:
            body = await call
        except OAuthError as err:
            raise _oauth_error(self.name, err) from err
        except httpx.HTTPStatusError as err:
            status = err.response.status_code
            message = f"{self.name} token endpoint failed (HTTP {status})"
            raise TransientSourceError(message) from err
        except httpx.TransportError as err:
            raise TransientSourceError(f"{self.name} token endpoint unreachable") from err
        return dict(body)

    async def _revoke_one(
        self, session: AsyncOAuth2Client, endpoint: str, value: str, hint: str
    ) -> None:
        try:
            response = await session.revoke_token(endpoint, token=value, token_type_hint=hint)
        except httpx.TransportError as err:
            raise TransientSourceError(f"{self.name} revocation endpoint unreachable") from err
        if response.status_code >= 400:
            status = response.status_code
            raise SourceAuthError(f"{self.name} refused to revoke the {hint} (HTTP {status})")


async def discover(
    url: str, *, transport: httpx.AsyncBaseTransport | None = None
) -> ProviderMetadata:
    """The endpoints from an OIDC discovery document (validated; issuer checked)."""
    async with httpx.AsyncClient(timeout=TIMEOUT, transport=transport) as http:
        try:
            response = await http.get(url, headers={"Accept": "application/json"})
            response.raise_for_status()
            document = OpenIDProviderMetadata(response.json())
        except (httpx.HTTPError, ValueError) as err:
            raise TransientSourceError(f"OIDC discovery at {url} failed: {err}") from err
    return _metadata_from(url, document)


def _metadata_from(url: str, document: OpenIDProviderMetadata) -> ProviderMetadata:
    try:
        document.validate_issuer()
        document.validate_token_endpoint()
    except ValueError as err:
        raise SourceAuthError(f"OIDC discovery document at {url} is invalid: {err}") from err
    issuer = str(document["issuer"])
    if not url.startswith(issuer.rstrip("/") + "/"):
        raise SourceAuthError(f"OIDC discovery at {url} names another issuer ({issuer})")
    return ProviderMetadata(
        token_endpoint=str(document["token_endpoint"]),
        authorization_endpoint=document.get("authorization_endpoint"),
        issuer=issuer,
        revocation_endpoint=document.get("revocation_endpoint"),
        introspection_endpoint=document.get("introspection_endpoint"),
        userinfo_endpoint=document.get("userinfo_endpoint"),
        iss_parameter_supported=bool(
            document.get("authorization_response_iss_parameter_supported")
        ),
    )


def _oauth_error(name: str, err: OAuthError) -> SourceAuthError:
    code = str(getattr(err, "error", "") or "oauth_error")
    described = getattr(err, "description", None)
    message = f"{name} refused the request: {code}" + (f" ({described})" if described else "")
    if code == "invalid_grant":
        return ReconnectNeededError(message, provider_error=code)
    return SourceAuthError(message, code=f"oauth_{code}"[:60], provider_error=code)


def _expires_at(body: Mapping[str, Any]) -> float | None:
    if body.get("expires_at") is not None:
        return float(body["expires_at"])
    if body.get("expires_in") is None:
        return None
    try:
        return time.time() + float(body["expires_in"])
    except (TypeError, ValueError):
        return time.time() + DEFAULT_LIFETIME
