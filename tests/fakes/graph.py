"""A fake of Microsoft Graph v1.0 and the Microsoft identity platform token endpoint.

Follows these Microsoft Learn pages (learn.microsoft.com):

- "Microsoft identity platform and the OAuth 2.0 client credentials flow"
  (entra/identity-platform/v2-oauth2-client-creds-grant-flow): ``POST
  /{tenant}/oauth2/v2.0/token`` with ``client_secret`` or a
  ``client_assertion`` (type ``urn:ietf:params:oauth:client-assertion-type:jwt-bearer``),
  ``scope={resource}/.default``; answers ``token_type``, ``expires_in``,
  ``access_token``; errors ``{"error", "error_description": "AADSTS...", "error_codes"}``
  (AADSTS7000215 invalid secret, AADSTS700027 bad assertion, AADSTS700016 unknown app);
- "Certificate credentials" (entra/identity-platform/certificate-credentials): the
  assertion is verified with the registered certificate's public key, found by its
  ``x5t`` / ``x5t#S256`` thumbprint; ``aud`` is the token endpoint, ``iss`` = ``sub`` =
  the client id, ``exp`` in the future, a ``jti`` is accepted once;
- "Paging Microsoft Graph data" (graph/paging) and "Use query parameters"
  (graph/query-parameters): ``$top`` (1..999), ``$select``, ``$skiptoken`` in
  ``@odata.nextLink``, ``$expand=manager($select=...)``, ``$filter=id in (...)``;
- "Use delta query" (graph/delta-query-overview, delta-query-users,
  delta-query-groups): ``/users/delta``, ``/groups/delta``, ``/devices/delta``;
  ``$select`` is encoded into opaque ``$skiptoken``/``$deltatoken`` state;
  ``$top`` and ``$expand`` are not supported (recorded in ``unsupported``); page size
  is the server's; removed objects are ``{"id", "@removed": {"reason": "deleted"}}``;
  ``members@delta`` / ``manager@delta`` when ``members`` / ``manager`` are selected;
  ``$deltatoken=latest`` returns only a delta link;
- "Microsoft Graph error responses and resource types" (graph/errors):
  ``{"error": {"code", "message", "innerError": {"date", "request-id", ...}}}``,
  401 ``InvalidAuthenticationToken``, 403 ``Authorization_RequestDenied``,
  404 ``Request_ResourceNotFound``, 400 ``Request_UnsupportedQuery``;
- "Microsoft Graph throttling guidance" (graph/throttling): 429 ``TooManyRequests``
  and 503 with ``Retry-After`` (seconds).
- change-notification subscriptions (``/subscriptions``): see
  :mod:`tests.fakes.graph_subscriptions`.

A delta token holds the time it was issued: the next round returns what changed
after it. Test controls: data changes (``directory``), faults (``fail_next``,
``fail_on_page``), credential changes and token expiry.
"""

from __future__ import annotations

import base64
import re
import threading
import time
import uuid
from collections import deque
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tests.fakes.common import Fault, FaultControls, Faults
from tests.fakes.graph_auth import IdentityPlatform
from tests.fakes.graph_data import COLLECTIONS, ODATA_TYPES, Directory, iso
from tests.fakes.graph_subscriptions import Subscriptions

NOT_FOUND = (
    "Resource '{}' does not exist or one of its queried reference-property objects are not present."
)
DEFAULT_TOP = 100
MAX_TOP = 999
ALL_PERMISSIONS = frozenset(
    {"User.Read.All", "GroupMember.Read.All", "Device.Read.All", "AuditLog.Read.All"}
)
NEEDS = {"users": "User.Read.All", "groups": "GroupMember.Read.All", "devices": "Device.Read.All"}
_IN_FILTER = re.compile(r"^id in \(((?:'[^']*',?\s*)*)\)$")
_EXPAND = re.compile(r"^manager(?:\(\$select=([\w,]+)\))?$")


def graph_error(
    status: int, code: str, message: str, headers: dict[str, str] | None = None
) -> Response:
    """A Graph error response."""
    inner = {
        "date": iso(time.time()),
        "request-id": str(uuid.uuid4()),
        "client-request-id": str(uuid.uuid4()),
    }
    body = orjson.dumps({"error": {"code": code, "message": message, "innerError": inner}})
    return Response(body, status, headers=headers, media_type="application/json")


def encode_state(state: dict[str, Any]) -> str:
    """An opaque state token."""
    return base64.urlsafe_b64encode(orjson.dumps(state)).decode().rstrip("=")


def decode_state(token: str) -> dict[str, Any] | None:
    """The state in a token, None when it is not one of ours."""
    try:
        state = orjson.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    except (ValueError, orjson.JSONDecodeError):
        return None
    return state if isinstance(state, dict) else None


class GraphFake(FaultControls):
    """State and ASGI app of one fake tenant."""

    def __init__(self, *, tenant_id: str = "11111111-2222-4333-8444-555555555555") -> None:
        self.identity = IdentityPlatform(tenant_id=tenant_id, clock=self.now)
        self.tenant_id = tenant_id
        self.client_id = self.identity.client_id
        self.permissions = set(ALL_PERMISSIONS)
        self.delta_page_size = 200
        self.base_url = ""
        self.offset = 0.0
        self.directory = Directory(clock=self.now)
        self.requests: deque[tuple[str, dict[str, str]]] = deque(maxlen=5000)
        self.unsupported: list[str] = []
        self.faults = Faults()
        self._lock = threading.Lock()
        self.app = Starlette(
            routes=[
                Route("/{tenant}/oauth2/v2.0/token", self.identity.token, methods=["POST"]),
                Route("/v1.0/{kind}/delta", self._delta, methods=["GET"]),
                Route("/v1.0/groups/{gid}/members", self._members, methods=["GET"]),
                Route("/v1.0/{kind}", self._list, methods=["GET"]),
            ]
        )
        # change-notification subscriptions (tests/fakes/graph_subscriptions.py), before /{kind}
        self.subscriptions = Subscriptions(
            tenant_id, self.now, lambda request: self._gate(request, None), graph_error
        )
        self.app.router.routes[0:0] = self.subscriptions.routes()

    # --- test controls ---------------------------------------------------------

    def now(self) -> float:
        """The fake's clock (real time plus ``offset``)."""
        return time.time() + self.offset

    def reset(
        self, users: int = 0, groups: int = 0, devices: int = 0, *, group_size: int = 5
    ) -> None:
        """Fresh objects stamped a day ago; no faults, no history, no tokens."""
        with self._lock:
            self.directory.fill(
                users, groups, devices, group_size=group_size, at=self.now() - 86400
            )
            self.faults.clear()
            self.requests.clear()
            self.unsupported.clear()
            self.identity.tokens.clear()
            self.permissions = set(ALL_PERMISSIONS)

    def expire_tokens(self) -> None:
        """Every issued access token expires now."""
        self.identity.tokens.clear()

    # --- Graph API -------------------------------------------------------------

    def _gate(self, request: Request, permission: str | None) -> Response | None:
        self.requests.append((request.url.path, dict(request.query_params)))
        auth = request.headers.get("Authorization", "")
        token = auth.removeprefix("Bearer ")
        if not auth.startswith("Bearer ") or self.identity.tokens.get(token, 0) < self.now():
            return graph_error(
                401, "InvalidAuthenticationToken", "Access token has expired or is not yet valid."
            )
        fault = self.faults.pop()
        if fault is not None:
            return _fault_response(fault)
        if permission and permission not in self.permissions:
            return graph_error(
                403,
                "Authorization_RequestDenied",
                "Insufficient privileges to complete the operation.",
            )
        return None

    async def _list(self, request: Request) -> Response:
        kind = request.path_params["kind"]
        denied = self._gate(request, NEEDS.get(kind))
        if denied is not None:
            return denied
        if kind not in COLLECTIONS:
            return graph_error(400, "BadRequest", f"Resource not found for the segment '{kind}'.")
        params = request.query_params
        if (
            "signInActivity" in params.get("$select", "")
            and "AuditLog.Read.All" not in self.permissions
        ):
            return graph_error(
                403,
                "Authorization_RequestDenied",
                "Insufficient privileges to complete the operation.",
            )
        ids = self._filtered(kind, params.get("$filter"))
        if ids is None:
            return graph_error(
                400,
                "Request_UnsupportedQuery",
                "Unsupported or invalid query filter clause specified.",
            )
        expand = _EXPAND.match(params.get("$expand", "")) if "$expand" in params else None
        if "$expand" in params and (kind != "users" or expand is None):
            return graph_error(400, "Request_BadRequest", "Invalid $expand expression.")
        manager_fields = (expand.group(1) or "id,displayName").split(",") if expand else None
        return self._paged(
            request, ids, lambda oid: self._render(kind, oid, params, manager_fields)
        )

    async def _members(self, request: Request) -> Response:
        denied = self._gate(request, "GroupMember.Read.All")
        if denied is not None:
            return denied
        group = self.directory.objects["groups"].get(request.path_params["gid"])
        if group is None:
            return graph_error(
                404,
                "Request_ResourceNotFound",
                NOT_FOUND.format(request.path_params["gid"]),
            )
        fields = _select(request.query_params)
        return self._paged(request, list(group["_members"]), lambda oid: self._member(oid, fields))

    def _paged(self, request: Request, ids: list[str], render: Any) -> Response:
        params = request.query_params
        top = _int(params.get("$top"), DEFAULT_TOP)
        if not 1 <= top <= MAX_TOP:
            return graph_error(
                400,
                "Request_BadRequest",
                f"Invalid page size specified: '{top}'. Must be between 1 and 999 inclusive.",
            )
        offset = (decode_state(params.get("$skiptoken", "")) or {}).get("o", 0)
        if (
            self.faults.failing_page is not None
            and offset // top + 1 == self.faults.failing_page
            and request.url.path.endswith("/users")
        ):
            return graph_error(500, "generalException", "General exception while processing.")
        page = [obj for obj in map(render, ids[offset : offset + top]) if obj is not None]
        body: dict[str, Any] = {
            "@odata.context": f"{self.base_url}/v1.0/$metadata#directoryObjects",
            "value": page,
        }
        if offset + top < len(ids):
            body["@odata.nextLink"] = str(
                request.url.include_query_params(
                    **{"$skiptoken": encode_state({"o": offset + top})}
                )
            )
        return Response(orjson.dumps(body), 200, media_type="application/json")

    def _filtered(self, kind: str, expression: str | None) -> list[str] | None:
        if expression is None:
            return self.directory.ids(kind)
        match = _IN_FILTER.match(expression.strip())
        if match is None:
            return None
        wanted = re.findall(r"'([^']*)'", match.group(1))
        if len(wanted) > 15:
            return None
        return sorted(oid for oid in set(wanted) if oid in self.directory.objects[kind])

    def _render(
        self, kind: str, oid: str, params: Any, manager_fields: list[str] | None
    ) -> dict[str, Any] | None:
        obj = self.directory.objects[kind].get(oid)
        if obj is None:
            return None
        out = _project(obj, _select(params))
        if manager_fields is not None:
            manager = self.directory.objects["users"].get(obj.get("_manager", ""))
            if manager is not None:
                out["manager"] = {
                    "@odata.type": ODATA_TYPES["users"],
                    **_project(manager, manager_fields),
                }
        return out

    def _member(self, oid: str, fields: list[str] | None) -> dict[str, Any] | None:
        found = self.directory.find(oid)
        if found is None:
            return None
        kind, obj = found
        return {"@odata.type": ODATA_TYPES[kind], **_project(obj, fields)}

    # --- delta -----------------------------------------------------------------

    async def _delta(self, request: Request) -> Response:
        kind = request.path_params["kind"]
        denied = self._gate(request, NEEDS.get(kind))
        if denied is not None:
            return denied
        params = request.query_params
        for name in ("$top", "$expand", "$orderby"):
            if name in params:
                self.unsupported.append(f"{kind}/delta {name}")
        state = self._delta_state(params)
        if state is None:
            return graph_error(400, "Request_BadRequest", "The delta or skip token is invalid.")
        if state.get("latest"):
            return self._delta_body(
                request, kind, [], {"w": self.now(), "s": state["s"]}, last=True
            )
        return self._delta_page(request, kind, state)

    def _delta_state(self, params: Any) -> dict[str, Any] | None:
        if "$skiptoken" in params:
            return decode_state(params["$skiptoken"])
        select = params.get("$select")
        token = params.get("$deltatoken")
        if token == "latest":
            return {"latest": True, "s": select}
        if token is None:
            return {"w": None, "r": self.now(), "o": 0, "s": select}
        state = decode_state(token)
        return (
            None if state is None else {"w": state["w"], "r": self.now(), "o": 0, "s": state["s"]}
        )

    def _delta_page(self, request: Request, kind: str, state: dict[str, Any]) -> Response:
        if state["w"] is None:
            entries = [(oid, False) for oid in self.directory.ids(kind)]
        else:
            entries = self.directory.since(kind, state["w"])
        offset, size = state["o"], self.delta_page_size
        chunk = [
            self._delta_item(kind, oid, gone, state["s"])
            for oid, gone in entries[offset : offset + size]
        ]
        if offset + size < len(entries):
            return self._delta_body(request, kind, chunk, {**state, "o": offset + size}, last=False)
        return self._delta_body(request, kind, chunk, {"w": state["r"], "s": state["s"]}, last=True)

    def _delta_body(
        self,
        request: Request,
        kind: str,
        value: list[dict[str, Any]],
        state: dict[str, Any],
        *,
        last: bool,
    ) -> Response:
        base = f"{self.base_url}/v1.0/{kind}/delta"
        body: dict[str, Any] = {
            "@odata.context": f"{self.base_url}/v1.0/$metadata#{kind}",
            "value": value,
        }
        if last:
            body["@odata.deltaLink"] = f"{base}?$deltatoken={encode_state(state)}"
        else:
            body["@odata.nextLink"] = f"{base}?$skiptoken={encode_state(state)}"
        return Response(orjson.dumps(body), 200, media_type="application/json")

    def _delta_item(self, kind: str, oid: str, gone: bool, select: str | None) -> dict[str, Any]:
        if gone:
            return {"id": oid, "@removed": {"reason": "deleted"}}
        obj = self.directory.objects[kind][oid]
        fields = select.split(",") if select else None
        out = _project(
            obj, [f for f in fields if f not in ("manager", "members")] if fields else None
        )
        if fields and "members" in fields and kind == "groups":
            out["members@delta"] = [self._member_ref(m) for m in obj["_members"]]
        if fields and "manager" in fields and kind == "users" and obj.get("_manager"):
            out["manager@delta"] = [{"@odata.type": ODATA_TYPES["users"], "id": obj["_manager"]}]
        return out

    def _member_ref(self, oid: str) -> dict[str, Any]:
        found = self.directory.find(oid)
        kind = found[0] if found else "users"
        return {"@odata.type": ODATA_TYPES[kind], "id": oid}


def _select(params: Any) -> list[str] | None:
    value = params.get("$select")
    return [f for f in value.split(",") if f] if value else None


def _project(obj: dict[str, Any], fields: list[str] | None) -> dict[str, Any]:
    names = (
        fields if fields else [k for k in obj if not k.startswith("_") and k != "signInActivity"]
    )
    out = {name: obj.get(name) for name in names if not name.startswith("_") and name in obj}
    out["id"] = obj["id"]
    return out


def _int(value: str | None, default: int) -> int:
    try:
        return int(value) if value is not None else default
    except ValueError:
        return 0


def _fault_response(fault: Fault) -> Response:
    if fault.garbage:
        return Response(
            b"<html><body>Service Unavailable</body></html>", 200, media_type="text/html"
        )
    headers = {"Retry-After": fault.retry_after} if fault.retry_after is not None else None
    errors = {
        401: ("InvalidAuthenticationToken", "Access token has expired or is not yet valid."),
        403: ("Authorization_RequestDenied", "Insufficient privileges to complete the operation."),
        404: (
            "Request_ResourceNotFound",
            NOT_FOUND.format("requested"),
        ),
        400: ("Request_BadRequest", "Invalid request."),
        429: ("TooManyRequests", "Too many requests; please retry later."),
        503: ("serviceNotAvailable", "Service unavailable; please retry later."),
    }
    code, message = errors.get(
        fault.status, ("generalException", "General exception while processing.")
    )
    return graph_error(fault.status, code, message, headers)
