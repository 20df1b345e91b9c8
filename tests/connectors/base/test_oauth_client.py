"""The shared client-credentials token cache with a per-request signed client assertion."""

from __future__ import annotations

import asyncio
from urllib.parse import parse_qsl

import httpx
from joserfc import jwt
from joserfc.jwk import RSAKey

from connectors.base.client_assertion import JWT_BEARER, PrivateKeyJwt, assertion_grant
from connectors.base.oauth_client import BearerAuth, TokenCache

TOKEN_URL = "https://login.example/tenant/oauth2/v2.0/token"
API_URL = "https://api.example/v1.0/users"
KEY = RSAKey.generate_key(2048)
HEADERS = {"x5t": "sha1-thumb", "x5t#S256": "sha256-thumb"}


class TokenEndpoint:
    """Issues t0, t1... and keeps every posted form; yields to the loop before answering."""

    def __init__(self) -> None:
        self.forms: list[dict[str, str]] = []

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        """Answer the token endpoint; the API accepts only the newest token."""
        if request.url == TOKEN_URL:
            self.forms.append(dict(parse_qsl(request.content.decode())))
            await asyncio.sleep(0.01)
            body = {"access_token": f"t{len(self.forms) - 1}", "expires_in": 3599}
            return httpx.Response(200, json=body)
        newest = f"Bearer t{len(self.forms) - 1}"
        return httpx.Response(200 if request.headers["Authorization"] == newest else 401)


def cache(client: httpx.AsyncClient, clock: list[float]) -> TokenCache:
    """A Graph-like cache: certificate assertion, 5 minute margin, controllable clock."""
    credential = PrivateKeyJwt("app-id", KEY, headers=HEADERS, clock=lambda: clock[0])
    grant = assertion_grant(TOKEN_URL, credential, scope="https://graph/.default")
    return TokenCache(client, grant, source="Graph", margin=300, clock=lambda: clock[0])


async def test_concurrent_callers_share_one_token_request() -> None:
    endpoint = TokenEndpoint()
    async with httpx.AsyncClient(transport=httpx.MockTransport(endpoint)) as client:
        tokens = cache(client, [1000.0])
        assert set(await asyncio.gather(*(tokens.token() for _ in range(10)))) == {"t0"}
    assert len(endpoint.forms) == 1


async def test_each_token_request_carries_a_freshly_signed_assertion() -> None:
    endpoint, clock = TokenEndpoint(), [1000.0]
    async with httpx.AsyncClient(transport=httpx.MockTransport(endpoint)) as client:
        tokens = cache(client, clock)
        assert await tokens.token() == "t0"
        clock[0] += 3599 - 301  # still more than 5 minutes left
        assert await tokens.token() == "t0"
        clock[0] += 2
        assert await tokens.token() == "t1"
    first, second = (jwt.decode(form["client_assertion"], KEY) for form in endpoint.forms)
    assert first.claims["jti"] != second.claims["jti"]
    assert (first.claims["iat"], second.claims["iat"]) == (1000, 1000 + 3599 - 299)
    assert {k: second.header[k] for k in HEADERS} == HEADERS
    assert second.claims["aud"] == TOKEN_URL and second.claims["sub"] == "app-id"
    assert endpoint.forms[1]["client_assertion_type"] == JWT_BEARER
    assert "client_secret" not in endpoint.forms[1]


async def test_a_refused_token_is_renewed_once_with_a_new_assertion() -> None:
    endpoint = TokenEndpoint()
    async with httpx.AsyncClient(transport=httpx.MockTransport(endpoint)) as client:
        tokens = cache(client, [1000.0])
        await tokens.token()
        endpoint.forms.append({"client_assertion": "revoked t0 at the source"})
        response = await client.get(API_URL, auth=BearerAuth(tokens))
    assert response.status_code == 200 and len(endpoint.forms) == 3
    assert endpoint.forms[2]["client_assertion"] != endpoint.forms[0]["client_assertion"]
