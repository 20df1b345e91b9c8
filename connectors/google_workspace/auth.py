"""Service-account access tokens with domain-wide delegation (RFC 7523 JWT bearer grant).

Follows "Using OAuth 2.0 for Server to Server Applications"
(developers.google.com/identity/protocols/oauth2/service-account): an RS256 JWT
with ``kid`` = the key's ``private_key_id``; claims ``iss`` = the service
account's ``client_email``, ``sub`` = the admin to impersonate, ``scope`` (space
separated), ``aud`` = the key's ``token_uri``, ``iat`` and ``exp`` at most an
hour later; posted as ``grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer``
and ``assertion``. Google answers ``invalid_grant`` (bad signature, deleted key,
unknown subject) or ``unauthorized_client`` (delegation not granted for the
scopes): both mean the connection needs new credentials.
"""

from __future__ import annotations

import time

import httpx
from joserfc import jwt
from pydantic import SecretStr

from connectors.base.errors import TransientSourceError
from connectors.base.oauth_client import TokenCache, TokenGrant
from connectors.google_workspace.config import SCOPES, ServiceAccountKey

JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
LIFETIME = 3600


class DelegatedTokens(TokenCache):
    """Access tokens for a service account acting as ``subject``, cached until expiry."""

    def __init__(
        self, client: httpx.AsyncClient, key: ServiceAccountKey, subject: str, *, source: str
    ) -> None:
        grant = TokenGrant(key.token_uri, key.client_email, SecretStr(""), grant_type=JWT_GRANT)
        super().__init__(client, grant, source=source)
        self.key = key
        self.subject = subject

    def assertion(self) -> str:
        """A fresh signed JWT for the token request."""
        now = int(time.time())
        claims = {
            "iss": self.key.client_email,
            "sub": self.subject,
            "scope": " ".join(SCOPES),
            "aud": self.key.token_uri,
            "iat": now,
            "exp": now + LIFETIME,
        }
        header = {"alg": "RS256", "typ": "JWT", "kid": self.key.private_key_id}
        return jwt.encode(header, claims, self.key.key, algorithms=["RS256"])

    async def _post(self) -> httpx.Response:
        form = {"grant_type": JWT_GRANT, "assertion": self.assertion()}
        try:
            return await self.client.post(self.key.token_uri, data=form)
        except httpx.TransportError as err:
            raise TransientSourceError(f"{self.source} token endpoint unreachable") from err
