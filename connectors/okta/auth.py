"""Okta credentials: an SSWS API token, or OAuth 2.0 for a service app (private key JWT).

Follows "Implement OAuth for Okta with a service app"
(developer.okta.com/docs/guides/implement-oauth-for-okta-serviceapp): the
client assertion is an RS256 JWT with ``kid`` in the header, ``aud`` the
org's ``/oauth2/v1/token``, ``iss`` = ``sub`` = client id, ``jti``, ``iat``
and an ``exp`` at most an hour later; the token request asks for the
granted ``okta.*`` scopes. DPoP is not sent: a service app that requires it
answers ``invalid_dpop_proof``, reported as needing reconnect (turn off
"Require DPoP" on the app, or see the README).
"""

from __future__ import annotations

from collections.abc import Generator

import httpx
from joserfc.jwk import RSAKey
from pydantic import SecretStr

from connectors.base.client_assertion import PrivateKeyJwt, assertion_grant
from connectors.base.errors import ConfigError
from connectors.base.oauth_client import BearerAuth, TokenCache
from connectors.graph.certificates import load_rsa_key
from connectors.okta.config import OktaConfig

TOKEN_MARGIN = 300.0


class SswsAuth(httpx.Auth):
    """``Authorization: SSWS <api token>``."""

    def __init__(self, token: SecretStr) -> None:
        self._token = token

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        """Add the API token."""
        request.headers["Authorization"] = f"SSWS {self._token.get_secret_value()}"
        yield request


def okta_auth(config: OktaConfig, client: httpx.AsyncClient, source: str) -> httpx.Auth:
    """The configured credential as an httpx auth flow."""
    if config.api_token is not None:
        return SswsAuth(config.api_token)
    if config.private_key_pem is None or config.client_id is None:
        raise ConfigError("An API token or a service app key is required", field="api_token")
    key = RSAKey.import_key(load_rsa_key(config.private_key_pem.get_secret_value()))
    headers = {"kid": config.key_id} if config.key_id else {}
    credential = PrivateKeyJwt(config.client_id, key, headers=headers, algorithm="RS256")
    url = f"{config.base_url}/oauth2/v1/token"
    grant = assertion_grant(url, credential, scope=" ".join(config.scopes))
    return BearerAuth(TokenCache(client, grant, source=source, margin=TOKEN_MARGIN))
