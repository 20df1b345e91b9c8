"""A fake Jamf Pro server: auth endpoints and the computer / mobile-device inventory.

Follows the Jamf Pro API documentation (developer.jamf.com/jamf-pro):

- "Jamf Pro API Overview" and "Client Credentials": ``POST /api/oauth/token``
  (form ``grant_type=client_credentials``, ``client_id``, ``client_secret``)
  answers ``access_token``, ``token_type``, ``expires_in``; a wrong client is
  401 ``{"error": "invalid_client"}``. ``POST /api/v1/auth/token`` with basic
  auth answers ``{"token", "expires"}`` (ISO 8601, UTC);
  ``POST /api/v1/auth/keep-alive`` "invalidates existing token and generates new
  token with extended expiration"; ``POST /api/v1/auth/invalidate-token``
  answers 204 (401 for a token that is not valid).
- "Return paginated Computer Inventory records" (``GET /api/v1/computers-inventory``)
  and "Return paginated Mobile Device Inventory records"
  (``GET /api/v2/mobile-devices/detail``): repeated ``section`` parameters
  (only those sections are filled, the others are null; an unknown section is
  a 400), ``page`` (0-based, default 0), ``page-size`` (default 100), ``sort``
  (``property:asc|desc``; a field not allowed in the sort is a 400); the body is
  ``{"totalCount": n, "results": [...]}``.
- Errors use the Jamf Pro API error body ``{"httpStatus": n, "errors": [{"code",
  "description", "id", "field"}]}``; an expired or invalid bearer token is 401.

Faults for tests: ``fail_next`` (status, times, Retry-After, garbage),
``fail_on_page``, ``expire_tokens`` (every issued token stops working, as
when they time out mid-run) and ``revoke`` (the credentials stop working).
Only the inventory endpoints take programmed faults.
"""

from __future__ import annotations

import base64
import random
import secrets
import time
from collections import deque
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tests.fakes.common import FaultControls, Faults, json_response, read_form

COMPUTER_SECTIONS = {
    "GENERAL": "general",
    "HARDWARE": "hardware",
    "OPERATING_SYSTEM": "operatingSystem",
    "USER_AND_LOCATION": "userAndLocation",
    "DISK_ENCRYPTION": "diskEncryption",
    "GROUP_MEMBERSHIPS": "groupMemberships",
    "EXTENSION_ATTRIBUTES": "extensionAttributes",
    "PURCHASING": "purchasing",
    "APPLICATIONS": "applications",
}
MOBILE_SECTIONS = {
    "GENERAL": "general",
    "HARDWARE": "hardware",
    "USER_AND_LOCATION": "userAndLocation",
    "SECURITY": "security",
    "GROUPS": "groups",
    "EXTENSION_ATTRIBUTES": "extensionAttributes",
    "APPLICATIONS": "applications",
}
COMPUTER_SORTS = {"id", "udid", "general.name", "general.reportDate", "general.lastContactTime"}
MOBILE_SORTS = {"mobileDeviceId", "displayName", "serialNumber", "lastInventoryUpdateDate"}
T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def iso(value: datetime) -> str:
    """Jamf's timestamp format (UTC, milliseconds, Z)."""
    return (
        value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"
    )


def jamf_error(status: int, code: str, description: str) -> Response:
    """The Jamf Pro API error body."""
    errors = [{"code": code, "description": description, "id": "0", "field": None}]
    return json_response(status, {"httpStatus": status, "errors": errors})


@dataclass
class Token:
    """An issued token."""

    kind: str
    expires_at: float


class JamfFake(FaultControls):
    """State and ASGI app of one fake Jamf Pro server."""

    def __init__(self, *, token_lifetime: float = 1200.0) -> None:
        self.client_id, self.client_secret = "c0ffee-client", "jamf-Client-S3cret"
        self.username, self.password = "api.reader", "jamf-Pa55word!"
        self.token_lifetime = token_lifetime
        self.computers: list[dict[str, Any]] = []
        self.mobiles: list[dict[str, Any]] = []
        self.tokens: dict[str, Token] = {}
        self.requests: deque[dict[str, Any]] = deque(maxlen=5000)
        self.issued = {"oauth": 0, "account": 0, "keep_alive": 0, "invalidated": 0}
        self.faults = Faults()
        self._expire_countdown: int | None = None
        self._revoke_on_expiry = False
        self.app = Starlette(
            routes=[
                Route("/api/oauth/token", self._oauth_token, methods=["POST"]),
                Route("/api/v1/auth/token", self._account_token, methods=["POST"]),
                Route("/api/v1/auth/keep-alive", self._keep_alive, methods=["POST"]),
                Route("/api/v1/auth/invalidate-token", self._invalidate, methods=["POST"]),
                Route("/api/v1/computers-inventory", self._computers, methods=["GET"]),
                Route("/api/v2/mobile-devices/detail", self._mobiles, methods=["GET"]),
            ]
        )

    # --- test controls -----------------------------------------------------------

    def reset(self, computers: int, mobiles: int = 0, *, serials: list[str] | None = None) -> None:
        """Fresh inventory, no faults, no tokens, empty request log."""
        rng = random.Random(7)
        names = serials or [f"C02JF{i:07d}" for i in range(computers)]
        self.computers = [computer(i, names[i], rng) for i in range(computers)]
        self.mobiles = [mobile(i, f"DMPJF{i:07d}", rng) for i in range(mobiles)]
        self.tokens.clear()
        self.requests.clear()
        self.issued = dict.fromkeys(self.issued, 0)
        self.faults.clear()
        self._expire_countdown = None

    def expire_tokens(self) -> None:
        """Every token issued so far stops working (they timed out)."""
        self.tokens.clear()

    def expire_tokens_after(self, requests: int, *, revoke: bool = False) -> None:
        """Let ``requests`` more inventory requests through, then expire every token once.

        With ``revoke`` the credentials stop working at that moment too.
        """
        self._expire_countdown = requests
        self._revoke_on_expiry = revoke

    def revoke(self) -> None:
        """The API client and the account stop working (secret rotated, password changed)."""
        self.client_secret = "rotated-" + secrets.token_hex(4)
        self.password = "changed-" + secrets.token_hex(4)
        self.expire_tokens()

    def computer_by_serial(self, serial: str) -> dict[str, Any]:
        """The stored computer with this serial number."""
        return next(c for c in self.computers if c["hardware"]["serialNumber"] == serial)

    # --- auth --------------------------------------------------------------------

    async def _oauth_token(self, request: Request) -> Response:
        form = await read_form(request)
        ok = form.get("grant_type") == "client_credentials" and (
            form.get("client_id"),
            form.get("client_secret"),
        ) == (self.client_id, self.client_secret)
        if not ok:
            return json_response(401, {"error": "invalid_client"})
        self.issued["oauth"] += 1
        token = self._issue("oauth")
        body = {"access_token": token, "scope": "api-role:1", "token_type": "Bearer"}
        return json_response(200, {**body, "expires_in": int(self.token_lifetime)})

    async def _account_token(self, request: Request) -> Response:
        expected = base64.b64encode(f"{self.username}:{self.password}".encode()).decode()
        if request.headers.get("Authorization") != f"Basic {expected}":
            return jamf_error(401, "INVALID_CREDENTIALS", "Unauthorized")
        self.issued["account"] += 1
        return self._account_body(self._issue("account"))

    async def _keep_alive(self, request: Request) -> Response:
        token = self._bearer(request)
        if token is None or self.tokens[token].kind != "account":
            return jamf_error(401, "INVALID_TOKEN", "Unauthorized")
        del self.tokens[token]
        self.issued["keep_alive"] += 1
        return self._account_body(self._issue("account"))

    async def _invalidate(self, request: Request) -> Response:
        token = self._bearer(request)
        if token is None:
            return jamf_error(401, "INVALID_TOKEN", "Unauthorized")
        del self.tokens[token]
        self.issued["invalidated"] += 1
        return Response(status_code=204)

    def _issue(self, kind: str) -> str:
        token = secrets.token_urlsafe(24)
        self.tokens[token] = Token(kind, time.time() + self.token_lifetime)
        return token

    def _account_body(self, token: str) -> Response:
        expires = datetime.fromtimestamp(self.tokens[token].expires_at, UTC)
        return json_response(200, {"token": token, "expires": iso(expires)})

    def _bearer(self, request: Request) -> str | None:
        header = request.headers.get("Authorization", "")
        token = header.removeprefix("Bearer ") if header.startswith("Bearer ") else None
        found = self.tokens.get(token or "")
        return token if found is not None and found.expires_at > time.time() else None

    # --- inventory ---------------------------------------------------------------

    async def _computers(self, request: Request) -> Response:
        return self._inventory(request, self.computers, COMPUTER_SECTIONS, COMPUTER_SORTS, "id")

    async def _mobiles(self, request: Request) -> Response:
        rows, key = self.mobiles, "mobileDeviceId"
        return self._inventory(request, rows, MOBILE_SECTIONS, MOBILE_SORTS, key)

    def _count_down(self) -> None:
        if self._expire_countdown is not None:
            self._expire_countdown -= 1
            if self._expire_countdown < 0:
                self._expire_countdown = None
                self.revoke() if self._revoke_on_expiry else self.expire_tokens()

    def _inventory(
        self,
        request: Request,
        rows: list[dict[str, Any]],
        known: dict[str, str],
        sorts: set[str],
        key: str,
    ) -> Response:
        params = request.query_params
        self.requests.append({"path": request.url.path, **{k: params.getlist(k) for k in params}})
        self._count_down()
        if self._bearer(request) is None:
            return jamf_error(401, "INVALID_TOKEN", "Unauthorized")
        page, size = int(params.get("page", "0")), int(params.get("page-size", "100"))
        fault = self.faults.next(page + 1, lambda s: jamf_error(s, "FAULT", f"HTTP {s}"))
        if fault is not None:
            return fault
        wanted = params.getlist("section") or ["GENERAL"]
        if any(s not in known for s in wanted):
            return jamf_error(400, "INVALID_FIELD", "Invalid section")
        ordered = _sorted(rows, params.get("sort", ""), sorts, key)
        if ordered is None:
            return jamf_error(400, "INVALID_SORT_FIELD", "Invalid sort field")
        chosen = {known[s] for s in wanted}
        results = [_only(row, chosen, known) for row in ordered[page * size : (page + 1) * size]]
        return json_response(200, {"totalCount": len(rows), "results": results})


def _sorted(
    rows: list[dict[str, Any]], sort: str, allowed: set[str], key: str
) -> list[dict[str, Any]] | None:
    if not sort:
        return rows
    name, _, direction = sort.partition(":")
    if name not in allowed or direction not in ("asc", "desc", ""):
        return None
    if name != key:
        return sorted(rows, key=lambda r: str(_dig(r, name)), reverse=direction == "desc")
    return sorted(rows, key=lambda r: int(r[key]), reverse=direction == "desc")


def _dig(row: dict[str, Any], dotted: str) -> Any:
    value: Any = row
    for part in dotted.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


def _only(row: dict[str, Any], chosen: set[str], known: dict[str, str]) -> dict[str, Any]:
    sections = set(known.values())
    return {k: (v if k in chosen else None) for k, v in row.items() if k in sections} | {
        k: v for k, v in row.items() if k not in sections
    }


def computer(index: int, serial: str, rng: random.Random) -> dict[str, Any]:
    """One computers-inventory record with every section the fake knows."""
    seen = T0 - timedelta(minutes=rng.randrange(0, 60 * 24 * 7))
    model = rng.choice(["MacBook Pro (14-inch, 2023)", "MacBook Air (M2, 2022)", "iMac (24-inch)"])
    return {
        "id": str(index + 1),
        "udid": f"UDID-{index:08d}",
        "general": {
            "name": f"mac-{index:05d}",
            "assetTag": f"A{index:06d}",
            "lastIpAddress": f"10.8.{index // 256 % 256}.{index % 256}",
            "remoteManagement": {"managed": rng.random() > 0.03, "managementUsername": "jamfadmin"},
            "supervised": True,
            "reportDate": iso(seen - timedelta(hours=2)),
            "lastContactTime": iso(seen),
            "lastEnrolledDate": iso(seen - timedelta(days=200)),
            "enrolledViaAutomatedDeviceEnrollment": rng.random() > 0.1,
            "userApprovedMdm": True,
        },
        "hardware": {"make": "Apple", "model": model, "serialNumber": serial},
        "operatingSystem": {
            "name": "macOS",
            "version": rng.choice(["14.6.1", "15.3"]),
            "build": "x",
        },
        "userAndLocation": {
            "username": f"user{index}",
            "realname": f"User {index}",
            "email": f"User{index}@Example.com",
        },
        "diskEncryption": {
            "bootPartitionEncryptionDetails": {
                "partitionName": "Macintosh HD",
                "partitionFileVault2State": "ENCRYPTED" if rng.random() > 0.1 else "UNENCRYPTED",
                "partitionFileVault2Percent": 100,
            }
        },
        "groupMemberships": [
            {"groupId": "1", "groupName": "All Managed Clients", "smartGroup": True},
            {"groupId": "7", "groupName": "Compliant Macs", "smartGroup": True},
        ],
        "extensionAttributes": [
            {"definitionId": "3", "name": "Compliance", "values": ["Compliant"]}
        ],
        "purchasing": {"leased": False, "purchased": True},
        "applications": [],
    }


def mobile(index: int, serial: str, rng: random.Random) -> dict[str, Any]:
    """One mobile-devices/detail record with every section the fake knows."""
    seen = T0 - timedelta(minutes=rng.randrange(0, 60 * 24 * 7))
    model = rng.choice(["iPhone 15", "iPad Air (5th generation)"])
    return {
        "mobileDeviceId": str(index + 1),
        "deviceType": "iOS",
        "general": {
            "displayName": f"mobile-{index:05d}",
            "assetTag": None,
            "osVersion": "17.5",
            "ipAddress": f"10.9.{index // 256 % 256}.{index % 256}",
            "managed": True,
            "supervised": True,
            "deviceOwnershipType": "Institutional",
            "lastInventoryUpdateDate": iso(seen),
            "lastEnrolledDate": iso(seen - timedelta(days=90)),
        },
        "hardware": {"serialNumber": serial, "model": model, "modelIdentifier": "iPhone15,4"},
        "userAndLocation": {"username": f"user{index}", "emailAddress": f"user{index}@example.com"},
        "security": {"dataProtected": True, "jailBreakDetected": False, "passcodePresent": True},
        "groups": [{"groupId": "4", "groupName": "Compliant Mobiles", "smart": True}],
        "extensionAttributes": [{"id": "9", "name": "Compliance", "value": ["Compliant"]}],
        "applications": [],
    }
