"""The Android Enterprise connector: an enterprise's devices via the Android Management API."""

from __future__ import annotations

from datetime import timedelta
from typing import ClassVar

import httpx

from connectors.android_enterprise.auth import ServiceAccountTokenCache
from connectors.android_enterprise.config import AndroidEnterpriseConfig
from connectors.android_enterprise.streams import DevicesStream
from connectors.base.oauth_client import BearerAuth
from connectors.base.rest import RestConnector
from connectors.base.stream import Stream
from connectors.base.types import Category


class AndroidEnterpriseConnector(RestConnector[AndroidEnterpriseConfig]):
    """Android Enterprise (Android Management API): policy compliance, posture, patch level."""

    slug = "android_enterprise"
    title = "Android Enterprise"
    category = Category.MDM
    config_model = AndroidEnterpriseConfig
    streams: ClassVar[tuple[type[Stream], ...]] = (DevicesStream,)
    default_interval = timedelta(hours=1)
    _tokens: ServiceAccountTokenCache | None = None

    def base_url(self) -> str:
        """The API URL."""
        return self.config.base_url

    def auth(self) -> httpx.Auth:
        """Bearer tokens from the service account's signed JWT, fetched again once on a 401."""
        return BearerAuth(self.tokens)

    @property
    def tokens(self) -> ServiceAccountTokenCache:
        """The connection's token cache (created on first use)."""
        if self._tokens is None:
            account = self.config.account()
            self._tokens = ServiceAccountTokenCache(self._http(), account, source=self.title)
        return self._tokens

    async def aclose(self) -> None:
        """Forget the token, then close what the connector owns."""
        self._tokens = None
        await super().aclose()
