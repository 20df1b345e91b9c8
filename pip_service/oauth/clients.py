"""A connection's OAuth client: stored (secret sealed), and turned into an implementation.

Endpoints come from the preset: OIDC discovery when the preset has a discovery
URL (cached for an hour per URL), static templates otherwise.
"""

from __future__ import annotations

import logging
import time
from urllib.parse import urlsplit

import httpx
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from pip_service.connections.models import Connection
from pip_service.errors import ConfigError, NotFoundError
from pip_service.logging import register_secret
from pip_service.oauth.errors import OAuthFlowError
from pip_service.oauth.implementations import (
    AuthlibImplementation,
    ClientSettings,
    ProviderMetadata,
    discover,
)
from pip_service.oauth.models import OAuthClient
from pip_service.oauth.presets import Preset, get_preset
from pip_service.oauth.schemas import OAuthClientIn
from pip_service.secrets.crypto import KeyRing

logger = logging.getLogger(__name__)

DISCOVERY_TTL = 3600.0
_LOOPBACK = {"127.0.0.1", "localhost", "::1"}


def client_context(connection_id: int) -> bytes:
    """Associated data binding a client secret envelope to its connection."""
    return f"oauth-client:{connection_id}".encode()


async def configure_client(
    session: AsyncSession, keyring: KeyRing, *, connection: Connection, request: OAuthClientIn
) -> OAuthClient:
    """Validate and store the OAuth client of a connection (the secret sealed)."""
    preset = get_preset(request.provider)
    _check_request(preset, request)
    row = await session.get(OAuthClient, connection.id) or OAuthClient(connection_id=connection.id)
    row.provider, row.client_id, row.grant = preset.name, request.client_id, request.grant
    row.params = dict(request.params)
    row.scopes = request.scopes or preset.scopes_for(connection.connector_type)
    if request.client_secret is not None:
        secret = request.client_secret.get_secret_value().encode()
        row.client_secret = keyring.encrypt(secret, context=client_context(connection.id))
        row.key_id = keyring.primary_key_id
    session.add(row)
    await session.flush()
    return row


def _check_request(preset: Preset, request: OAuthClientIn) -> None:
    if request.grant not in preset.grants:
        raise ConfigError(f"{preset.title} does not offer the {request.grant} grant", field="grant")
    unknown = sorted(set(request.params) - set(preset.parameters))
    if unknown:
        raise ConfigError(f"unknown parameter for {preset.title}: {unknown[0]}", field="params")
    for name in preset.parameters:
        preset.render(f"{{{name}}}", request.params)
    if "discovery_url" in request.params:
        _check_url(request.params["discovery_url"])


def _check_url(url: str) -> None:
    parts = urlsplit(url)
    secure = parts.scheme == "https" or (parts.scheme == "http" and parts.hostname in _LOOPBACK)
    if not secure or not parts.hostname:
        raise ConfigError("discovery_url must be an https URL", field="params.discovery_url")


def client_secret(keyring: KeyRing, row: OAuthClient) -> SecretStr | None:
    """The opened client secret of a stored client (registered for redaction)."""
    if row.client_secret is None:
        return None
    value = keyring.decrypt(row.client_secret, context=client_context(row.connection_id)).decode()
    register_secret(value)
    return SecretStr(value)


class Implementations:
    """Builds the OAuth implementation of a connection from its stored client."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        keyring: KeyRing,
        redirect_uri: str,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.sessions = sessions
        self.keyring = keyring
        self.redirect_uri = redirect_uri
        self.transport = transport
        self._discovered: dict[str, tuple[float, ProviderMetadata]] = {}

    async def for_connection(self, connection_id: int) -> AuthlibImplementation:
        """The implementation of a connection; OAuthFlowError when it has no client."""
        async with self.sessions() as session:
            row = await session.get(OAuthClient, connection_id)
        if row is None:
            raise OAuthFlowError("not_configured", connection_id=connection_id)
        preset = get_preset(row.provider)
        settings = ClientSettings(
            client_id=row.client_id, client_secret=client_secret(self.keyring, row),
            redirect_uri=self.redirect_uri, scopes=tuple(row.scopes),
            auth_method=preset.client_auth, authorize_params=preset.authorize_params,
        )  # fmt: skip
        metadata = await self.metadata(preset, row.params)
        return AuthlibImplementation(preset.title, settings, metadata, transport=self.transport)

    async def metadata(self, preset: Preset, params: dict[str, str]) -> ProviderMetadata:
        """Endpoints by discovery (cached) or from the preset's templates."""
        url = preset.render(preset.discovery_url, params)
        if url is None:
            return _static(preset, params)
        cached = self._discovered.get(url)
        if cached is not None and cached[0] > time.monotonic():
            return cached[1]
        found = await discover(url, transport=self.transport)
        self._discovered[url] = (time.monotonic() + DISCOVERY_TTL, found)
        return found


def _static(preset: Preset, params: dict[str, str]) -> ProviderMetadata:
    token_url = preset.render(preset.token_url, params)
    if token_url is None:
        raise NotFoundError(f"the {preset.title} preset has no token endpoint")
    return ProviderMetadata(
        token_endpoint=token_url,
        authorization_endpoint=preset.render(preset.authorize_url, params),
        revocation_endpoint=preset.render(preset.revocation_url, params),
    )
