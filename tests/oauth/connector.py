"""A connector that reads the OpenID provider's userinfo with the stored OAuth token."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any, ClassVar

import pytest
from pydantic import BaseModel, ConfigDict, Field

from connectors.base import registry
from connectors.base.auth import OAuthConnectable
from connectors.base.canonical import CanonicalUser
from connectors.base.connector import Connector
from connectors.base.errors import SourceAuthError
from connectors.base.http import SourceClient
from connectors.base.stream import Page, Stream, SyncContext
from connectors.base.types import Category


class UserinfoConfig(BaseModel):
    """Where the provider's userinfo endpoint is."""

    model_config = ConfigDict(extra="forbid")

    userinfo_url: str = Field(description="OIDC userinfo endpoint")


class UserinfoStream(Stream):
    """The signed-in user, read from userinfo with the bearer token."""

    name = "users"
    record_model = CanonicalUser

    async def pages(self, context: SyncContext) -> AsyncIterator[Page]:
        """One page: the user the token belongs to."""
        connector = self.connector
        auth = connector.bearer_auth()
        if auth is None:
            raise SourceAuthError("not connected through OAuth")
        client = SourceClient(connector.http_client, source="OIDC", auth=auth)
        body = (await client.get_json(connector.config.userinfo_url)).body
        yield Page(records=[CanonicalUser(source_id=body["sub"], username=body["sub"])])


class UserinfoConnector(OAuthConnectable, Connector[UserinfoConfig]):
    """Reads userinfo with a token from the PIP's connect flow."""

    slug = "oidc_userinfo"
    title = "OIDC userinfo"
    category = Category.IDENTITY
    config_model = UserinfoConfig
    streams: ClassVar[tuple[type[Stream], ...]] = (UserinfoStream,)
    oauth_providers = ("generic_oidc",)


def install(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make the registry know the userinfo connector."""
    real = registry.get_connector_class

    def lookup(slug: str) -> type[Connector[Any]]:
        return UserinfoConnector if slug == UserinfoConnector.slug else real(slug)

    monkeypatch.setattr(registry, "get_connector_class", lookup)
