"""A fake Freshservice API v2 (assets, asset types, relationships, changes, approvals).

Follows the Freshservice API v2 reference (api.freshservice.com): "Authentication"
(the API key as basic-auth username, any password such as ``X``; a 401
``{"code": "invalid_credentials", "message": ...}`` otherwise), "Pagination"
(``page``/``per_page``, at most 100, default 30; a ``Link: <...>; rel="next"``
header while more pages follow), "Rate limit" (``X-Ratelimit-Total``,
``X-Ratelimit-Remaining``, ``X-Ratelimit-Used-CurrentRequest`` on every answer;
429 with ``Retry-After`` in seconds), "Error handling" (``{"description":
"Validation failed", "errors": [{"field", "message", "code"}]}``), "Assets"
(``include=type_fields``; type fields suffixed with the asset type id),
"Asset types" (``parent_asset_type_id``), "Relationships" and "Relationship
types", "Changes" (``updated_since``; numeric status/priority/impact/risk/
change_type; ``planned_start_date``/``planned_end_date``; create with
``POST /api/v2/changes``), change "Approvals", "Requesters", "Agents", "Locations".
"""

from __future__ import annotations

import asyncio
import base64
import random
import threading
from datetime import UTC, datetime
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tests.fakes.common import Fault, ListFaultControls, ListFaults
from tests.fakes.freshservice_data import (
    API_KEY,
    EPOCH,
    REL_TYPES,
    TYPES,
    Data,
    approval,
    approvals_for,
    make_asset,
    make_change,
    stamp,
)

REQUIRED = ("subject", "status", "priority", "impact", "risk", "change_type", "requester_id")


class FreshserviceFake(ListFaultControls):
    """State and ASGI app of one fake account."""

    def __init__(self) -> None:
        self.api_key = API_KEY
        self.posts: list[dict[str, Any]] = []
        self.requests: list[str] = []
        self._lock = threading.Lock()
        self.exhausted = False
        self.reset(0)
        paths = [
            ("/api/v2/assets", self._assets), ("/api/v2/asset_types", self._asset_types),
            ("/api/v2/relationships", self._relationships),
            ("/api/v2/relationship_types", self._rel_types),
            ("/api/v2/changes", self._changes),
            ("/api/v2/changes/{id:int}/approvals", self._approvals),
            ("/api/v2/requesters/{id:int}", self._requester),
            ("/api/v2/agents/{id:int}", self._agent),
            ("/api/v2/locations/{id:int}", self._location),
        ]  # fmt: skip
        routes = [Route(p, h, methods=["GET", "POST"]) for p, h in paths]
        self.app = self._rate_headers(Starlette(routes=routes))

    def _rate_headers(self, app: Any) -> Any:
        """Say ``X-Ratelimit-Remaining: 0`` on the next answer after ``use_up_rate_limit``."""

        async def wrapped(scope: Any, receive: Any, send: Any) -> None:
            async def sending(message: Any) -> None:
                if message["type"] == "http.response.start" and self.exhausted:
                    self.exhausted = False
                    headers = [h for h in message["headers"] if h[0] != b"x-ratelimit-remaining"]
                    message = {**message, "headers": [*headers, (b"x-ratelimit-remaining", b"0")]}
                await send(message)

            await app(scope, receive, sending)

        return wrapped

    # --- test controls ---------------------------------------------------------

    def reset(
        self, changes: int, *, assets: int = 6, relationships: int = 0, seed: int = 1
    ) -> None:
        """Fresh data, no faults."""
        rng = random.Random(seed)
        data = Data(assets=[make_asset(n, rng) for n in range(1, assets + 1)])
        data.assets.append(make_asset(assets + 1, rng, type_id=6))  # software: not a device
        ids = [a["display_id"] for a in data.assets[:-1]]
        data.changes = [make_change(n, rng, ids) for n in range(1, changes + 1)]
        data.approvals = {c["id"]: approvals_for(c) for c in data.changes}
        data.relationships = [self._rel(n, rng, ids) for n in range(relationships if ids else 0)]
        with self._lock:
            self.data = data
            self.faults = ListFaults()
            self.post_delay = 0.0
            self.exhausted = False
            self.posts.clear()
            self.requests.clear()

    def _rel(self, n: int, rng: random.Random, ids: list[int]) -> dict[str, Any]:
        primary, secondary = rng.sample(ids, 2)
        return {
            "id": 7000 + n, "relationship_type_id": rng.choice([1, 2]),
            "primary_id": primary, "primary_type": "asset",
            "secondary_id": secondary, "secondary_type": "asset", "created_at": stamp(EPOCH),
        }  # fmt: skip

    def touch_change(self, change_id: int, *, at: datetime | None = None, **fields: Any) -> None:
        """Update a change (and its ``updated_at``)."""
        with self._lock:
            for change in self.data.changes:
                if change["id"] == change_id:
                    change.update(fields, updated_at=stamp(at or datetime.now(UTC)))

    def use_up_rate_limit(self) -> None:
        """The next answer says the minute's request budget is used up (Remaining: 0)."""
        self.exhausted = True

    def delay_next_post(self, seconds: float) -> None:
        """Create the next POSTed change at once but answer only after ``seconds``."""
        self.post_delay = seconds

    def add_asset(self, display_id: int, type_id: int = 3) -> dict[str, Any]:
        """Create a computer asset."""
        row = make_asset(display_id, random.Random(display_id), type_id)
        with self._lock:
            self.data.assets.append(row)
        return row

    def touch_asset(self, display_id: int, **fields: Any) -> None:
        """Change type fields of an asset (by name, without the type id suffix)."""
        with self._lock:
            row = next(a for a in self.data.assets if a["display_id"] == display_id)
            suffix = row["asset_type_id"]
            row["type_fields"].update({f"{k}_{suffix}": v for k, v in fields.items()})
            row["updated_at"] = stamp(datetime.now(UTC))

    def delete_asset(self, display_id: int) -> None:
        """Delete an asset (its relationships go with it, as in Freshservice)."""
        with self._lock:
            self.data.assets = [a for a in self.data.assets if a["display_id"] != display_id]
            self.data.relationships = [
                r for r in self.data.relationships
                if display_id not in (r["primary_id"], r["secondary_id"])
            ]  # fmt: skip

    def approve(self, change_id: int) -> None:
        """Every approver approves; the change moves on to Pending Release, as the workflow does."""
        self.touch_change(change_id, status=4)
        with self._lock:
            change = next(c for c in self.data.changes if c["id"] == change_id)
            self.data.approvals[change_id] = [approval(change, 500 + i, 1) for i in range(2)]

    # --- the API ---------------------------------------------------------------

    async def _guard(self, request: Request, list_path: str | None = None) -> Response | None:
        self.requests.append(f"{request.method} {request.url.path}")
        header = request.headers.get("Authorization", "")
        if not _key_ok(header, self.api_key):
            body = {
                "code": "invalid_credentials",
                "message": "You have to be logged in to perform this action.",
            }
            return _json(401, body)
        with self._lock:
            fault = self.faults.next(list_path)
        return _fault(fault) if fault else None

    async def _list(self, request: Request, key: str, rows: list[dict[str, Any]]) -> Response:
        denied = await self._guard(request, key)
        if denied:
            return denied
        try:
            page = int(request.query_params.get("page", 1))
            per_page = int(request.query_params.get("per_page", 30))
        except ValueError:
            return _invalid("page", "It should be a/an Positive Integer")
        if page < 1 or not 1 <= per_page <= 100:
            return _invalid("per_page", "It should be a Number between 1 and 100")
        chunk = rows[(page - 1) * per_page : page * per_page]
        headers = {}
        if page * per_page < len(rows):
            nxt = request.url.include_query_params(page=page + 1, per_page=per_page)
            headers["Link"] = f'<{nxt}>; rel="next"'
        return _json(200, {key: chunk}, headers)

    async def _assets(self, request: Request) -> Response:
        include = request.query_params.get("include") == "type_fields"
        rows = [a if include else {k: v for k, v in a.items() if k != "type_fields"}
                for a in self.data.assets]  # fmt: skip
        return await self._list(request, "assets", rows)

    async def _asset_types(self, request: Request) -> Response:
        rows = [
            {"id": i, "name": n, "parent_asset_type_id": p, "visible": True} for i, n, p in TYPES
        ]
        return await self._list(request, "asset_types", rows)

    async def _relationships(self, request: Request) -> Response:
        return await self._list(request, "relationships", self.data.relationships)

    async def _rel_types(self, request: Request) -> Response:
        rows = [
            {"id": i, "upstream_relation": u, "downstream_relation": d} for i, u, d in REL_TYPES
        ]
        return await self._list(request, "relationship_types", rows)

    async def _changes(self, request: Request) -> Response:
        if request.method == "POST":
            return await self._create(request)
        since = request.query_params.get("updated_since")
        rows = sorted(self.data.changes, key=lambda c: -c["id"])  # newest first
        if since is not None:
            try:
                limit = datetime.fromisoformat(since.replace("Z", "+00:00"))
            except ValueError:
                return _invalid("updated_since", "It should be in the 'valid date' format")
            rows = [
                c
                for c in rows
                if datetime.fromisoformat(c["updated_at"].replace("Z", "+00:00")) >= limit
            ]
        return await self._list(request, "changes", rows)

    async def _approvals(self, request: Request) -> Response:
        change_id = request.path_params["id"]
        if change_id not in self.data.approvals:
            denied = await self._guard(request)
            return denied or _json(404, {"code": "access_denied", "message": "Record not found"})
        return await self._list(request, "approvals", self.data.approvals[change_id])

    async def _one(self, request: Request, key: str, found: dict[str, Any] | None) -> Response:
        denied = await self._guard(request)
        if denied:
            return denied
        if found is None:
            return _json(404, {"code": "access_denied", "message": "Record not found"})
        return _json(200, {key: found})

    async def _requester(self, request: Request) -> Response:
        n = request.path_params["id"]
        found = {"id": n, "primary_email": f"User{n}@Example.com"} if 100 <= n < 200 else None
        return await self._one(request, "requester", found)

    async def _agent(self, request: Request) -> Response:
        n = request.path_params["id"]
        found = {"id": n, "email": f"approver{n}@example.com"} if 500 <= n < 600 else None
        return await self._one(request, "agent", found)

    async def _location(self, request: Request) -> Response:
        n = request.path_params["id"]
        return await self._one(request, "location", {"id": n, "name": f"Office {n}"})

    async def _create(self, request: Request) -> Response:
        denied = await self._guard(request)
        if denied:
            return denied
        try:
            sent = orjson.loads(await request.body())
        except orjson.JSONDecodeError:
            sent = None
        if not isinstance(sent, dict):
            return _invalid("body", "Request body has invalid json format", "invalid_json")
        missing = [name for name in REQUIRED if name not in sent]
        if missing:
            return _invalid(missing[0], "It should be a/an Positive Integer", "missing_field")
        now = stamp(datetime.now(UTC))
        with self._lock:
            row = {**sent, "id": max((c["id"] for c in self.data.changes), default=0) + 1,
                   "description_text": sent.get("description", ""), "created_at": now,
                   "updated_at": now}  # fmt: skip
            self.data.changes.append(row)
            self.data.approvals[row["id"]] = []
            self.posts.append(sent)
        delay, self.post_delay = self.post_delay, 0.0
        if delay:
            await asyncio.sleep(delay)
        return _json(201, {"change": row})


def _key_ok(header: str, key: str) -> bool:
    if not header.startswith("Basic "):
        return False
    try:
        user = base64.b64decode(header[6:]).decode().split(":", 1)[0]
    except ValueError:
        return False
    return user == key


def _invalid(name: str, message: str, code: str = "invalid_value") -> Response:
    body = {
        "description": "Validation failed",
        "errors": [{"field": name, "message": message, "code": code}],
    }
    return _json(400, body)


_FAULT_BODIES = {
    401: {
        "code": "invalid_credentials",
        "message": "You have to be logged in to perform this action.",
    },
    403: {"code": "access_denied", "message": "You are not authorized to perform this action."},
    404: {"code": "access_denied", "message": "Record not found"},
    429: {"message": "You have exceeded the limit of requests per minute"},
}


def _fault(fault: Fault) -> Response:
    if fault.garbage:
        return Response(
            b"<html><body>Service unavailable</body></html>", 200, media_type="text/html"
        )
    if fault.status == 400:
        return _invalid("query", "Given parameter is not supported")
    body = _FAULT_BODIES.get(fault.status, {"message": f"Internal error {fault.status}"})
    headers = {"Retry-After": fault.retry_after} if fault.retry_after is not None else {}
    return _json(fault.status, body, headers)


def _json(status: int, body: Any, headers: dict[str, str] | None = None) -> Response:
    rate = {"X-Ratelimit-Total": "500", "X-Ratelimit-Remaining": "499",
            "X-Ratelimit-Used-CurrentRequest": "1"}  # fmt: skip
    return Response(orjson.dumps(body), status, headers={**rate, **(headers or {})},
                    media_type="application/json")  # fmt: skip
