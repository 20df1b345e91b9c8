"""A fake Google Workspace: the OAuth token endpoint for service accounts and the Directory API.

Follows developers.google.com:

- "Using OAuth 2.0 for Server to Server Applications" (identity/protocols/oauth2/
  service-account): ``POST /token`` with ``grant_type=urn:ietf:params:oauth:
  grant-type:jwt-bearer`` and an RS256 ``assertion`` (``kid`` header; ``iss`` the
  service account, ``sub`` the user to impersonate, ``scope``, ``aud`` the token
  URI, ``exp`` at most an hour after ``iat``); errors ``invalid_grant`` ("Invalid
  JWT Signature.", "Invalid email or User ID", lifetime) and
  ``unauthorized_client`` (domain-wide delegation not granted for the scopes);
- "Perform Google Workspace domain-wide delegation of authority": the scopes an
  admin granted to the service account's client id;
- Directory API reference (admin-sdk/directory/reference/rest/v1): ``users.list``
  (``customer``/``domain`` required, ``maxResults`` 1-500, ``pageToken``,
  ``nextPageToken``), ``groups.list`` (``maxResults`` at most 200),
  ``members.list`` (``maxResults`` at most 200; ``type`` USER, GROUP, CUSTOMER);
  an empty list is left out of the body;
- "Directory API: Limits and Quotas" (admin-sdk/directory/v1/limits): 403 with
  reason ``userRateLimitExceeded`` / ``quotaExceeded`` when throttled;
- "Troubleshoot error codes": errors as ``{"error": {"code", "message",
  "errors": [{"message", "domain", "reason"}], "status"}}``; 401 ``authError``
  UNAUTHENTICATED, 403 ``forbidden`` ("Not Authorized to access this resource/api").
"""

from __future__ import annotations

import base64
import secrets
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl

import orjson
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import RSAKey
from joserfc.jws import extract_compact
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tests.fakes.common import Fault, Faults, oauth_error

JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
SCOPES = tuple(
    f"https://www.googleapis.com/auth/admin.directory.{scope}.readonly"
    for scope in ("user", "group", "group.member")
)
STATUS = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
}
REASONS = {
    400: "invalid",
    401: "authError",
    403: "forbidden",
    404: "notFound",
    429: "rateLimitExceeded",
    500: "backendError",
    503: "backendError",
}
MESSAGES = {
    400: "Invalid Input",
    401: "Request had invalid authentication credentials.",
    403: "Not Authorized to access this resource/api",
    404: "Resource Not Found",
    429: "Quota exceeded",
    500: "Internal error encountered.",
    503: "The service is currently unavailable.",
}
CUSTOMER_ID = "C01fake23"
MAX = {"users": 500, "groups": 200, "members": 200}


def google_time(at: float) -> str:
    """RFC 3339 with milliseconds, as the Directory API writes it."""
    return datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def user_id(n: int) -> str:
    """The id of fake user ``n``."""
    return f"1{n:020d}"


def make_user(n: int, at: float) -> dict[str, Any]:
    """User ``n``: every 10th suspended, user 0 a super admin, a manager for n >= 10."""
    dept = ("Engineering", "Sales", "Finance")[n % 3]
    return {
        "kind": "admin#directory#user",
        "id": user_id(n),
        "primaryEmail": f"User{n:05d}@Example.com",
        "name": {
            "givenName": f"First{n}",
            "familyName": f"Last{n}",
            "fullName": f"First{n} Last{n}",
        },
        "isAdmin": n == 0,
        "isDelegatedAdmin": False,
        "suspended": n % 10 == 9,
        "archived": False,
        "orgUnitPath": f"/{dept}",
        "creationTime": google_time(at),
        "lastLoginTime": "1970-01-01T00:00:00.000Z" if n % 4 == 3 else google_time(at + n),
        "organizations": [{"department": dept, "title": f"Title {n % 7}", "primary": True}],
        "relations": [{"type": "manager", "value": f"user{n // 10:05d}@example.com"}]
        if n >= 10
        else [],
        "phones": [{"type": "work", "value": f"+1 555 {n:07d}", "primary": True}],
        "externalIds": [{"type": "organization", "value": f"E{n:06d}"}],
    }


def error(
    status: int,
    message: str | None = None,
    reason: str | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    """A Google API error response."""
    text = message or MESSAGES.get(status, "Error")
    why = reason or REASONS.get(status, "backendError")
    domain = "usageLimits" if "RateLimit" in why or why == "quotaExceeded" else "global"
    body = {
        "error": {
            "code": status,
            "message": text,
            "status": STATUS.get(status, "UNKNOWN"),
            "errors": [{"message": text, "domain": domain, "reason": why}],
        }
    }
    return Response(orjson.dumps(body), status, headers=headers, media_type="application/json")


@dataclass
class Directory:
    """Users, groups and group members (by member email and type)."""

    users: dict[str, dict[str, Any]] = field(default_factory=dict)
    groups: dict[str, dict[str, Any]] = field(default_factory=dict)
    members: dict[str, list[dict[str, str]]] = field(default_factory=dict)


class GoogleWorkspaceFake:
    """State and ASGI app of one fake Google Workspace customer."""

    def __init__(self) -> None:
        self.client_email = "pip-reader@fake-project.iam.gserviceaccount.com"
        self.keys: dict[str, RSAKey] = {}
        self.admins = {"admin@example.com"}
        self.delegated = set(SCOPES)
        self.base_url = ""
        self.quota = 10_000
        self.used = 0
        self.throttled = 0
        self.token_requests = 0
        self.directory = Directory()
        self.tokens: dict[str, tuple[float, str]] = {}
        self.requests: deque[tuple[str, dict[str, str]]] = deque(maxlen=5000)
        self.faults = Faults()
        self._lock = threading.Lock()
        self.app = Starlette(
            routes=[
                Route("/token", self._token, methods=["POST"]),
                Route("/admin/directory/v1/users", self._users, methods=["GET"]),
                Route("/admin/directory/v1/groups", self._groups, methods=["GET"]),
                Route("/admin/directory/v1/groups/{key}/members", self._members, methods=["GET"]),
            ]
        )

    # --- test controls ---------------------------------------------------------

    def reset(self, users: int = 0, groups: int = 0, *, size: int = 3) -> None:
        """Fresh data; group g has ``size`` users and, for g > 0, group g-1 nested."""
        at = time.time() - 86400
        directory = Directory(users={user_id(n): make_user(n, at + n) for n in range(users)})
        emails = [u["primaryEmail"] for u in directory.users.values()]
        for g in range(groups):
            gid = f"0{g:014x}"
            directory.groups[gid] = {
                "kind": "admin#directory#group",
                "id": gid,
                "name": f"Team {g}",
                "email": f"Team-{g}@Example.com",
                "description": f"Team number {g}",
            }
            members = (
                [
                    {"email": emails[(g * size + i) % len(emails)], "type": "USER"}
                    for i in range(size)
                ]
                if emails
                else []
            )
            if g > 0:
                members.append({"email": f"team-{g - 1}@example.com", "type": "GROUP"})
            directory.members[gid] = members
        with self._lock:
            self.directory, self.used, self.throttled, self.token_requests = directory, 0, 0, 0
            self.faults.clear()
            self.requests.clear()

    def fail_next(
        self,
        status: int,
        *,
        times: int = 1,
        retry_after: str | None = None,
        reason: str | None = None,
        garbage: bool = False,
    ) -> None:
        """Answer the next ``times`` API requests with ``status`` (or 200 garbage)."""
        self.faults.add(status, times, retry_after, garbage, reason)

    def fail_on_page(self, page: int) -> None:
        """Answer every users request for 1-based ``page`` with 500 until reset."""
        self.faults.failing_page = page

    def expire_tokens(self) -> None:
        """Every issued access token expires now."""
        self.tokens.clear()

    # --- OAuth -------------------------------------------------------------------

    async def _token(self, request: Request) -> Response:
        self.token_requests += 1
        form = dict(parse_qsl((await request.body()).decode()))
        if form.get("grant_type") != JWT_GRANT:
            return oauth_error(400, "unsupported_grant_type", "Invalid grant_type: ")
        claims, problem = self._claims(form.get("assertion", ""), str(request.url))
        if problem:
            return oauth_error(400, "invalid_grant", problem)
        if not set(str(claims.get("scope", "")).split()) <= self.delegated:
            return oauth_error(
                401,
                "unauthorized_client",
                "Client is unauthorized to retrieve access "
                "tokens using this method, or client not authorized for any of the "
                "scopes requested.",
            )
        token = "ya29." + secrets.token_urlsafe(24)
        self.tokens[token] = (time.time() + 3599, str(claims.get("sub", "")))
        body = {"access_token": token, "expires_in": 3599, "token_type": "Bearer"}
        return Response(orjson.dumps(body), 200, media_type="application/json")

    def _claims(self, assertion: str, audience: str) -> tuple[dict[str, Any], str | None]:
        try:
            kid = str(extract_compact(assertion.encode()).headers().get("kid", ""))
            claims = jwt.decode(assertion, self.keys[kid], algorithms=["RS256"]).claims
        except (JoseError, KeyError, ValueError):
            return {}, "Invalid JWT Signature."
        iat, exp, now = claims.get("iat"), claims.get("exp"), time.time()
        if claims.get("iss") != self.client_email or claims.get("aud") != audience:
            return claims, "Invalid JWT: Failed audience check."
        if not isinstance(iat, int) or not isinstance(exp, int) or exp - iat > 3600 or exp < now:
            return claims, (
                "Invalid JWT: Token must be a short-lived token (60 minutes) and in a "
                "reasonable timeframe. Check your iat and exp values in the JWT claim."
            )
        if claims.get("sub") not in self.admins:
            return claims, "Invalid email or User ID"
        return claims, None

    # --- Directory API -----------------------------------------------------------

    def _gate(self, request: Request) -> Response | None:
        self.requests.append((request.url.path, dict(request.query_params)))
        auth = request.headers.get("Authorization", "")
        if not auth.startswith("Bearer ") or self.tokens.get(auth[7:], (0.0, ""))[0] <= time.time():
            return error(
                401,
                "Request had invalid authentication credentials. Expected OAuth 2 "
                "access token, login cookie or other valid authentication credential.",
            )
        fault = self.faults.pop()
        with self._lock:
            self.used += 1
        if fault is not None:
            return _fault(fault)
        if self.used > self.quota:
            self.throttled += 1
            return error(
                403,
                "Quota exceeded for quota metric 'Queries' and limit 'Queries per minute per user'",
                "userRateLimitExceeded",
            )
        return None

    def _customer(self, request: Request) -> Response | None:
        customer = request.query_params.get("customer")
        if customer is None and request.query_params.get("domain") is None:
            return error(400, "Bad Request", "badRequest")
        if customer not in (None, "my_customer", CUSTOMER_ID):
            return error(404, "Resource Not Found: customer", "notFound")
        return None

    async def _users(self, request: Request) -> Response:
        denied = self._gate(request) or self._customer(request)
        if denied is not None:
            return denied
        users = sorted(
            self.directory.users.values(), key=lambda u: str(u.get("primaryEmail", "")).lower()
        )
        return self._page(request, users, "users", "admin#directory#users")

    async def _groups(self, request: Request) -> Response:
        denied = self._gate(request) or self._customer(request)
        if denied is not None:
            return denied
        groups = sorted(self.directory.groups.values(), key=lambda g: g["email"].lower())
        return self._page(request, groups, "groups", "admin#directory#groups")

    async def _members(self, request: Request) -> Response:
        denied = self._gate(request)
        if denied is not None:
            return denied
        key = request.path_params["key"]
        if key not in self.directory.members:
            return error(404, "Resource Not Found: groupKey", "notFound")
        members = [
            {
                "kind": "admin#directory#member",
                "id": f"m{i}",
                "role": "MEMBER",
                "status": "ACTIVE",
                **m,
            }
            for i, m in enumerate(self.directory.members[key])
        ]
        return self._page(request, members, "members", "admin#directory#members")

    def _page(
        self, request: Request, items: list[dict[str, Any]], name: str, kind: str
    ) -> Response:
        size = _int(request.query_params.get("maxResults"), 100 if name == "users" else 200)
        if size < 1 or size > MAX[name]:
            return error(400, "Invalid Input: maxResults", "invalid")
        token = request.query_params.get("pageToken")
        start = int(base64.urlsafe_b64decode(token)) if token else 0
        if (
            name == "users"
            and self.faults.failing_page is not None
            and start // size + 1 == self.faults.failing_page
        ):
            return error(500)
        body: dict[str, Any] = {"kind": kind, "etag": '"fake-etag"'}
        if items[start : start + size]:
            body[name] = items[start : start + size]
        if start + size < len(items):
            body["nextPageToken"] = base64.urlsafe_b64encode(str(start + size).encode()).decode()
        return Response(orjson.dumps(body), 200, media_type="application/json")


def _int(value: str | None, default: int) -> int:
    try:
        return int(value) if value is not None else default
    except ValueError:
        return -1


def _fault(fault: Fault) -> Response:
    if fault.garbage:
        return Response(
            b"<html><body>Error 502 (Server Error)</body></html>", 200, media_type="text/html"
        )
    headers = {"Retry-After": fault.retry_after} if fault.retry_after else None
    return error(fault.status, None, fault.reason, headers)
