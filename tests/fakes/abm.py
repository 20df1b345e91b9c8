"""A fake of the Apple Business Manager API (Apple Business API) and Apple's token endpoint.

Follows Apple's documentation of the Apple School and Business Manager API
(developer.apple.com/documentation/apple-school-and-business-manager-api):

- "Implementing OAuth for the Apple School and Business Manager API": ``POST
  /auth/oauth2/token`` takes ``grant_type=client_credentials``, ``client_id``,
  ``client_assertion_type=urn:ietf:params:oauth:client-assertion-type:jwt-bearer``,
  ``client_assertion`` and ``scope=business.api``. The assertion is an ES256 JWT
  (header ``kid`` = the key id) with ``iss`` = ``sub`` = the client id, ``aud`` =
  ``https://account.apple.com/auth/oauth2/v2/token``, ``iat``, ``exp`` (at most
  180 days after ``iat``) and ``jti``. The fake verifies the signature with the
  account's public key and every claim; a bad request is 400
  ``{"error": "invalid_client"}`` (or ``invalid_scope``). Tokens last 3600 s.
- "Get Organization Devices" (``GET /v1/orgDevices``), "Get Device Management
  Services" (``GET /v1/mdmServers``) and "Get the Device Serial Numbers for a
  Device Management Service" (``GET /v1/mdmServers/{id}/relationships/devices``):
  ``limit`` (default 100, maximum 1000; larger is a 400), ``fields[orgDevices]``
  sparse fieldsets, a cursor: ``links.next`` (absolute URL with ``cursor``) and
  ``meta.paging.nextCursor`` on every page but the last, ``meta.paging.limit``.
- Errors are ``{"errors": [{"id", "status", "code", "title", "detail"}]}``; an
  expired token is 401 ``UNAUTHORIZED``; throttling is 429 with ``Retry-After``.
"""

from __future__ import annotations

import base64
import random
import secrets
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import ECKey
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tests.fakes.common import FaultControls, Faults, json_response, read_form

AUDIENCE = "https://account.apple.com/auth/oauth2/v2/token"
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
MAX_ASSERTION_LIFETIME = 180 * 24 * 3600
T0 = datetime(2025, 6, 1, tzinfo=UTC)
MODELS = [
    ("Mac", 'MacBook Pro 14"'),
    ("Mac", 'iMac 24"'),
    ("iPhone", "iPhone 15"),
    ("iPad", "iPad Air"),
]


def abm_error(status: int, code: str, title: str, detail: str) -> Response:
    """Apple's error body."""
    error = {"id": secrets.token_hex(8), "status": str(status), "code": code, "title": title}
    return json_response(status, {"errors": [{**error, "detail": detail}]})


class AbmFake(FaultControls):
    """State and ASGI app of one fake Apple Business Manager organization."""

    def __init__(self) -> None:
        self.client_id = "BUSINESSAPI.6f1c3a2e-1b2c-4d5e-8f90-abcdef012345"
        self.key_id = "d136aa66-0c3b-4bd4-9892-c20e8db024ab"
        self.key = ECKey.generate_key("P-256")
        self.public_key = ECKey.import_key(self.key.as_pem(private=False))
        self.devices: list[dict[str, Any]] = []
        self.servers: dict[str, str] = {}
        self.assigned: dict[str, str] = {}
        self.tokens: dict[str, float] = {}
        self.jtis: set[str] = set()
        self.token_requests = 0
        self.requests: list[str] = []
        self.assertions: list[dict[str, Any]] = []
        self.faults = Faults()
        self.base_url = ""
        self.app = Starlette(
            routes=[
                Route("/auth/oauth2/token", self._token, methods=["POST"]),
                Route("/v1/orgDevices", self._org_devices, methods=["GET"]),
                Route("/v1/mdmServers", self._mdm_servers, methods=["GET"]),
                Route("/v1/mdmServers/{id}/relationships/devices", self._server_devices),
            ]
        )

    @property
    def private_pem(self) -> str:
        """The account's private key as downloaded from ABM (PEM)."""
        return self.key.as_pem(private=True).decode()

    # --- test controls -----------------------------------------------------------

    def reset(self, devices: int, *, serials: list[str] | None = None, servers: int = 2) -> None:
        """Fresh devices spread over ``servers`` MDM servers (every fifth one unassigned)."""
        rng = random.Random(11)
        names = serials or [f"ABM{i:09d}" for i in range(devices)]
        self.devices = [org_device(serial, rng) for serial in names[:devices]]
        self.servers = {f"{i + 1:032X}": f"MDM Server {i + 1}" for i in range(servers)}
        ids = list(self.servers)
        self.assigned = {
            d["id"]: ids[n % len(ids)] for n, d in enumerate(self.devices) if ids and n % 5 != 4
        }
        for device in self.devices:
            device["attributes"]["status"] = (
                "ASSIGNED" if device["id"] in self.assigned else "UNASSIGNED"
            )
        self.public_key = ECKey.import_key(self.key.as_pem(private=False))
        self.tokens.clear()
        self.jtis.clear()
        self.requests.clear()
        self.assertions.clear()
        self.token_requests = 0
        self.faults.clear()

    def expire_tokens(self) -> None:
        """Every access token issued so far stops working."""
        self.tokens.clear()

    def rotate_key(self) -> None:
        """The API key is revoked and replaced in ABM; the connection still has the old one."""
        replacement = ECKey.generate_key("P-256")
        self.public_key = ECKey.import_key(replacement.as_pem(private=False))
        self.expire_tokens()

    # --- the token endpoint --------------------------------------------------------

    async def _token(self, request: Request) -> Response:
        form = await read_form(request)
        self.token_requests += 1
        problem = self._check_form(form) or self._check_assertion(form.get("client_assertion", ""))
        if problem is not None:
            return json_response(400, {"error": problem})
        token = secrets.token_urlsafe(32)
        self.tokens[token] = time.time() + 3600
        return json_response(
            200,
            {
                "access_token": token,
                "token_type": "Bearer",
                "expires_in": 3600,
                "scope": "business.api",
            },
        )

    def _check_form(self, form: dict[str, str]) -> str | None:
        if form.get("grant_type") != "client_credentials":
            return "unsupported_grant_type"
        if (
            form.get("client_id") != self.client_id
            or form.get("client_assertion_type") != ASSERTION_TYPE
        ):
            return "invalid_client"
        return None if form.get("scope") == "business.api" else "invalid_scope"

    def _check_assertion(self, assertion: str) -> str | None:
        try:
            token = jwt.decode(assertion, self.public_key, algorithms=["ES256"])
        except (JoseError, ValueError):
            return "invalid_client"
        claims, now = token.claims, time.time()
        self.assertions.append({"header": dict(token.header), "claims": dict(claims)})
        ok = (
            token.header.get("kid") == self.key_id
            and claims.get("iss") == claims.get("sub") == self.client_id
            and claims.get("aud") == AUDIENCE
            and isinstance(claims.get("jti"), str)
            and claims["jti"] not in self.jtis
            and claims.get("iat", now + 120) <= now + 60
            and now < claims.get("exp", 0) <= claims.get("iat", 0) + MAX_ASSERTION_LIFETIME
        )
        self.jtis.add(str(claims.get("jti")))
        return None if ok else "invalid_client"

    # --- the API -----------------------------------------------------------------

    def _authorized(self, request: Request) -> bool:
        header = request.headers.get("Authorization", "")
        expiry = self.tokens.get(header.removeprefix("Bearer "), 0.0)
        return header.startswith("Bearer ") and expiry > time.time()

    async def _org_devices(self, request: Request) -> Response:
        denied = self._gate(request)
        if denied is not None:
            return denied
        offset = _offset(request.query_params.get("cursor"))
        fault = self.faults.next(offset // max(_limit(request), 1) + 1, _fault_error)
        if fault is not None:
            return fault
        fields = request.query_params.get("fields[orgDevices]")
        rows = [_sparse(d, fields) for d in self.devices]
        return self._page(request, rows)

    async def _mdm_servers(self, request: Request) -> Response:
        denied = self._gate(request)
        rows = [
            {
                "type": "mdmServers",
                "id": sid,
                "attributes": {"serverName": name, "serverType": "MDM"},
            }
            for sid, name in self.servers.items()
        ]
        return denied or self._page(request, rows)

    async def _server_devices(self, request: Request) -> Response:
        denied = self._gate(request)
        server = request.path_params["id"]
        if denied is None and server not in self.servers:
            return abm_error(404, "NOT_FOUND", "The specified resource does not exist", server)
        rows = [{"type": "orgDevices", "id": d} for d, s in self.assigned.items() if s == server]
        return denied or self._page(request, rows)

    def _gate(self, request: Request) -> Response | None:
        self.requests.append(str(request.url))
        if not self._authorized(request):
            return abm_error(
                401,
                "UNAUTHORIZED",
                "Authentication credentials are missing or invalid.",
                "Provide a properly configured and signed bearer token",
            )
        if _limit(request) > 1000:
            return abm_error(
                400,
                "PARAMETER_ERROR.INVALID",
                "A parameter has an invalid value",
                "limit must be at most 1000",
            )
        return None

    def _page(self, request: Request, rows: list[dict[str, Any]]) -> Response:
        limit, offset = _limit(request), _offset(request.query_params.get("cursor"))
        chunk = rows[offset : offset + limit]
        paging: dict[str, Any] = {"limit": limit}
        links = {"self": str(request.url)}
        if offset + limit < len(rows):
            cursor = base64.urlsafe_b64encode(f"o:{offset + limit}".encode()).decode()
            paging["nextCursor"] = cursor
            links["next"] = str(request.url.include_query_params(cursor=cursor))
        return json_response(200, {"data": chunk, "links": links, "meta": {"paging": paging}})


def _fault_error(status: int) -> Response:
    return abm_error(status, "FAULT", f"HTTP {status}", "programmed fault")


def _limit(request: Request) -> int:
    return int(request.query_params.get("limit", "100"))


def _offset(cursor: str | None) -> int:
    if not cursor:
        return 0
    return int(base64.urlsafe_b64decode(cursor.encode()).decode().removeprefix("o:"))


def _sparse(device: dict[str, Any], fields: str | None) -> dict[str, Any]:
    if not fields:
        return device
    wanted = set(fields.split(","))
    attributes = {k: v for k, v in device["attributes"].items() if k in wanted}
    return {**device, "attributes": attributes}


def org_device(serial: str, rng: random.Random) -> dict[str, Any]:
    """One orgDevices resource as Apple documents it."""
    family, model = rng.choice(MODELS)
    added = T0 + timedelta(minutes=rng.randrange(0, 60 * 24 * 300))
    stamp = added.strftime("%Y-%m-%dT%H:%M:%S.000Z")
    return {
        "type": "orgDevices",
        "id": serial,
        "attributes": {
            "serialNumber": serial,
            "addedToOrgDateTime": stamp,
            "releasedFromOrgDateTime": None,
            "updatedDateTime": stamp,
            "deviceModel": model,
            "productFamily": family,
            "productType": "Mac15,3",
            "deviceCapacity": "512GB",
            "partNumber": "MRX33LL/A",
            "orderNumber": f"ORD{rng.randrange(10**9):09d}",
            "color": "SPACE BLACK",
            "status": "UNASSIGNED",
            "orderDateTime": stamp,
            "purchaseSourceUid": "-2085650007946880",
            "purchaseSourceType": rng.choice(["APPLE", "RESELLER"]),
        },
        "relationships": {
            "assignedServer": {
                "links": {"self": f"/v1/orgDevices/{serial}/relationships/assignedServer"}
            }
        },
    }
