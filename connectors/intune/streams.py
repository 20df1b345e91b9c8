"""Intune managed devices: ``GET /deviceManagement/managedDevices``, every run a full reconcile.

Follows "List managedDevices" (learn.microsoft.com/graph/api/intune-devices-manageddevice-list)
and "Paging Microsoft Graph data" (learn.microsoft.com/graph/paging): ``$select``
of the mapped properties, ``$top`` and ``@odata.nextLink`` (followed as is, only
to the configured Graph host). Throttling ("Microsoft Graph service-specific
throttling limits", Intune service limits per app and per tenant) answers 429,
with ``Retry-After`` or without; the SourceClient waits ``Retry-After`` when
given and backs off exponentially with jitter when not.

There is no incremental mode. managedDevices has no delta query, and a
``$filter`` on ``lastSyncDateTime`` would miss exactly what a policy needs:
devices retired or deleted in Intune (they leave the list) and compliance
changes Intune makes without a check-in (a grace period running out, a device
marked noncompliant for not checking in, a new policy assignment). So every
run lists everything and the engine removes devices that are gone.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any, ClassVar

from pydantic import ValidationError

from connectors.base.canonical import CanonicalDevice, CanonicalRecord
from connectors.base.errors import FatalSourceError
from connectors.base.rest import validation_message
from connectors.base.stream import Page, Stream, SyncContext
from connectors.base.types import Sensitivity
from connectors.graph.connector import GraphConnector, graph_connector
from connectors.graph.paging import Raw, object_id
from connectors.intune.mapping import FIELDS, to_device

PERMISSION = "DeviceManagementManagedDevices.Read.All"


class ManagedDevicesStream(Stream):
    """Devices enrolled in (or pre-enrolled through) Intune."""

    name = "managed_devices"
    path = "deviceManagement/managedDevices"
    record_model = CanonicalDevice
    field_sensitivity: ClassVar[dict[str, Sensitivity]] = {"owner": Sensitivity.CONFIDENTIAL}

    @property
    def graph(self) -> GraphConnector[Any]:
        """The connector, typed."""
        return graph_connector(self.connector)

    def params(self) -> dict[str, Any]:
        """``$select`` of the mapped properties and ``$top``."""
        return {"$select": ",".join(FIELDS), "$top": self.graph.config.page_size}

    async def pages(self, context: SyncContext) -> AsyncIterator[Page]:
        """Every page of managed devices (full runs only; no cursor)."""
        async for raws, _last in self.graph.reader.pages(self.path, self.params()):
            yield Page(records=[self.normalize(raw) for raw in raws])

    def normalize(self, raw: Raw) -> CanonicalRecord:
        """One managedDevice as a canonical device; FatalSourceError naming bad fields."""
        device_id = object_id(raw, self.name)
        try:
            return to_device(raw)
        except ValidationError as err:
            raise FatalSourceError(validation_message(self.name, device_id, err)) from err
