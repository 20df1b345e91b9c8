"""The Jamf Pro connector: computers and mobile devices with management and compliance."""

from __future__ import annotations

from datetime import timedelta
from typing import ClassVar

import httpx
from pydantic import SecretStr

from connectors.base.oauth_client import BearerAuth, TokenCache
from connectors.base.rest import RestConnector
from connectors.base.stream import Stream
from connectors.base.types import Category
from connectors.jamf.auth import AccountTokenCache, client_credentials_cache
from connectors.jamf.config import JamfConfig
from connectors.jamf.streams import ComputersStream, MobileDevicesStream


class JamfConnector(RestConnector[JamfConfig]):
    """Jamf Pro: Macs and mobile devices, with compliance mapped from smart groups or an EA."""

    slug = "jamf_pro"
    title = "Jamf Pro"
    category = Category.MDM
    config_model = JamfConfig
    streams: ClassVar[tuple[type[Stream], ...]] = (ComputersStream, MobileDevicesStream)
    default_interval = timedelta(hours=1)
    _tokens: TokenCache | None = None

    def base_url(self) -> str:
        """The server URL."""
        return self.config.base_url

    def auth(self) -> httpx.Auth:
        """Bearer tokens from the API client or the account, re-fetched once on a 401."""
        return BearerAuth(self.tokens)

    @property
    def tokens(self) -> TokenCache:
        """The connection's token cache (created on first use)."""
        if self._tokens is None:
            self._tokens = self._new_tokens()
        return self._tokens

    def _new_tokens(self) -> TokenCache:
        config = self.config
        if config.auth_method == "client_credentials":
            secret = config.client_secret or SecretStr("")
            return client_credentials_cache(
                self._http(), self.base_url(), config.client_id or "", secret, source=self.title
            )
        return AccountTokenCache(
            self._http(),
            self.base_url(),
            config.username or "",
            config.password or SecretStr(""),
            source=self.title,
        )

    def get_streams(self) -> list[Stream]:
        """Computers, and mobile devices unless turned off."""
        chosen: list[Stream] = [ComputersStream(self)]
        if self.config.read_mobile_devices:
            chosen.append(MobileDevicesStream(self))
        return chosen

    async def aclose(self) -> None:
        """Invalidate an account's bearer token, then close what the connector owns."""
        if isinstance(self._tokens, AccountTokenCache):
            await self._tokens.release()
        self._tokens = None
        await super().aclose()
