"""The ServiceNow fake's OAuth token endpoint, ``POST /oauth_token.do``.

Follows ServiceNow's "Client credentials grant workflow" and "OAuth
password grant" documentation (Platform Security > OAuth Inbound): a
form-encoded POST with ``grant_type`` (``client_credentials``, or
``password`` with ``username`` and ``password``), ``client_id`` and
``client_secret``; the answer is ``{"access_token", "scope", "token_type":
"Bearer", "expires_in"}`` (plus ``refresh_token`` for the password grant).
Refused credentials answer 401 ``{"error_description": "access_denied",
"error": "server_error"}``, as instances do. Issued tokens are accepted as
``Authorization: Bearer`` until they expire.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import parse_qs

import orjson
from starlette.requests import Request
from starlette.responses import Response

REFUSED = orjson.dumps({"error_description": "access_denied", "error": "server_error"})


@dataclass
class TokenIssuer:
    """Registered OAuth clients, issued tokens and how long they live."""

    clients: dict[str, str] = field(default_factory=dict)
    lifetime: int = 1799
    clock: Callable[[], float] = time.monotonic
    tokens: dict[str, float] = field(default_factory=dict)
    requests: int = 0

    def valid(self, header: str | None) -> bool:
        """Whether ``header`` is ``Bearer <token>`` for an unexpired token."""
        if not header or not header.startswith("Bearer "):
            return False
        expires = self.tokens.get(header.removeprefix("Bearer "))
        return expires is not None and expires > self.clock()

    def expire_all(self) -> None:
        """Make every issued token expire now (as if its lifetime had passed)."""
        self.tokens = dict.fromkeys(self.tokens, 0.0)

    async def endpoint(self, request: Request, user_ok: Callable[[str, str], bool]) -> Response:
        """The token endpoint."""
        self.requests += 1
        form = {k: v[0] for k, v in parse_qs((await request.body()).decode()).items()}
        grant = str(form.get("grant_type", ""))
        client_id, secret = str(form.get("client_id", "")), str(form.get("client_secret", ""))
        if grant not in ("client_credentials", "password"):
            body = {"error": "unsupported_grant_type", "error_description": "unsupported grant"}
            return Response(orjson.dumps(body), 400, media_type="application/json")
        user_refused = grant == "password" and not user_ok(
            str(form.get("username", "")), str(form.get("password", ""))
        )
        if self.clients.get(client_id) != secret or not secret or user_refused:
            return Response(REFUSED, 401, media_type="application/json")
        return Response(orjson.dumps(self._issue(grant)), 200, media_type="application/json")

    def _issue(self, grant: str) -> dict[str, object]:
        token = secrets.token_urlsafe(24)
        self.tokens[token] = self.clock() + self.lifetime
        body: dict[str, object] = {
            "access_token": token,
            "scope": "useraccount",
            "token_type": "Bearer",
            "expires_in": self.lifetime,
        }
        if grant == "password":
            body["refresh_token"] = secrets.token_urlsafe(24)
        return body
