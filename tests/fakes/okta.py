"""A fake of the Okta management API: users, groups, group members, OAuth for service apps.

Follows developer.okta.com:

- "Users API" and "User query options" (docs/reference/user-query): ``GET
  /api/v1/users`` with ``limit`` (max 200) / ``after`` and ``filter`` (``status``,
  ``lastUpdated`` with ``gt ge lt le``, ``and``/``or``); without a filter or
  search DEPROVISIONED users are left out; ordered by id;
- "Groups API": ``GET /api/v1/groups`` (``filter`` on ``lastUpdated``,
  ``lastMembershipUpdated``, ``type``; ``limit`` max 10000) and ``GET
  /api/v1/groups/{id}/users`` (``limit`` max 1000);
- "Pagination" (docs/api#pagination): ``Link: <...>; rel="self"`` and, when more
  follow, ``Link: <...?after=...>; rel="next"``;
- "Rate limits" (docs/reference/rl-best-practices): every response carries
  ``X-Rate-Limit-Limit``, ``X-Rate-Limit-Remaining`` and ``X-Rate-Limit-Reset``
  (epoch seconds when the window resets); over the limit: 429 ``E0000047``;
- "Error codes" (docs/reference/error-codes): ``{"errorCode", "errorSummary",
  "errorLink", "errorId", "errorCauses"}``; 401 ``E0000011`` invalid token,
  403 ``E0000006``, 404 ``E0000007``, 400 ``E0000031`` invalid search criteria;
- "Implement OAuth for Okta with a service app" (docs/guides/implement-oauth-for-okta-serviceapp):
  ``POST /oauth2/v1/token`` with a private-key JWT client assertion (``kid``
  header; ``aud`` = the token URL; ``iss`` = ``sub`` = client id; ``exp`` within an
  hour), granted scopes only; ``invalid_dpop_proof`` when the app requires DPoP.
"""

from __future__ import annotations

import re
import secrets
import threading
import time
import uuid
from collections import deque
from datetime import datetime
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

from tests.fakes.common import Fault, FaultControls, Faults, oauth_error
from tests.fakes.okta_data import OktaData, RateWindow, okta_time

# Re-exported: tests/webhooks imports it from here.
from tests.fakes.okta_data import make_user as make_user

JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
_TERM = re.compile(r'^(\w+(?:\.\w+)?) (eq|gt|ge|lt|le) "([^"]*)"$')
MAX_LIMITS = {"users": 200, "groups": 10000, "members": 1000}
SCOPES = {"users": "okta.users.read", "groups": "okta.groups.read", "members": "okta.groups.read"}


def error(status: int, code: str, summary: str, headers: dict[str, str] | None = None) -> Response:
    """An Okta error response."""
    body = {
        "errorCode": code,
        "errorSummary": summary,
        "errorLink": code,
        "errorId": f"oae{uuid.uuid4().hex[:19]}",
        "errorCauses": [],
    }
    return Response(orjson.dumps(body), status, headers=headers, media_type="application/json")


class OktaFake(FaultControls):
    """State and ASGI app of one fake Okta org."""

    def __init__(self) -> None:
        self.api_token = "00fakeSSWS-token_value"
        self.client_id = "0oafakeserviceapp001"
        self.keys: dict[str, RSAKey] = {}
        self.granted = {"okta.users.read", "okta.groups.read"}
        self.require_dpop = False
        self.base_url = ""
        self.offset = 0.0
        self.data = OktaData()
        self.window = RateWindow()
        self.tokens: dict[str, tuple[float, set[str]]] = {}
        self.requests: deque[tuple[str, dict[str, str]]] = deque(maxlen=5000)
        self.faults = Faults()
        self._lock = threading.Lock()
        self.app = Starlette(
            routes=[
                Route("/oauth2/v1/token", self._token, methods=["POST"]),
                Route("/api/v1/users", self._users, methods=["GET"]),
                Route("/api/v1/groups", self._groups, methods=["GET"]),
                Route("/api/v1/groups/{gid}/users", self._members, methods=["GET"]),
            ]
        )

    # --- test controls ---------------------------------------------------------

    def now(self) -> float:
        """The fake's clock."""
        return time.time() + self.offset

    def reset(self, users: int = 0, groups: int = 0, *, group_size: int = 4) -> None:
        """Fresh data stamped a day ago; no faults, fresh rate window."""
        at = self.now() - 86400
        made = (make_user(n, at + n) for n in range(users))  # one second apart
        data = OktaData(users={u["id"]: u for u in made})
        ids = sorted(data.users)
        for g in range(groups):
            gid = f"00g{g:017d}"
            data.groups[gid] = {
                "id": gid,
                "type": "OKTA_GROUP",
                "lastUpdated": okta_time(at + g),
                "lastMembershipUpdated": okta_time(at + g),
                "profile": {"name": f"Team {g:04d}", "description": f"Team number {g}"},
            }
            data.members[gid] = (
                [ids[(g * group_size + i) % len(ids)] for i in range(group_size)] if ids else []
            )
        with self._lock:
            self.data = data
            self.window = RateWindow()
            self.faults.clear()
            self.requests.clear()

    def touch_user(
        self, uid: str, *, at: float | None = None, status: str | None = None, **profile: Any
    ) -> None:
        """Update a user's profile/status and its lastUpdated."""
        user = self.data.users[uid]
        user["profile"].update(profile)
        if status:
            user["status"] = status
        user["lastUpdated"] = okta_time(self.now() if at is None else at)

    def set_members(self, gid: str, members: list[str]) -> None:
        """Replace a group's members (stamps lastMembershipUpdated)."""
        self.data.members[gid] = list(members)
        self.data.groups[gid]["lastMembershipUpdated"] = okta_time(self.now())

    # --- OAuth -----------------------------------------------------------------

    async def _token(self, request: Request) -> Response:
        form = dict(parse_qsl((await request.body()).decode()))
        if self.require_dpop and "DPoP" not in request.headers:
            return oauth_error(400, "invalid_dpop_proof", "The DPoP proof JWT header is missing.")
        if (
            form.get("grant_type") != "client_credentials"
            or form.get("client_assertion_type") != JWT_BEARER
        ):
            return oauth_error(
                400, "invalid_request", "client_credentials with a client assertion is required."
            )
        problem = self._assertion_problem(form.get("client_assertion", ""), str(request.url))
        if problem:
            return oauth_error(401, "invalid_client", problem)
        asked = set(form.get("scope", "").split())
        if not asked or not asked <= self.granted:
            return oauth_error(
                400,
                "invalid_scope",
                "The following scopes are not allowed: " + " ".join(sorted(asked - self.granted)),
            )
        token = secrets.token_urlsafe(24)
        self.tokens[token] = (self.now() + 3600, asked)
        body = {
            "token_type": "Bearer",
            "expires_in": 3600,
            "access_token": token,
            "scope": " ".join(sorted(asked)),
        }
        return Response(orjson.dumps(body), 200, media_type="application/json")

    def _assertion_problem(self, assertion: str, audience: str) -> str | None:
        try:
            kid = str(extract_compact(assertion.encode()).headers().get("kid", ""))
            claims = jwt.decode(assertion, self.keys[kid], algorithms=["RS256"]).claims
        except (JoseError, KeyError, ValueError):
            return "The client_assertion signature is invalid."
        now = self.now()
        if (
            claims.get("aud") != audience
            or claims.get("iss") != self.client_id
            or claims.get("sub") != self.client_id
        ):
            return "The audience, issuer or subject of the client_assertion is invalid."
        exp = claims.get("exp")
        if not isinstance(exp, int) or exp < now or exp > now + 3600 + 60:
            return "The client_assertion token is expired or lives longer than an hour."
        return None

    # --- API -------------------------------------------------------------------

    def _gate(self, request: Request, bucket: str) -> Response | None:
        self.requests.append((request.url.path, dict(request.query_params)))
        auth = request.headers.get("Authorization", "")
        if auth == f"SSWS {self.api_token}":
            scopes = None
        elif auth.startswith("Bearer ") and self.tokens.get(auth[7:], (0.0, set()))[0] > self.now():
            scopes = self.tokens[auth[7:]][1]
        else:
            return error(401, "E0000011", "Invalid token provided")
        limited = self._rate(request)
        if limited is not None:
            return limited
        fault = self.faults.pop()
        if fault is not None:
            return _fault_response(fault, self._rate_headers())
        if scopes is not None and SCOPES[bucket] not in scopes:
            return error(
                403, "E0000006", "You do not have permission to perform the requested action"
            )
        return None

    def _rate(self, request: Request) -> Response | None:
        window, now = self.window, self.now()
        if now >= window.reset_at:
            window.used, window.reset_at = 0, float(int(now) + window.seconds)
        if window.used >= window.limit:
            window.throttled += 1
            return error(
                429,
                "E0000047",
                "API call exceeded rate limit due to too many requests.",
                self._rate_headers(),
            )
        window.used += 1
        return None

    def _rate_headers(self) -> dict[str, str]:
        window = self.window
        return {
            "X-Rate-Limit-Limit": str(window.limit),
            "X-Rate-Limit-Remaining": str(max(window.limit - window.used, 0)),
            "X-Rate-Limit-Reset": str(int(window.reset_at)),
        }

    async def _users(self, request: Request) -> Response:
        denied = self._gate(request, "users")
        if denied is not None:
            return denied
        expression = request.query_params.get("filter")
        users = sorted(self.data.users.values(), key=lambda u: u["id"])
        if expression is None:
            users = [u for u in users if u["status"] != "DEPROVISIONED"]
        else:
            matcher = _parse(expression, {"status", "lastUpdated", "id"})
            if matcher is None:
                return error(400, "E0000031", "Invalid search criteria.")
            users = [u for u in users if matcher(u)]
        return self._page(request, users, "users")

    async def _groups(self, request: Request) -> Response:
        denied = self._gate(request, "groups")
        if denied is not None:
            return denied
        groups = sorted(self.data.groups.values(), key=lambda g: g["id"])
        expression = request.query_params.get("filter")
        if expression is not None:
            matcher = _parse(expression, {"lastUpdated", "lastMembershipUpdated", "type", "id"})
            if matcher is None:
                return error(400, "E0000031", "Invalid search criteria.")
            groups = [g for g in groups if matcher(g)]
        return self._page(request, groups, "groups")

    async def _members(self, request: Request) -> Response:
        denied = self._gate(request, "members")
        if denied is not None:
            return denied
        gid = request.path_params["gid"]
        if gid not in self.data.groups:
            return error(404, "E0000007", f"Not found: Resource not found: {gid} (UserGroup)")
        users = [self.data.users[uid] for uid in self.data.members[gid] if uid in self.data.users]
        return self._page(request, sorted(users, key=lambda u: u["id"]), "members")

    def _page(self, request: Request, items: list[dict[str, Any]], bucket: str) -> Response:
        limit = min(
            max(_int(request.query_params.get("limit"), MAX_LIMITS[bucket]), 1), MAX_LIMITS[bucket]
        )
        after = request.query_params.get("after")
        start = (
            next((i + 1 for i, item in enumerate(items) if item["id"] == after), 0) if after else 0
        )
        if (
            bucket == "users"
            and self.faults.failing_page is not None
            and start // limit + 1 == self.faults.failing_page
        ):
            return error(500, "E0000009", "Internal Server Error", self._rate_headers())
        page = items[start : start + limit]
        links = [f'<{request.url}>; rel="self"']
        if start + limit < len(items):
            following = request.url.include_query_params(after=page[-1]["id"], limit=limit)
            links.append(f'<{following}>; rel="next"')
        headers = {**self._rate_headers(), "Link": ", ".join(links)}
        return Response(orjson.dumps(page), 200, headers=headers, media_type="application/json")


def _parse(expression: str, allowed: set[str]) -> Any:
    for joiner, combine in ((" or ", any), (" and ", all)):
        if joiner in expression:
            parts = [_parse(p, allowed) for p in expression.split(joiner)]
            if None in parts:
                return None
            return lambda item, parts=parts, combine=combine: combine(p(item) for p in parts)
    match = _TERM.match(expression.strip())
    if match is None or match.group(1) not in allowed:
        return None
    name, op, value = match.groups()
    if name not in ("lastUpdated", "lastMembershipUpdated") and op != "eq":
        return None

    def test(item: dict[str, Any]) -> bool:
        actual = item.get(name)
        if name.startswith("last"):
            return _compare(_when(actual), op, _when(value))
        return actual == value

    return test


def _when(value: Any) -> float:
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00")).timestamp()
    except ValueError:
        return float("nan")


def _compare(actual: float, op: str, value: float) -> bool:
    return {
        "eq": actual == value,
        "gt": actual > value,
        "ge": actual >= value,
        "lt": actual < value,
        "le": actual <= value,
    }[op]


def _int(value: str | None, default: int) -> int:
    try:
        return int(value) if value is not None else default
    except ValueError:
        return default


def _fault_response(fault: Fault, rate: dict[str, str]) -> Response:
    if fault.garbage:
        return Response(
            b"<html><body>Okta is down for maintenance</body></html>", 200, media_type="text/html"
        )
    headers = {**rate, **({"Retry-After": fault.retry_after} if fault.retry_after else {})}
    errors = {
        401: ("E0000011", "Invalid token provided"),
        403: ("E0000006", "You do not have permission to perform the requested action"),
        404: ("E0000007", "Not found: Resource not found"),
        400: ("E0000031", "Invalid search criteria."),
        429: ("E0000047", "API call exceeded rate limit due to too many requests."),
    }
    code, summary = errors.get(fault.status, ("E0000009", "Internal Server Error"))
    return error(fault.status, code, summary, headers)
