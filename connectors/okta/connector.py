"""The Okta connector: users and groups through the Okta management API."""

from __future__ import annotations

from datetime import timedelta
from typing import ClassVar

import httpx

from connectors.base.rest import RestConnector
from connectors.base.stream import Stream
from connectors.base.types import Category
from connectors.okta.auth import okta_auth
from connectors.okta.config import OktaConfig
from connectors.okta.streams import GroupsStream, UsersStream
from connectors.okta.webhooks import OktaEventHooks


class OktaConnector(OktaEventHooks, RestConnector[OktaConfig]):
    """Okta: users (every status) and groups with their members.

    Okta answers ``X-Rate-Limit-Limit/Remaining/Reset`` on every response; the
    SourceClient waits for the reset when nothing is left, before a 429.
    """

    slug = "okta"
    title = "Okta"
    category = Category.IDENTITY
    config_model = OktaConfig
    streams: ClassVar[tuple[type[Stream], ...]] = (UsersStream, GroupsStream)
    default_interval = timedelta(minutes=30)
    max_concurrency = 2

    def base_url(self) -> str:
        """The org URL."""
        return self.config.base_url

    def auth(self) -> httpx.Auth:
        """SSWS API token, or bearer tokens of the service app."""
        return okta_auth(self.config, self._http(), self.title)
