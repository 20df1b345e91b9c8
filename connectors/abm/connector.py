"""The Apple Business Manager connector: organization devices and their MDM assignment."""

from __future__ import annotations

from datetime import timedelta
from typing import ClassVar

import httpx

from connectors.abm.auth import AssertionTokenCache
from connectors.abm.config import AbmConfig
from connectors.abm.streams import OrgDevicesStream
from connectors.base.oauth_client import BearerAuth
from connectors.base.rest import RestConnector
from connectors.base.stream import Stream
from connectors.base.types import Category


class AbmConnector(RestConnector[AbmConfig]):
    """Apple Business Manager (Apple Business API; school accounts use the same API)."""

    slug = "apple_business_manager"
    title = "Apple Business Manager"
    category = Category.MDM
    config_model = AbmConfig
    streams: ClassVar[tuple[type[Stream], ...]] = (OrgDevicesStream,)
    default_interval = timedelta(hours=6)
    assignment_only = True  # a device here is assigned to an MDM, not managed by ABM
    _tokens: AssertionTokenCache | None = None

    def base_url(self) -> str:
        """The API URL."""
        return self.config.base_url

    def auth(self) -> httpx.Auth:
        """Bearer tokens from the client-assertion grant, cached until shortly before expiry."""
        return BearerAuth(self.tokens)

    @property
    def tokens(self) -> AssertionTokenCache:
        """The connection's token cache (created on first use)."""
        if self._tokens is None:
            self._tokens = AssertionTokenCache(self._http(), self.config, source=self.title)
        return self._tokens
