"""The token endpoint of the Microsoft identity platform fake (client credentials flow).

Follows "Microsoft identity platform and the OAuth 2.0 client credentials
flow" (learn.microsoft.com/entra/identity-platform/v2-oauth2-client-creds-grant-flow)
and "Certificate credentials" (.../identity-platform/certificate-credentials):
``POST /{tenant}/oauth2/v2.0/token`` with ``grant_type=client_credentials``,
``scope={resource}/.default`` and either ``client_secret`` or a JWT
``client_assertion`` (``client_assertion_type`` jwt-bearer) signed by a
certificate registered on the app, found by its ``x5t`` or ``x5t#S256``
thumbprint; ``aud`` the token endpoint, ``iss`` = ``sub`` = client id, valid
``nbf``/``exp``, a ``jti`` used once. Errors are ``{"error",
"error_description": "AADSTSnnnn: ...", "error_codes", "timestamp"}``.
"""

from __future__ import annotations

import secrets
import time
import uuid
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl

import orjson
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import RSAKey
from joserfc.jws import extract_compact
from starlette.requests import Request
from starlette.responses import Response

from tests.fakes.graph_data import iso

JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
ALGORITHMS = ["RS256", "PS256"]


def oauth_error(status: int, error: str, code: int, description: str) -> Response:
    """An identity platform token endpoint error."""
    body = {
        "error": error,
        "error_description": f"AADSTS{code}: {description} Trace ID: {uuid.uuid4()}",
        "error_codes": [code],
        "timestamp": iso(time.time()),
    }
    return Response(orjson.dumps(body), status, media_type="application/json")


class IdentityPlatform:
    """One app registration in one tenant, and the access tokens it was issued."""

    def __init__(self, *, tenant_id: str, clock: Callable[[], float] = time.time) -> None:
        self.tenant_id = tenant_id
        self.client_id = "99999999-8888-4777-8666-555555555555"
        self.client_secret = "fake-Secret~value.123"
        self.certificate_keys: dict[str, RSAKey] = {}
        self.token_lifetime = 3599
        self.tokens: dict[str, float] = {}
        self.requests = 0
        self.clock = clock
        self._jtis: set[str] = set()

    def register_certificate(self, thumbprint: str, public_key_pem: bytes) -> None:
        """Upload a certificate's public key to the app registration (by x5t or x5t#S256)."""
        self.certificate_keys[thumbprint] = RSAKey.import_key(public_key_pem)

    async def token(self, request: Request) -> Response:
        """``POST /{tenant}/oauth2/v2.0/token``."""
        self.requests += 1
        form = dict(parse_qsl((await request.body()).decode()))
        tenant = request.path_params["tenant"]
        if tenant != self.tenant_id:
            return oauth_error(400, "invalid_request", 90002, f"Tenant '{tenant}' not found.")
        scope = str(form.get("scope", ""))
        if form.get("grant_type") != "client_credentials" or not scope.endswith("/.default"):
            return oauth_error(400, "invalid_scope", 1002012, "The scope value is not valid.")
        if form.get("client_id") != self.client_id:
            return oauth_error(400, "unauthorized_client", 700016, "Application not found.")
        refused = self._refused(form, str(request.url))
        return refused if refused is not None else self._issue()

    def _issue(self) -> Response:
        token = secrets.token_urlsafe(24)
        self.tokens[token] = self.clock() + self.token_lifetime
        body = {
            "token_type": "Bearer",
            "expires_in": self.token_lifetime,
            "ext_expires_in": self.token_lifetime,
            "access_token": token,
        }
        return Response(orjson.dumps(body), 200, media_type="application/json")

    def _refused(self, form: dict[str, Any], audience: str) -> Response | None:
        if "client_secret" in form:
            if form["client_secret"] == self.client_secret:
                return None
            return oauth_error(401, "invalid_client", 7000215, "Invalid client secret provided.")
        if form.get("client_assertion_type") != JWT_BEARER or "client_assertion" not in form:
            return oauth_error(
                401, "invalid_client", 7000218, "The request must contain a client credential."
            )
        problem = self._assertion_problem(str(form["client_assertion"]), audience)
        return oauth_error(401, "invalid_client", 700027, problem) if problem else None

    def _assertion_problem(self, assertion: str, audience: str) -> str | None:
        try:
            header = extract_compact(assertion.encode()).headers()
        except JoseError:
            return "The client assertion is not a JWT."
        key = self.certificate_keys.get(str(header.get("x5t#S256", ""))) or (
            self.certificate_keys.get(str(header.get("x5t", "")))
        )
        if key is None:
            return "The certificate used to sign the assertion is not registered on the app."
        try:
            claims = jwt.decode(assertion, key, algorithms=ALGORITHMS).claims
        except (JoseError, ValueError):
            return "Client assertion failed signature validation."
        return self._claims_problem(claims, audience)

    def _claims_problem(self, claims: dict[str, Any], audience: str) -> str | None:
        now = self.clock()
        if claims.get("aud") != audience:
            return "The audience claim is not the token endpoint."
        if claims.get("iss") != self.client_id or claims.get("sub") != self.client_id:
            return "The iss and sub claims must be the client id."
        exp, nbf = claims.get("exp"), claims.get("nbf", 0)
        if not isinstance(exp, int) or exp < now or nbf > now + 300:
            return "The client assertion is not within its valid time range."
        if not claims.get("jti") or claims["jti"] in self._jtis:
            return "The client assertion was already used (jti replay)."
        self._jtis.add(claims["jti"])
        return None
