"""Android Enterprise devices: ``GET /v1/enterprises/{id}/devices``, every run a full reconcile.

Follows "Method: enterprises.devices.list" (developers.google.com/android/management/
reference/rest/v1/enterprises.devices/list): ``pageSize`` (at most 100) and
``pageToken``; each page carries ``nextPageToken`` until the last. Like every
Google API, an empty list is an empty object (``{}``) and errors are
``{"error": {"code", "message", "status"}}``; the ``fields`` system parameter
asks only for what the mapping reads. Deleted devices are not returned, and
the API has no filter on change time, so every run lists everything and the
engine removes devices that are gone.
"""

from __future__ import annotations

from typing import Any, ClassVar

from connectors.android_enterprise.config import AndroidEnterpriseConfig
from connectors.android_enterprise.mapping import FIELDS, device_id, to_device
from connectors.base.canonical import CanonicalDevice, CanonicalRecord
from connectors.base.errors import ConfigError
from connectors.base.paginators import CursorTokenPaginator, Paginator
from connectors.base.rest import RestStream
from connectors.base.stream import SyncContext
from connectors.base.types import Sensitivity


class DevicesStream(RestStream):
    """The enterprise's devices (fully managed and work profile)."""

    name = "devices"
    records_path = "devices"
    primary_key = "name"
    record_model = CanonicalDevice
    pure_normalize = True  # to_device reads the Device resource alone
    field_sensitivity: ClassVar[dict[str, Sensitivity]] = {"owner": Sensitivity.CONFIDENTIAL}

    @property
    def config(self) -> AndroidEnterpriseConfig:
        """The connection's settings."""
        config = self.connector.config
        if not isinstance(config, AndroidEnterpriseConfig):
            raise ConfigError(f"Stream {self.name} needs an Android Enterprise configuration")
        return config

    def url(self, context: SyncContext) -> str:
        """``{api}/v1/enterprises/{id}/devices``."""
        return f"{self.config.base_url}/v1/enterprises/{self.config.enterprise_id}/devices"

    def new_paginator(self) -> Paginator:
        """``nextPageToken`` sent back as ``pageToken``."""
        return CursorTokenPaginator("nextPageToken", "pageToken")

    def request_params(self, context: SyncContext) -> dict[str, Any]:
        """The page size and a partial response with only the mapped fields."""
        return {"pageSize": self.config.page_size, "fields": FIELDS}

    def extract_records(self, body: Any) -> list[dict[str, Any]]:
        """The ``devices`` list; a Google API leaves it out when it is empty."""
        if isinstance(body, dict) and "devices" not in body:
            return []
        return super().extract_records(body)

    def record_id(self, raw: dict[str, Any]) -> str | None:
        """The device id, for error messages."""
        return device_id(raw) or None

    def normalize(self, raw: dict[str, Any]) -> CanonicalRecord:
        """A Device resource as a canonical device."""
        return to_device(raw)
