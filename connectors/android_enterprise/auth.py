"""Access tokens for a Google service account: a signed JWT exchanged at the token endpoint.

Follows Google's "Using OAuth 2.0 for Server to Server Applications"
(developers.google.com/identity/protocols/oauth2/service-account): the JWT
header is ``{"alg": "RS256", "typ": "JWT", "kid": <private_key_id>}``, the
claims ``iss`` (the service account's email), ``scope``
(``https://www.googleapis.com/auth/androidmanagement``), ``aud`` (the token
endpoint, ``token_uri`` of the key), ``iat`` and ``exp`` (at most one hour
later). It is posted as ``grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer``
and ``assertion=<JWT>``; the answer is ``access_token`` and ``expires_in``
(3599). A refused key is 400 ``invalid_grant`` (bad signature, deleted key) or
401 ``unauthorized_client``: the connection needs reconnecting.
"""

from __future__ import annotations

import httpx
from joserfc import jwt
from pydantic import SecretStr

from connectors.android_enterprise.config import SCOPE, ServiceAccount
from connectors.base.errors import TransientSourceError
from connectors.base.oauth_client import TokenCache, TokenGrant

JWT_BEARER_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
ASSERTION_LIFETIME = 3600


class ServiceAccountTokenCache(TokenCache):
    """Access tokens for one service account, cached until shortly before they expire."""

    def __init__(self, client: httpx.AsyncClient, account: ServiceAccount, *, source: str) -> None:
        grant = TokenGrant(
            token_url=account.token_uri,
            client_id=account.client_email,
            client_secret=SecretStr(""),
            grant_type=JWT_BEARER_GRANT,
            scope=SCOPE,
        )
        super().__init__(client, grant, source=source)
        self.account = account

    def assertion(self) -> str:
        """A freshly signed JWT (a credential in its own right: never log it)."""
        now = int(self._clock())
        claims = {
            "iss": self.account.client_email,
            "scope": SCOPE,
            "aud": self.account.token_uri,
            "iat": now,
            "exp": now + ASSERTION_LIFETIME,
        }
        header = {"alg": "RS256", "typ": "JWT", "kid": self.account.private_key_id}
        return jwt.encode(header, claims, self.account.key)

    async def _post(self) -> httpx.Response:
        form = {"grant_type": JWT_BEARER_GRANT, "assertion": self.assertion()}
        try:
            return await self.client.post(
                self.grant.token_url, data=form, headers={"Accept": "application/json"}
            )
        except httpx.TransportError as err:
            raise TransientSourceError(
                f"{self.source} token endpoint unreachable ({type(err).__name__})"
            ) from err
