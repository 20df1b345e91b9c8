"""Apple Business Manager API tokens: OAuth 2.0 client credentials with an ES256 client assertion.

Per Apple's "Implementing OAuth for the Apple School and Business Manager API":
the client assertion is a JWT with header ``alg=ES256``, ``kid=<key id>`` and
claims ``iss`` = ``sub`` = the client id, ``aud`` =
``https://account.apple.com/auth/oauth2/v2/token``, ``iat``, ``exp`` (at most
180 days later; we make a fresh one per token request valid for 20 minutes) and
a unique ``jti``, signed with the API key's EC private key. It is posted to
``https://account.apple.com/auth/oauth2/token`` with ``grant_type=
client_credentials``, ``client_id``, ``client_assertion_type=urn:ietf:params:
oauth:client-assertion-type:jwt-bearer``, ``client_assertion`` and ``scope``
(``business.api``); the access token (``expires_in`` 3600) is cached until
shortly before it expires.
"""

from __future__ import annotations

import uuid

import httpx
from joserfc import jwt
from pydantic import SecretStr

from connectors.abm.config import AbmConfig, load_private_key
from connectors.base.errors import TransientSourceError
from connectors.base.oauth_client import TokenCache, TokenGrant

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
ASSERTION_LIFETIME = 20 * 60


class AssertionTokenCache(TokenCache):
    """Access tokens for an ABM API account, requested with a signed client assertion."""

    def __init__(self, client: httpx.AsyncClient, config: AbmConfig, *, source: str) -> None:
        grant = TokenGrant(
            token_url=str(config.token_url),
            client_id=config.client_id,
            client_secret=SecretStr(""),
            scope=config.scope,
        )
        super().__init__(client, grant, source=source)
        self.config = config

    def assertion(self) -> str:
        """A freshly signed client assertion (a secret in its own right: never log it)."""
        now = int(self._clock())
        claims = {
            "iss": self.config.client_id,
            "sub": self.config.client_id,
            "aud": self.config.audience,
            "iat": now,
            "exp": now + ASSERTION_LIFETIME,
            "jti": str(uuid.uuid4()),
        }
        header = {"alg": "ES256", "kid": self.config.key_id}
        return jwt.encode(header, claims, load_private_key(self.config.private_key))

    async def _post(self) -> httpx.Response:
        form = {
            "grant_type": "client_credentials",
            "client_id": self.config.client_id,
            "client_assertion_type": ASSERTION_TYPE,
            "client_assertion": self.assertion(),
            "scope": self.config.scope,
        }
        try:
            return await self.client.post(
                self.grant.token_url, data=form, headers={"Accept": "application/json"}
            )
        except httpx.TransportError as err:
            raise TransientSourceError(
                f"{self.source} token endpoint unreachable ({type(err).__name__})"
            ) from err
