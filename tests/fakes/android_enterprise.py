"""A fake of the Android Management API and Google's OAuth 2.0 token endpoint.

Follows Google's documentation:

- "Using OAuth 2.0 for Server to Server Applications"
  (developers.google.com/identity/protocols/oauth2/service-account): ``POST /token``
  with ``grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer`` and ``assertion``,
  a JWT signed RS256 with the service account's private key (header ``kid`` = the
  key id), claims ``iss`` (the service account email), ``scope``, ``aud`` (the token
  endpoint), ``iat`` and ``exp`` at most one hour after ``iat``. The fake verifies
  the signature with the public key and every claim; a refusal is 400
  ``{"error": "invalid_grant", "error_description": ...}`` (``invalid_scope`` for a
  wrong scope). Tokens last 3599 s.
- "Method: enterprises.devices.list" (developers.google.com/android/management/
  reference/rest/v1/enterprises.devices/list): ``pageSize`` (default 10, values above
  100 coerced to 100), ``pageToken``, ``nextPageToken`` on every page but the last;
  deleted devices are not listed; an empty result is ``{}``.
- "REST Resource: enterprises.devices" for the Device resource's fields, and
  "Partial response" (the ``fields`` system parameter) for the device fields returned.
- Google API errors (cloud.google.com/apis/design/errors): ``{"error": {"code",
  "message", "status"}}``, 401 ``UNAUTHENTICATED`` for a missing or expired token,
  403 ``PERMISSION_DENIED``, 404 ``NOT_FOUND`` for an unknown enterprise, 429
  ``RESOURCE_EXHAUSTED`` (with ``Retry-After`` when programmed).
"""

from __future__ import annotations

import base64
import json
import random
import secrets
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import RSAKey
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tests.fakes.common import FaultControls, Faults, json_response, oauth_error, read_form

SCOPE = "https://www.googleapis.com/auth/androidmanagement"
JWT_BEARER_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
STATUSES = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
}
FAULT_MESSAGES = {
    401: "Request had invalid authentication credentials.",
    403: "The caller does not have permission",
    429: "Quota exceeded for quota metric 'Requests' and limit 'Requests per minute'.",
    503: "The service is currently unavailable.",
}
T0 = datetime(2025, 9, 1, tzinfo=UTC)
MODELS = (("Google", "Pixel 8"), ("samsung", "SM-S921B"), ("motorola", "moto g84 5G"))


def google_error(status: int, message: str) -> Response:
    """A Google API error body."""
    body = {
        "error": {"code": status, "message": message, "status": STATUSES.get(status, "UNKNOWN")}
    }
    return json_response(status, body)


def stamp(at: datetime) -> str:
    """A Timestamp as Google renders it (RFC 3339, UTC, fractional seconds)."""
    return at.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def android_device(enterprise: str, n: int, serial: str, rng: random.Random) -> dict[str, Any]:
    """Device ``n``: every 7th not policy compliant, every 4th a personal work profile."""
    maker, model = MODELS[n % len(MODELS)]
    enrolled = T0 + timedelta(minutes=rng.randrange(0, 60 * 24 * 200))
    personal = n % 4 == 3
    device: dict[str, Any] = {
        "name": f"enterprises/{enterprise}/devices/3{n:015d}",
        "userName": f"enterprises/{enterprise}/users/11{n:013d}",
        "user": {"accountIdentifier": f"user{n:05d}@example.com"},
        "managementMode": "PROFILE_OWNER" if personal else "DEVICE_OWNER",
        "ownership": "PERSONALLY_OWNED" if personal else "COMPANY_OWNED",
        "state": "ACTIVE",
        "appliedState": "ACTIVE",
        "policyCompliant": True,
        "enrollmentTime": stamp(enrolled),
        "lastStatusReportTime": stamp(enrolled + timedelta(days=30, minutes=n)),
        "lastPolicySyncTime": stamp(enrolled + timedelta(days=30)),
        "policyName": f"enterprises/{enterprise}/policies/default",
        "appliedPolicyName": f"enterprises/{enterprise}/policies/default",
        "appliedPolicyVersion": "7",
        "apiLevel": 34,
        "hardwareInfo": {
            "brand": maker.lower(),
            "hardware": "shiba",
            "manufacturer": maker,
            "serialNumber": serial,
            "model": model,
        },
        "softwareInfo": {
            "androidVersion": "14",
            "androidBuildNumber": "AP2A.240805.005",
            "securityPatchLevel": "2025-08-05",
        },
        "securityPosture": {"devicePosture": "SECURE"},
        "deviceSettings": {"isEncrypted": True, "encryptionStatus": "ENCRYPTED_PER_USER"},
        "networkInfo": {"imei": f"35{rng.randrange(10**13):013d}"},
    }
    if n % 7 == 6:
        make_noncompliant(device, "passwordPolicies", "USER_ACTION")
    return device


def make_noncompliant(device: dict[str, Any], setting: str, reason: str) -> None:
    """The device reports that ``setting`` of its policy is not applied, for ``reason``."""
    device["policyCompliant"] = False
    device.setdefault("nonComplianceDetails", []).append(
        {"settingName": setting, "nonComplianceReason": reason}
    )


class AndroidEnterpriseFake(FaultControls):
    """State and ASGI app of one fake enterprise and its service account."""

    def __init__(self) -> None:
        self.enterprise_id = "LC02k3nz7x"
        self.client_email = "pip-reader@acme-mdm.iam.gserviceaccount.com"
        self.key_id = "4c8f0a71b2d9e6f3a5c7d1e0b9a8f7e6d5c4b3a2"
        self.key = RSAKey.generate_key(2048)
        self.public_key = RSAKey.import_key(self.key.as_pem(private=False))
        self.devices: list[dict[str, Any]] = []
        self.tokens: dict[str, float] = {}
        self.token_requests = 0
        self.assertions: list[dict[str, Any]] = []
        self.requests: list[dict[str, str]] = []
        self.faults = Faults()
        self.base_url = ""
        self.app = Starlette(
            routes=[
                Route("/token", self._token, methods=["POST"]),
                Route("/v1/enterprises/{enterprise}/devices", self._devices, methods=["GET"]),
            ]
        )

    def key_file(self) -> str:
        """The service account's JSON key file, its token endpoint on this fake."""
        return json.dumps(
            {
                "type": "service_account",
                "project_id": "acme-mdm",
                "private_key_id": self.key_id,
                "private_key": self.key.as_pem(private=True).decode(),
                "client_email": self.client_email,
                "client_id": "109876543210987654321",
                "auth_uri": "https://accounts.google.com/o/oauth2/auth",
                "token_uri": f"{self.base_url}/token",
                "universe_domain": "googleapis.com",
            }
        )

    # --- test controls -----------------------------------------------------------

    def reset(self, devices: int, *, serials: list[str] | None = None) -> None:
        """Fresh devices (``serials`` first), the original key, no tokens, no faults."""
        rng = random.Random(7)
        names = (serials or []) + [f"R5CT{i:08d}" for i in range(len(serials or []), devices)]
        self.devices = [
            android_device(self.enterprise_id, n, names[n], rng) for n in range(devices)
        ]
        self.public_key = RSAKey.import_key(self.key.as_pem(private=False))
        self.tokens.clear()
        self.assertions.clear()
        self.requests.clear()
        self.token_requests = 0
        self.faults.clear()

    def device(self, serial: str) -> dict[str, Any]:
        """The device with ``serial``."""
        return next(d for d in self.devices if d["hardwareInfo"]["serialNumber"] == serial)

    def expire_tokens(self) -> None:
        """Every access token issued so far stops working."""
        self.tokens.clear()

    def delete_key(self) -> None:
        """The key is deleted in Google Cloud: its assertions no longer verify."""
        self.public_key = RSAKey.import_key(RSAKey.generate_key(2048).as_pem(private=False))
        self.expire_tokens()

    # --- the token endpoint --------------------------------------------------------

    async def _token(self, request: Request) -> Response:
        form = await read_form(request)
        self.token_requests += 1
        if form.get("grant_type") != JWT_BEARER_GRANT:
            return json_response(400, {"error": "unsupported_grant_type"})
        problem = self._check_assertion(form.get("assertion", ""), f"{self.base_url}/token")
        if problem is not None:
            error, description = problem
            return oauth_error(400, error, description)
        token = "ya29." + secrets.token_urlsafe(40)
        self.tokens[token] = time.time() + 3599
        return json_response(
            200, {"access_token": token, "expires_in": 3599, "token_type": "Bearer"}
        )

    def _check_assertion(self, assertion: str, audience: str) -> tuple[str, str] | None:
        try:
            token = jwt.decode(assertion, self.public_key, algorithms=["RS256"])
        except (JoseError, ValueError):
            return "invalid_grant", "Invalid JWT Signature."
        claims, now = token.claims, time.time()
        self.assertions.append({"header": dict(token.header), "claims": dict(claims)})
        if claims.get("scope") != SCOPE:
            return "invalid_scope", "Invalid OAuth scope or ID token audience provided."
        ok = (
            token.header.get("kid") == self.key_id
            and claims.get("iss") == self.client_email
            and claims.get("aud") == audience
            and claims.get("iat", now + 120) <= now + 60
            and now < claims.get("exp", 0) <= claims.get("iat", 0) + 3600
        )
        return None if ok else ("invalid_grant", "Invalid JWT: Token must be a short-lived token")

    # --- the API -----------------------------------------------------------------

    async def _devices(self, request: Request) -> Response:
        params = request.query_params
        self.requests.append(dict(params))
        header = request.headers.get("Authorization", "")
        if self.tokens.get(header.removeprefix("Bearer "), 0.0) <= time.time():
            return google_error(
                401,
                "Request had invalid authentication credentials. Expected OAuth 2 access "
                "token, login cookie or other valid authentication credential.",
            )
        if request.path_params["enterprise"] != self.enterprise_id:
            return google_error(404, f"Enterprise {request.path_params['enterprise']} not found.")
        size = min(int(params.get("pageSize", "10")), 100)
        if size < 1:
            return google_error(400, "Invalid value for pageSize.")
        offset = _offset(params.get("pageToken"))
        if offset is None:
            return google_error(400, "Invalid page token.")
        fault = self.faults.next(offset // size + 1, _fault)
        return fault or self._page(offset, size, params.get("fields"))

    def _page(self, offset: int, size: int, fields: str | None) -> Response:
        wanted = device_fields(fields)
        chunk = [
            {k: v for k, v in d.items() if wanted is None or k in wanted}
            for d in self.devices[offset : offset + size]
        ]
        body: dict[str, Any] = {"devices": chunk} if chunk else {}
        if offset + size < len(self.devices):
            body["nextPageToken"] = base64.urlsafe_b64encode(f"o{offset + size}".encode()).decode()
        return json_response(200, body)


def device_fields(fields: str | None) -> set[str] | None:
    """Top-level device fields asked for by ``fields=nextPageToken,devices(a,b(c),...)``."""
    if not fields or "devices(" not in fields:
        return None
    inner = fields[fields.index("devices(") + len("devices(") : fields.rindex(")")]
    names, depth, current = set(), 0, ""
    for char in inner + ",":
        depth += (char == "(") - (char == ")")
        if char == "," and depth == 0:
            names.add(current.split("(")[0].strip())
            current = ""
        else:
            current += char
    return names


def _fault(status: int) -> Response:
    return google_error(status, FAULT_MESSAGES.get(status, "Internal error encountered."))


def _offset(token: str | None) -> int | None:
    if not token:
        return 0
    try:
        return int(base64.urlsafe_b64decode(token.encode()).decode().removeprefix("o"))
    except ValueError:
        return None
