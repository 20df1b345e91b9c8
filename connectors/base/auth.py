"""Bearer tokens a connector gets from outside: the interface, and the connector side of it.

A connector never imports the service. When a connection was connected through
the PIP's OAuth flow (authorization code + PKCE), the service hands the
connector a :class:`TokenProvider` that returns a fresh access token (refreshed
ahead of expiry, under a per-connection lock, rotated refresh tokens saved).
:class:`connectors.base.oauth_client.TokenCache` (client credentials) is a
TokenProvider too, so both kinds of token reach requests the same way::

    class OktaConnector(OAuthConnectable, Connector[OktaConfig]):
        def client(self) -> SourceClient:
            auth = self.bearer_auth() or BearerAuth(TokenCache(...))  # stored token first
            return SourceClient(self.http_client, source="Okta", auth=auth)
"""

from __future__ import annotations

from typing import ClassVar, Protocol, runtime_checkable

import httpx


@runtime_checkable
class TokenProvider(Protocol):
    """Gives a valid access token; told when the source refused one."""

    async def token(self) -> str:
        """A valid access token (refreshed first when it is about to expire)."""
        ...

    def invalidate(self, value: str) -> None:
        """The source refused ``value``: the next ``token()`` must not return it."""
        ...


class OAuthConnectable:
    """Mixin for connectors that can use a token from the PIP's OAuth connect flow."""

    oauth_providers: ClassVar[tuple[str, ...]] = ()
    token_provider: TokenProvider | None = None

    def bearer_auth(self) -> httpx.Auth | None:
        """An httpx auth flow using the provided token, or None when not connected by OAuth."""
        from connectors.base.oauth_client import BearerAuth

        if self.token_provider is None:
            return None
        return BearerAuth(self.token_provider)
