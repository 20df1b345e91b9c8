"""Change-notification subscriptions of the Microsoft Graph fake.

Follows these Microsoft Learn pages (learn.microsoft.com/graph):

- "Create subscription" (api/subscription-post-subscriptions): ``POST /subscriptions``
  with ``changeType``, ``notificationUrl``, ``resource``, ``expirationDateTime`` (required),
  ``clientState`` (at most 255 characters) and ``lifecycleNotificationUrl``; answers 201
  with the subscription. Before that, Graph validates each notification endpoint
  ("Set up notifications for changes in resource data", notification endpoint
  validation): ``POST {url}?validationToken=<token>`` (``Content-Type: text/plain``),
  expecting 200 within 10 seconds with the token as a ``text/plain`` body; otherwise
  400 "Subscription validation request failed...". Graph requires https; the fake
  also accepts plain http on loopback, where the tests serve the PIP;
- "subscription resource type": user and group subscriptions live at most 41,760 minutes
  (under 29 days); a longer or past ``expirationDateTime`` is a 400;
- "Update subscription" (PATCH ``expirationDateTime``, 200 with the subscription),
  "Delete subscription" (204), "List subscriptions" (``{"value": [...]}``); an unknown id
  is 404 ``ResourceNotFound``;
- "changeNotification resource type" and "Reduce missing subscriptions and change
  notifications": what :meth:`Subscriptions.notification` and :meth:`Subscriptions.lifecycle`
  deliver (``{"value": [{"subscriptionId", "clientState", "changeType" | "lifecycleEvent",
  "resource", "resourceData", "tenantId", "subscriptionExpirationDateTime"}]}``).
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import httpx
import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

MAX_MINUTES = 41_760
VALIDATION_TIMEOUT = 10.0
RESOURCES = {"users": "#Microsoft.Graph.User", "groups": "#Microsoft.Graph.Group"}
CHANGE_TYPES = frozenset({"created", "updated", "deleted"})
VALIDATION_FAILED = (
    "Subscription validation request failed. Notification endpoint must respond with "
    "200 OK to validation request."
)

ErrorFn = Callable[[int, str, str], Response]
GateFn = Callable[[Request], Response | None]


@dataclass
class Delivery:
    """A notification the fake would POST: the URL and the JSON body."""

    url: str
    body: dict[str, Any]

    async def send(self) -> httpx.Response:
        """POST it the way Graph does (JSON)."""
        async with httpx.AsyncClient(timeout=VALIDATION_TIMEOUT) as client:
            return await client.post(self.url, content=orjson.dumps(self.body),
                                     headers={"Content-Type": "application/json"})  # fmt: skip


@dataclass
class Subscriptions:
    """The tenant's subscriptions and the routes serving them."""

    tenant_id: str
    clock: Callable[[], float]
    gate: GateFn
    error: ErrorFn
    items: dict[str, dict[str, Any]] = field(default_factory=dict)
    validations: list[str] = field(default_factory=list)
    refuse_validation: bool = False

    def routes(self) -> list[Route]:
        """``/v1.0/subscriptions`` and ``/v1.0/subscriptions/{id}``."""
        return [
            Route("/v1.0/subscriptions", self._collection, methods=["GET", "POST"]),
            Route("/v1.0/subscriptions/{sid}", self._one, methods=["PATCH", "DELETE"]),
        ]

    # --- test controls ---------------------------------------------------------

    def notification(self, resource: str, oid: str, change_type: str = "updated") -> Delivery:
        """A change notification about one user or group, from its subscription."""
        sub = self._for(resource)
        path = f"{resource.capitalize()}/{oid}"
        item = {
            **self._common(sub), "changeType": change_type, "resource": path,
            "resourceData": {"@odata.type": RESOURCES[resource], "@odata.id": path, "id": oid,
                             "organizationId": self.tenant_id},
        }  # fmt: skip
        return Delivery(sub["notificationUrl"], {"value": [item]})

    def lifecycle(self, resource: str, event: str) -> Delivery:
        """A lifecycle notification (reauthorizationRequired, missed, subscriptionRemoved)."""
        sub = self._for(resource)
        item = {**self._common(sub), "lifecycleEvent": event, "resource": sub["resource"]}
        url = sub.get("lifecycleNotificationUrl") or sub["notificationUrl"]
        return Delivery(url, {"value": [item]})

    def _for(self, resource: str) -> dict[str, Any]:
        found = [s for s in self.items.values() if s["resource"].strip("/") == resource]
        if not found:
            raise LookupError(f"no subscription on {resource}")
        return found[0]

    def _common(self, sub: dict[str, Any]) -> dict[str, Any]:
        return {
            "subscriptionId": sub["id"], "clientState": sub.get("clientState"),
            "tenantId": self.tenant_id,
            "subscriptionExpirationDateTime": sub["expirationDateTime"],
        }  # fmt: skip

    # --- API -------------------------------------------------------------------

    async def _collection(self, request: Request) -> Response:
        denied = self.gate(request)
        if denied is not None:
            return denied
        if request.method == "GET":
            return _json(200, {"value": list(self.items.values())})
        return await self._create(request)

    async def _create(self, request: Request) -> Response:
        body = _body(await request.body())
        problem = self._invalid(body)
        if problem is not None:
            return self.error(400, "InvalidRequest", problem)
        urls = dict.fromkeys([body["notificationUrl"], body.get("lifecycleNotificationUrl")])
        for url in filter(None, urls):
            if not await self._validated(str(url)):
                return self.error(400, "InvalidRequest", VALIDATION_FAILED)
        sid = str(uuid.uuid4())
        self.items[sid] = {
            "id": sid, "resource": body["resource"], "changeType": body["changeType"],
            "clientState": body.get("clientState"), "notificationUrl": body["notificationUrl"],
            "lifecycleNotificationUrl": body.get("lifecycleNotificationUrl"),
            "expirationDateTime": body["expirationDateTime"], "applicationId": str(uuid.uuid4()),
            "creatorId": str(uuid.uuid4()), "latestSupportedTlsVersion": "v1_2",
        }  # fmt: skip
        return _json(201, self.items[sid])

    async def _one(self, request: Request) -> Response:
        denied = self.gate(request)
        if denied is not None:
            return denied
        sid = request.path_params["sid"]
        if sid not in self.items:
            return self.error(404, "ResourceNotFound", f"The object was not found: {sid}")
        if request.method == "DELETE":
            del self.items[sid]
            return Response(status_code=204)
        expiry = _body(await request.body()).get("expirationDateTime")
        problem = self._bad_expiry(expiry)
        if problem is not None:
            return self.error(400, "InvalidRequest", problem)
        self.items[sid]["expirationDateTime"] = expiry
        return _json(200, self.items[sid])

    def _invalid(self, body: dict[str, Any]) -> str | None:
        required = ("changeType", "notificationUrl", "resource", "expirationDateTime")
        missing = [name for name in required if not isinstance(body.get(name), str)]
        if missing:
            return f"Missing required properties: {', '.join(missing)}"
        if str(body["resource"]).strip("/") not in RESOURCES:
            return f"Resource '{body['resource']}' is not supported by this fake."
        if not set(str(body["changeType"]).split(",")) <= CHANGE_TYPES:
            return f"Invalid changeType '{body['changeType']}'."
        if len(str(body.get("clientState") or "")) > 255:
            return "clientState must be at most 255 characters."
        if not all(_secure(body.get(k)) for k in ("notificationUrl", "lifecycleNotificationUrl")):
            return "The notification URL must use https."
        return self._bad_expiry(body["expirationDateTime"])

    def _bad_expiry(self, value: Any) -> str | None:
        try:
            at = datetime.fromisoformat(str(value).replace("Z", "+00:00")).timestamp()
        except ValueError:
            return "expirationDateTime is not a valid DateTimeOffset."
        now = self.clock()
        if at <= now:
            return "Subscription expiration must be in the future."
        if at > now + MAX_MINUTES * 60:
            return f"Subscription expiration can only be {MAX_MINUTES} minutes in the future."
        return None

    async def _validated(self, url: str) -> bool:
        """Graph's validation request: the token must come back, as text/plain, in 10 s."""
        if self.refuse_validation:
            return False
        token = f"Validation: Testing client application reachability {secrets.token_hex(8)}"
        self.validations.append(url)
        try:
            async with httpx.AsyncClient(timeout=VALIDATION_TIMEOUT) as client:
                answer = await client.post(url, params={"validationToken": token},
                                           headers={"Content-Type": "text/plain"})  # fmt: skip
        except httpx.HTTPError:
            return False
        media = answer.headers.get("content-type", "").split(";")[0].strip()
        return answer.status_code == 200 and media == "text/plain" and answer.text == token


def _secure(url: Any) -> bool:
    if url is None:
        return True
    parts = urlsplit(str(url))
    return parts.scheme == "https" or (
        parts.scheme == "http" and parts.hostname in ("127.0.0.1", "localhost")
    )


def _body(raw: bytes) -> dict[str, Any]:
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return {}
    return body if isinstance(body, dict) else {}


def _json(status: int, body: Any) -> Response:
    return Response(orjson.dumps(body), status, media_type="application/json")


def iso_in(clock: Callable[[], float], seconds: float) -> str:
    """Graph's DateTimeOffset ``seconds`` from the fake's now."""
    return datetime.fromtimestamp(clock() + seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
