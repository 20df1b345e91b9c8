"""Signed JWT client assertions (RFC 7523 section 2.2, OpenID Connect ``private_key_jwt``).

Used by Entra ID certificate credentials (with ``x5t``/``x5t#S256`` headers)
and Okta service apps (with ``kid``). :func:`assertion_grant` makes the
:class:`~connectors.base.oauth_client.TokenGrant` whose form carries a freshly
signed assertion on every token request, so the shared
:class:`~connectors.base.oauth_client.TokenCache` serves these sources too.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from joserfc import jwt
from joserfc.jwk import RSAKey

from connectors.base.oauth_client import TokenGrant

JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


@dataclass(frozen=True)
class PrivateKeyJwt:
    """A short-lived JWT assertion signed with the client's private key."""

    client_id: str
    key: RSAKey = field(repr=False)
    headers: dict[str, str] = field(default_factory=dict)
    algorithm: str = "RS256"
    lifetime: int = 300
    clock: Callable[[], float] = time.time

    def form(self, token_url: str) -> dict[str, str]:
        """``client_id``, ``client_assertion_type`` and a fresh ``client_assertion``."""
        return {
            "client_id": self.client_id,
            "client_assertion_type": JWT_BEARER,
            "client_assertion": self.assertion(token_url),
        }

    def assertion(self, audience: str) -> str:
        """The signed assertion: iss = sub = client id, aud = the token endpoint, unique jti."""
        now = int(self.clock())
        claims: dict[str, Any] = {
            "aud": audience,
            "iss": self.client_id,
            "sub": self.client_id,
            "jti": uuid.uuid4().hex,
            "iat": now,
            "nbf": now,
            "exp": now + self.lifetime,
        }
        header = {"alg": self.algorithm, **self.headers}
        return jwt.encode(header, claims, self.key, algorithms=[self.algorithm])


def assertion_grant(token_url: str, credential: PrivateKeyJwt, *, scope: str) -> TokenGrant:
    """A client-credentials grant authenticated by a new signed assertion per token request."""
    return TokenGrant(
        token_url,
        credential.client_id,
        scope=scope,
        client_auth="none",
        fields=partial(credential.form, token_url),
    )
