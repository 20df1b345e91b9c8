"""The Auth0 connector: users, roles and organizations through the Management API v2."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import ClassVar

import httpx
from pydantic import SecretStr

from connectors.auth0.config import Auth0Config
from connectors.auth0.streams import OrganizationsStream, RolesStream, UsersStream
from connectors.base.oauth_client import BearerAuth, TokenCache, TokenGrant
from connectors.base.rest import RestConnector
from connectors.base.stream import Stream
from connectors.base.types import Category


class Auth0Connector(RestConnector[Auth0Config]):
    """Auth0: users (blocked ones disabled), roles and organizations as groups.

    The access token comes from the tenant's ``/oauth/token`` (client credentials
    with the Management API audience) and is cached until shortly before it
    expires. Auth0 answers ``X-RateLimit-Limit/Remaining/Reset`` on every
    response; the SourceClient waits for the reset when nothing is left.
    """

    slug = "auth0"
    title = "Auth0"
    category = Category.IDENTITY
    config_model = Auth0Config
    streams: ClassVar[tuple[type[Stream], ...]] = (UsersStream, RolesStream, OrganizationsStream)
    default_interval = timedelta(hours=1)
    max_concurrency = 2

    def base_url(self) -> str:
        """The tenant URL."""
        return self.config.base_url

    def auth(self) -> httpx.Auth:
        """Bearer tokens from the client-credentials grant, cached until expiry."""
        grant = TokenGrant(
            token_url=f"{self.config.base_url}/oauth/token",
            client_id=self.config.client_id,
            client_secret=self.config.client_secret,
            extra={"audience": SecretStr(self.config.api_audience)},
        )
        return BearerAuth(TokenCache(self._http(), grant, source=self.title))

    async def pause(self, seconds: float) -> None:
        """Wait between export-job polls (the injected sleep when there is one)."""
        await (self._sleep or asyncio.sleep)(seconds)

    def download_client(self) -> httpx.AsyncClient:
        """The httpx client without the Management API token, for pre-signed export URLs."""
        return self._http()
