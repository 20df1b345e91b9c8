"""The Google Workspace connector: users and groups through the Admin SDK Directory API."""

from __future__ import annotations

from datetime import timedelta
from typing import ClassVar

import httpx

from connectors.base.http import SourceClient
from connectors.base.oauth_client import BearerAuth
from connectors.base.rest import RestConnector
from connectors.base.stream import Stream
from connectors.base.types import Category
from connectors.google_workspace.auth import DelegatedTokens
from connectors.google_workspace.client import GoogleSourceClient
from connectors.google_workspace.config import GoogleWorkspaceConfig
from connectors.google_workspace.streams import GroupsStream, UsersStream


class GoogleWorkspaceConnector(RestConnector[GoogleWorkspaceConfig]):
    """Google Workspace: users (suspended ones disabled) and groups with nested groups.

    A service account with domain-wide delegation impersonates ``admin_email``;
    its token is cached until shortly before expiry. Google's rate-limit 403s
    are retried with exponential backoff like 429s. Every run is a full read.
    """

    slug = "google_workspace"
    title = "Google Workspace"
    category = Category.IDENTITY
    config_model = GoogleWorkspaceConfig
    streams: ClassVar[tuple[type[Stream], ...]] = (UsersStream, GroupsStream)
    default_interval = timedelta(hours=1)
    max_concurrency = 4

    def base_url(self) -> str:
        """The Directory API root."""
        return self.config.base_url

    def auth(self) -> httpx.Auth:
        """Bearer tokens of the service account acting as the admin."""
        tokens = DelegatedTokens(
            self._http(), self.config.key, self.config.admin_email, source=self.title
        )
        return BearerAuth(tokens)

    @property
    def source_client(self) -> SourceClient:
        """A SourceClient that retries Google's rate-limit 403s."""
        if self._source_client is None:
            self._source_client = GoogleSourceClient(
                self._http(),
                source=self.title,
                auth=self.auth(),
                policy=self.retry_policy,
                max_concurrency=self.max_concurrency,
                sleep=self._sleep,
            )
        return self._source_client
