"""Intune's ``deviceManagement/managedDevices`` on the Microsoft Graph fake.

Follows these Microsoft Learn pages (learn.microsoft.com), on top of what
:mod:`tests.fakes.graph` follows (tokens, error bodies, paging):

- "List managedDevices" (graph/api/intune-devices-manageddevice-list): application
  permission ``DeviceManagementManagedDevices.Read.All`` (403
  ``Authorization_RequestDenied`` without it), a collection in ``value``;
- "managedDevice resource type" (graph/api/resources/intune-devices-manageddevice):
  property names and enums (``complianceState``, ``managementState``,
  ``managedDeviceOwnerType``, ``jailBroken`` as a string, unset dates as
  ``0001-01-01T00:00:00Z``, empty ``serialNumber`` for devices that report none);
- "Paging Microsoft Graph data" (graph/paging): ``$top``, ``$select``, ``$skiptoken``
  in ``@odata.nextLink``;
- "Microsoft Graph service-specific throttling limits" (graph/throttling-limits),
  Intune service limits: a request budget per app per tenant over a 20 s window;
  over it the answer is 429 ``TooManyRequests``, and Intune does not always send
  ``Retry-After`` (``throttle()``: limit and window configurable so tests stay short).

The fake's clock (``now()``, moved with ``offset``) drives the throttling window.
"""

from __future__ import annotations

import random
import threading
from collections import deque
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tests.fakes.graph import (
    DEFAULT_TOP,
    MAX_TOP,
    GraphFake,
    decode_state,
    encode_state,
    graph_error,
)
from tests.fakes.graph_data import iso

PERMISSION = "DeviceManagementManagedDevices.Read.All"
PATH = "/v1.0/deviceManagement/managedDevices"
SYSTEMS = (
    ("Windows", "10.0.22631.3447", "Dell Inc.", "Latitude 7440"),
    ("macOS", "14.4.1 (23E224)", "Apple", "MacBook Pro (14-inch, M3)"),
    ("iOS", "17.4.1", "Apple", "iPhone 15"),
    ("Android", "14", "samsung", "SM-S921B"),
)
UNSET = "0001-01-01T00:00:00Z"


def managed_device(n: int, serial: str, at: float) -> dict[str, Any]:
    """Managed device ``n``: every 6th noncompliant (unencrypted), every 10th personal."""
    os_name, version, maker, model = SYSTEMS[n % len(SYSTEMS)]
    noncompliant = n % 6 == 5
    return {
        "id": f"d{n:07x}-1c3e-4f0a-9b7d-{n:012x}",
        "serialNumber": serial,
        "deviceName": f"DESKTOP-{n:06d}" if os_name == "Windows" else f"{model} {n}",
        "operatingSystem": os_name,
        "osVersion": version,
        "manufacturer": maker,
        "model": model,
        "complianceState": "noncompliant" if noncompliant else "compliant",
        "complianceGracePeriodExpirationDateTime": "9999-12-31T23:59:59Z",
        "managementState": "managed",
        "enrolledDateTime": iso(at - 86400 * (30 + n % 300)),
        "lastSyncDateTime": iso(at - 60 * (n % 1440)),
        "userPrincipalName": f"user{n % 5000:06d}@contoso.onmicrosoft.com",
        "emailAddress": f"user{n % 5000:06d}@contoso.com",
        "isEncrypted": not noncompliant,
        "jailBroken": "False" if os_name in ("iOS", "Android") else "Unknown",
        "managedDeviceOwnerType": "personal" if n % 10 == 9 else "company",
        "azureADDeviceId": f"{n:08x}-1111-4000-8000-{n:012x}",
        "imei": "",
        "wiFiMacAddress": f"{random.Random(n).getrandbits(48):012x}",
        "deviceEnrollmentType": "windowsAzureADJoin",
        "managementAgent": "mdm",
    }


class IntuneFake(GraphFake):
    """A GraphFake whose tenant also has Intune managed devices."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.managed: dict[str, dict[str, Any]] = {}
        self.failing_devices_page: int | None = None
        self.throttled = 0
        self._limit: tuple[int, float] | None = None
        self._window: deque[float] = deque()
        self._intune_lock = threading.Lock()
        self.permissions.add(PERMISSION)
        self.app.router.routes.insert(0, Route(PATH, self._managed_devices, methods=["GET"]))

    # --- test controls ---------------------------------------------------------

    def reset(  # type: ignore[override]
        self, managed: int = 0, *, serials: list[str] | None = None, **directory: Any
    ) -> None:
        """``managed`` fresh devices (``serials`` first), an empty directory, no faults."""
        super().reset(**directory)
        names = (serials or []) + [f"INT{i:09d}" for i in range(len(serials or []), managed)]
        at = self.now()
        devices = (managed_device(n, names[n], at) for n in range(managed))
        self.managed = {d["id"]: d for d in devices}
        self.permissions.add(PERMISSION)
        self.failing_devices_page, self.throttled, self._limit = None, 0, None
        self._window.clear()

    def device(self, serial: str) -> dict[str, Any]:
        """The managed device with ``serial``."""
        return next(d for d in self.managed.values() if d["serialNumber"] == serial)

    def throttle(self, requests: int, per_seconds: float) -> None:
        """Answer 429 without Retry-After once ``requests`` were served in ``per_seconds``."""
        self._limit = (requests, per_seconds)

    # --- the endpoint ----------------------------------------------------------

    async def _managed_devices(self, request: Request) -> Response:
        denied = self._gate(request, PERMISSION) or self._throttled()
        if denied is not None:
            return denied
        params = request.query_params
        if "$filter" in params or "$orderby" in params:
            return graph_error(400, "BadRequest", "This fake serves no $filter/$orderby.")
        top = int(params.get("$top", DEFAULT_TOP)) if params.get("$top", "1").isdigit() else 0
        if not 1 <= top <= MAX_TOP:
            return graph_error(400, "Request_BadRequest", f"Invalid page size '{top}'.")
        offset = int((decode_state(params.get("$skiptoken", "")) or {}).get("o", 0))
        if self.failing_devices_page == offset // top + 1:
            return graph_error(500, "generalException", "General exception while processing.")
        return self._devices_page(request, offset, top)

    def _devices_page(self, request: Request, offset: int, top: int) -> Response:
        fields = [f for f in request.query_params.get("$select", "").split(",") if f]
        ids = sorted(self.managed)
        rows = [self.managed[i] for i in ids[offset : offset + top]]
        value = [
            {k: v for k, v in d.items() if not fields or k in fields or k == "id"} for d in rows
        ]
        body: dict[str, Any] = {
            "@odata.context": f"{self.base_url}/v1.0/$metadata#deviceManagement/managedDevices",
            "value": value,
        }
        if offset + top < len(ids):
            state = {"$skiptoken": encode_state({"o": offset + top})}
            body["@odata.nextLink"] = str(request.url.include_query_params(**state))
        return Response(orjson.dumps(body), 200, media_type="application/json")

    def _throttled(self) -> Response | None:
        if self._limit is None:
            return None
        limit, window = self._limit
        now = self.now()
        with self._intune_lock:
            while self._window and self._window[0] <= now - window:
                self._window.popleft()
            if len(self._window) >= limit:
                self.throttled += 1
                return graph_error(429, "TooManyRequests", "Too many requests.")
            self._window.append(now)
        return None
