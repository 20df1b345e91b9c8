"""A fake Auth0 tenant: client-credentials tokens and the Management API v2 parts we read.

Follows auth0.com/docs:

- "Get Management API Access Tokens for Production" (api/management/v2/tokens):
  ``POST /oauth/token`` with ``grant_type=client_credentials``, ``client_id``,
  ``client_secret`` and ``audience=https://{domain}/api/v2/`` (form or JSON);
  answers ``{"access_token", "scope", "expires_in": 86400, "token_type"}``; a
  wrong secret is 401 ``access_denied``/``Unauthorized``, an audience without a
  client grant 403 ``access_denied``;
- "Get users" (api/management/v2/users/get-users) and "View Search Results by
  Page": ``page`` (zero based), ``per_page`` (at most 100), ``include_totals``
  (``{"start", "limit", "length", "total", "users"}``), ``q`` with
  ``search_engine=v3`` (here: ``updated_at:[X TO *]`` / ``{X TO *]``),
  ``sort``, ``fields``; past the first 1000 results: 400;
- "User Search Query Syntax": inclusive ``[`` / exclusive ``{`` ranges, ``*``;
- "Bulk User Exports" and the Jobs endpoints: ``POST /api/v2/jobs/users-exports``,
  ``GET /api/v2/jobs/{id}`` (``pending`` → ``processing`` → ``completed`` with a
  pre-signed ``location``), a gzipped file with one JSON user per line; like
  S3, the pre-signed URL refuses a request that also carries ``Authorization``;
- "Get roles", "Get a role's users", "Get organizations", "Get members who
  belong to an organization": offset pagination, and checkpoint pagination
  (``take``, ``from``; ``next`` in the body while more follow);
- "Rate Limit Policy" / "Management API Endpoint Rate Limits": every response
  carries ``x-ratelimit-limit``, ``x-ratelimit-remaining``, ``x-ratelimit-reset``
  (epoch seconds); over the limit: 429 ``too_many_requests``;
- "Management API error codes": bodies ``{"statusCode", "error", "message",
  "errorCode"}``; 401 ``invalid_token``, 403 ``insufficient_scope``.
"""

from __future__ import annotations

import base64
import gzip
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tests.fakes.auth0_data import (
    SCOPES,
    Auth0Data,
    Job,
    auth0_time,
    error,
    make_user,
    member,
    select_fields,
    updated_range,
    user_id,
)
from tests.fakes.common import Fault, FaultControls, Faults, oauth_error


class Auth0Fake(FaultControls):
    """State and ASGI app of one fake Auth0 tenant."""

    def __init__(self) -> None:
        self.client_id = "m2mFakeClient0001"
        self.client_secret = "fake-m2m-secret_value-0001"
        self.base_url = ""
        self.offset = 0.0
        self.clock: Callable[[], float] = time.time
        self.limit = 50
        self.used = 0
        self.reset_at = 0.0
        self.throttled = 0
        self.scopes = SCOPES
        self.job_polls = 2
        self.export_body: bytes | None = None
        self.data = Auth0Data()
        self.tokens: dict[str, float] = {}
        self.token_requests = 0
        self.jobs: dict[str, Job] = {}
        self.requests: deque[tuple[str, dict[str, str]]] = deque(maxlen=5000)
        self.downloads: list[dict[str, str]] = []
        self.faults = Faults()
        self._lock = threading.Lock()
        self.app = Starlette(
            routes=[
                Route("/oauth/token", self._token, methods=["POST"]),
                Route("/api/v2/users", self._users, methods=["GET"]),
                Route("/api/v2/jobs/users-exports", self._export, methods=["POST"]),
                Route("/api/v2/jobs/{jid}", self._job, methods=["GET"]),
                Route("/exports/{jid}.json.gz", self._download, methods=["GET"]),
                Route("/api/v2/roles", self._roles, methods=["GET"]),
                Route("/api/v2/roles/{rid}/users", self._role_users, methods=["GET"]),
                Route("/api/v2/organizations", self._orgs, methods=["GET"]),
                Route("/api/v2/organizations/{oid}/members", self._org_members, methods=["GET"]),
            ]
        )

    # --- test controls ---------------------------------------------------------

    def now(self) -> float:
        """The fake's clock: ``clock`` (the wall clock unless a test sets it) plus ``offset``."""
        return self.clock() + self.offset

    def reset(self, users: int = 0, roles: int = 0, orgs: int = 0, *, size: int = 3) -> None:
        """Fresh data stamped a day ago (users two minutes apart); no faults."""
        at = self.now() - 86400
        data = Auth0Data(users={user_id(n): make_user(n, at + n * 120) for n in range(users)})
        ids = sorted(data.users)
        for r in range(roles):
            rid = f"rol_{r:016d}"
            data.roles[rid] = {"id": rid, "name": f"Role{r}", "description": f"Role number {r}"}
            data.role_users[rid] = (
                [ids[(r * size + i) % len(ids)] for i in range(size)] if ids else []
            )
        for o in range(orgs):
            oid = f"org_{o:016d}"
            data.orgs[oid] = {"id": oid, "name": f"tenant-{o}", "display_name": f"Tenant {o}"}
            data.org_members[oid] = [ids[(o + i) % len(ids)] for i in range(size)] if ids else []
        with self._lock:
            self.data, self.used, self.reset_at, self.throttled = data, 0, 0.0, 0
            self.faults.clear()
            self.requests.clear()
            self.downloads.clear()
            self.export_body = None
            self.token_requests = 0

    def touch_user(self, uid: str, *, at: float | None = None, **changes: Any) -> None:
        """Change a user's attributes (``app_metadata`` merged) and stamp updated_at."""
        user = self.data.users[uid]
        user["app_metadata"].update(changes.pop("app_metadata", {}))
        user.update(changes)
        user["updated_at"] = auth0_time(self.now() if at is None else at)

    def expire_tokens(self) -> None:
        """Every issued access token expires now."""
        self.tokens.clear()

    # --- OAuth -------------------------------------------------------------------

    async def _token(self, request: Request) -> Response:
        raw = await request.body()
        form = (
            orjson.loads(raw)
            if request.headers.get("content-type", "").startswith("application/json")
            else dict(parse_qsl(raw.decode()))
        )
        self.token_requests += 1
        if form.get("grant_type") != "client_credentials":
            return oauth_error(400, "unsupported_grant_type", "Unsupported grant type")
        if (
            form.get("client_id") != self.client_id
            or form.get("client_secret") != self.client_secret
        ):
            return oauth_error(401, "access_denied", "Unauthorized")
        if form.get("audience") != f"{self.base_url}/api/v2/":
            return oauth_error(
                403, "access_denied", f"Service not enabled within domain: {form.get('audience')}"
            )
        token = secrets.token_urlsafe(24)
        self.tokens[token] = self.now() + 86400
        body = {
            "access_token": token,
            "scope": self.scopes,
            "expires_in": 86400,
            "token_type": "Bearer",
        }
        return Response(orjson.dumps(body), 200, media_type="application/json")

    # --- API ---------------------------------------------------------------------

    def _gate(self, request: Request, scope: str) -> Response | None:
        self.requests.append((request.url.path, dict(request.query_params)))
        auth = request.headers.get("Authorization", "")
        if not auth.startswith("Bearer ") or self.tokens.get(auth[7:], 0.0) <= self.now():
            return error(401, "Invalid token", self._rate_headers())
        limited = self._rate()
        if limited is not None:
            return limited
        fault = self.faults.pop()
        if fault is not None:
            return _fault(fault, self._rate_headers())
        if scope not in self.scopes.split():
            return error(403, f"Insufficient scope, expected any of: {scope}", self._rate_headers())
        return None

    def _rate(self) -> Response | None:
        now = self.now()
        if now >= self.reset_at:
            self.used, self.reset_at = 0, float(int(now) + 1)
        if self.used >= self.limit:
            self.throttled += 1
            return error(429, "Global limit has been reached", self._rate_headers())
        self.used += 1
        return None

    def _rate_headers(self) -> dict[str, str]:
        return {
            "x-ratelimit-limit": str(self.limit),
            "x-ratelimit-remaining": str(max(self.limit - self.used, 0)),
            "x-ratelimit-reset": str(int(self.reset_at)),
        }

    def _json(self, body: Any, status: int = 200) -> Response:
        return Response(
            orjson.dumps(body), status, headers=self._rate_headers(), media_type="application/json"
        )

    async def _users(self, request: Request) -> Response:
        denied = self._gate(request, "read:users")
        if denied is not None:
            return denied
        query = request.query_params
        users = sorted(
            self.data.users.values(), key=lambda u: (u["created_at"], u.get("user_id", ""))
        )
        if query.get("q"):
            matcher = updated_range(query["q"]) if query.get("search_engine") == "v3" else None
            if matcher is None:
                return error(400, "Query validation error: invalid q", self._rate_headers())
            users = [u for u in users if matcher(u["updated_at"])]
        page, per_page = _int(query.get("page"), 0), _int(query.get("per_page"), 50)
        if per_page > 100 or per_page < 0 or page < 0:
            return error(400, "Query validation error: per_page must be at most 100")
        if (page + 1) * per_page > 1000:
            return error(
                400,
                "You can only page through the first 1000 records. "
                "See https://auth0.com/docs/users/search/v3/view-search-results-by-page"
                "#limitation",
                self._rate_headers(),
            )
        if (
            self.faults.failing_page is not None
            and per_page > 1
            and page + 1 == self.faults.failing_page
        ):
            return error(500, "Internal Server Error", self._rate_headers())
        chunk = [select_fields(u, query.get("fields")) for u in users[page * per_page :][:per_page]]
        if query.get("include_totals") != "true":
            return self._json(chunk)
        return self._json(
            {
                "start": page * per_page,
                "limit": per_page,
                "length": len(chunk),
                "total": len(users),
                "users": chunk,
            }
        )

    async def _export(self, request: Request) -> Response:
        denied = self._gate(request, "read:users")
        if denied is not None:
            return denied
        body = orjson.loads(await request.body())
        names = [f["name"] for f in body.get("fields", [])]
        job = Job(f"job_{secrets.token_hex(8)}", names, self.job_polls)
        rows = (orjson.dumps({n: u[n] for n in names if n in u}) for u in self.data.users.values())
        job.body = (
            self.export_body
            if self.export_body is not None
            else gzip.compress(b"".join(row + b"\n" for row in rows))
        )
        self.jobs[job.id] = job
        return self._json(
            {
                "type": "users_export",
                "status": "pending",
                "format": "json",
                "fields": body.get("fields"),
                "id": job.id,
                "created_at": auth0_time(self.now()),
            },
            201,
        )

    async def _job(self, request: Request) -> Response:
        denied = self._gate(request, "read:users")
        if denied is not None:
            return denied
        job = self.jobs.get(request.path_params["jid"])
        if job is None:
            return error(404, "The job does not exist.", self._rate_headers())
        job.polls_left -= 1
        body: dict[str, Any] = {"type": "users_export", "id": job.id, "format": "json"}
        if job.polls_left > 0:
            return self._json(
                {**body, "status": "processing", "time_left_seconds": 3, "percentage_done": 50}
            )
        location = f"{self.base_url}/exports/{job.id}.json.gz?X-Amz-Signature=fakesig"
        return self._json({**body, "status": "completed", "location": location})

    async def _download(self, request: Request) -> Response:
        self.downloads.append(dict(request.headers))
        if "authorization" in request.headers:
            return Response(
                b"<Error><Code>InvalidArgument</Code><Message>Only one auth "
                b"mechanism allowed</Message></Error>",
                400,
                media_type="application/xml",
            )
        job = self.jobs.get(request.path_params["jid"])
        if job is None or request.query_params.get("X-Amz-Signature") != "fakesig":
            return Response(b"<Error><Code>AccessDenied</Code></Error>", 403)
        return Response(job.body, 200, media_type="application/gzip")

    async def _roles(self, request: Request) -> Response:
        denied = self._gate(request, "read:roles")
        if denied is not None:
            return denied
        roles = sorted(self.data.roles.values(), key=lambda r: r["id"])
        page, per_page = (
            _int(request.query_params.get("page"), 0),
            _int(request.query_params.get("per_page"), 50),
        )
        chunk = roles[page * per_page :][:per_page]
        return self._json(
            {
                "start": page * per_page,
                "limit": per_page,
                "length": len(chunk),
                "total": len(roles),
                "roles": chunk,
            }
        )

    async def _role_users(self, request: Request) -> Response:
        denied = self._gate(request, "read:roles")
        if denied is not None:
            return denied
        rid = request.path_params["rid"]
        if rid not in self.data.roles:
            return error(404, "The role does not exist.", self._rate_headers())
        users = [
            member(self.data.users[u])
            for u in sorted(self.data.role_users[rid])
            if u in self.data.users
        ]
        return self._checkpoint(request, users, "users", "user_id")

    async def _orgs(self, request: Request) -> Response:
        denied = self._gate(request, "read:organizations")
        if denied is not None:
            return denied
        orgs = sorted(self.data.orgs.values(), key=lambda o: o["id"])
        return self._checkpoint(request, orgs, "organizations", "id")

    async def _org_members(self, request: Request) -> Response:
        denied = self._gate(request, "read:organization_members")
        if denied is not None:
            return denied
        oid = request.path_params["oid"]
        if oid not in self.data.orgs:
            return error(404, "No organization found by that id", self._rate_headers())
        members = [
            member(self.data.users[u])
            for u in sorted(self.data.org_members[oid])
            if u in self.data.users
        ]
        return self._checkpoint(request, members, "members", "user_id")

    def _checkpoint(
        self, request: Request, items: list[dict[str, Any]], key: str, id_key: str
    ) -> Response:
        take = _int(request.query_params.get("take"), 50)
        start = 0
        if request.query_params.get("from"):
            after = base64.urlsafe_b64decode(request.query_params["from"]).decode()
            start = next(
                (i + 1 for i, item in enumerate(items) if item[id_key] == after), len(items)
            )
        chunk = items[start : start + take]
        body: dict[str, Any] = {key: chunk}
        if start + take < len(items):
            body["next"] = base64.urlsafe_b64encode(chunk[-1][id_key].encode()).decode()
        return self._json(body)


def _int(value: str | None, default: int) -> int:
    try:
        return int(value) if value is not None else default
    except ValueError:
        return -1


def _fault(fault: Fault, rate: dict[str, str]) -> Response:
    if fault.garbage:
        return Response(b"<html><body>502 Bad Gateway</body></html>", 200, media_type="text/html")
    headers = {**rate, **({"Retry-After": fault.retry_after} if fault.retry_after else {})}
    messages = {
        401: "Invalid token",
        403: "Insufficient scope, expected any of: read:users",
        404: "Not Found",
        400: "Query validation error",
        429: "Global limit has been reached",
    }
    return error(fault.status, messages.get(fault.status, "Internal Server Error"), headers)
