"""The base of Microsoft Graph connectors: app-only tokens, the v1.0 endpoint, a page reader."""

from __future__ import annotations

from typing import Any, TypeVar

import httpx

from connectors.base.client_assertion import assertion_grant
from connectors.base.errors import ConfigError
from connectors.base.http import Sleep
from connectors.base.oauth_client import BearerAuth, TokenCache, TokenGrant
from connectors.base.rest import RestConnector
from connectors.graph.certificates import certificate_assertion
from connectors.graph.config import GraphConfig
from connectors.graph.paging import GraphReader

GraphConfigT = TypeVar("GraphConfigT", bound=GraphConfig)
API_VERSION = "v1.0"
TOKEN_MARGIN = 300.0


def token_url(config: GraphConfig) -> str:
    """The tenant's v2.0 token endpoint: ``{authority}/{tenant}/oauth2/v2.0/token``."""
    return f"{config.root(config.authority_url)}/{config.tenant_id}/oauth2/v2.0/token"


def graph_scope(config: GraphConfig) -> str:
    """The client-credentials scope: every application permission granted, ``{graph}/.default``."""
    return f"{config.root(config.graph_url)}/.default"


def token_grant(config: GraphConfig) -> TokenGrant:
    """The client-credentials grant: a certificate assertion, else the client secret."""
    url, scope = token_url(config), graph_scope(config)
    certificate = config.certificate()
    if certificate is not None:
        return assertion_grant(
            url, certificate_assertion(config.client_id, certificate), scope=scope
        )
    if config.client_secret is None:
        raise ConfigError("A client secret or a certificate is required", field="client_secret")
    return TokenGrant(url, config.client_id, config.client_secret, scope=scope)


class GraphConnector(RestConnector[GraphConfigT]):
    """A connector reading Microsoft Graph v1.0 with application permissions."""

    def __init__(
        self,
        config: GraphConfigT,
        *,
        http_client: httpx.AsyncClient | None = None,
        sleep: Sleep | None = None,
    ) -> None:
        super().__init__(config, http_client=http_client, sleep=sleep)
        self._tokens: TokenCache | None = None

    def base_url(self) -> str:
        """``{graph}/v1.0``."""
        return f"{self.config.root(self.config.graph_url)}/{API_VERSION}"

    @property
    def tokens(self) -> TokenCache:
        """The connection's access tokens (client credentials, cached until 5 min before expiry)."""
        if self._tokens is None:
            grant = token_grant(self.config)
            self._tokens = TokenCache(self._http(), grant, source=self.title, margin=TOKEN_MARGIN)
        return self._tokens

    def auth(self) -> httpx.Auth:
        """Bearer tokens from the token endpoint."""
        return BearerAuth(self.tokens)

    @property
    def reader(self) -> GraphReader:
        """Pages and delta rounds of the Graph endpoint."""
        return GraphReader(self.source_client, self.base_url())

    async def aclose(self) -> None:
        """Forget the token and close an owned http client."""
        self._tokens = None
        await super().aclose()


def graph_connector(connector: Any) -> GraphConnector[Any]:
    """``connector`` typed as a GraphConnector (ConfigError otherwise)."""
    if not isinstance(connector, GraphConnector):
        raise ConfigError("This stream needs a Microsoft Graph connector")
    return connector
