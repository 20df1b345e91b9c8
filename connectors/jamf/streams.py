"""Jamf Pro inventory streams: computers and mobile devices, page by page, full sync.

Both endpoints page with ``page`` (0-based) and ``page-size`` and answer
``{"totalCount": n, "results": [...]}``; the sort is pinned to ``id:asc`` (the
default sort is by name, which moves devices between pages when one is
renamed mid-run). There is no incremental mode: compliance here comes from
smart groups and extension attributes, which change without any timestamp
the inventory endpoints can filter on, so every run is a full reconcile.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import httpx

from connectors.base.canonical import CanonicalDevice, CanonicalRecord
from connectors.base.errors import ConfigError
from connectors.base.paginators import PageNumberPaginator, Paginator
from connectors.base.rest import RestStream
from connectors.base.stream import SyncContext
from connectors.base.types import Sensitivity
from connectors.jamf.config import JamfConfig
from connectors.jamf.mapping import computer_to_device, mobile_to_device, sections


class TotalCountPaginator(PageNumberPaginator):
    """Jamf paging: stops at an empty page or once ``totalCount`` records were served."""

    def __init__(self, page_size: int) -> None:
        super().__init__(page_size, start=0, page_param="page", size_param="page-size")
        self.served = 0

    def has_more(self, response: httpx.Response, body: Any, records: Sequence[Any]) -> bool:
        """More while the page was not empty and the reported total is not reached."""
        self.served += len(records)
        total = body.get("totalCount") if isinstance(body, dict) else None
        if not records:
            return False
        if isinstance(total, int):
            return self.served < total
        return len(records) >= self.page_size


class JamfStream(RestStream):
    """Shared declarations of the inventory streams."""

    records_path = "results"
    kind: ClassVar[str]
    sort: ClassVar[str]
    record_model = CanonicalDevice
    field_sensitivity: ClassVar[dict[str, Sensitivity]] = {
        "owner": Sensitivity.CONFIDENTIAL,
        "ip_address": Sensitivity.CONFIDENTIAL,
    }

    @property
    def config(self) -> JamfConfig:
        """The connection's Jamf settings."""
        config = self.connector.config
        if not isinstance(config, JamfConfig):
            raise ConfigError(f"Stream {self.name} needs a Jamf Pro configuration")
        return config

    def new_paginator(self) -> Paginator:
        """Page-number paging with the configured page size."""
        return TotalCountPaginator(self.config.page_size)

    def request_params(self, context: SyncContext) -> dict[str, Any]:
        """Only the sections the mapping reads, in a stable order."""
        return {"section": sections(self.kind, self.config.compliance), "sort": self.sort}


class ComputersStream(JamfStream):
    """Macs from ``/api/v1/computers-inventory``."""

    name = "computers"
    path = "/api/v1/computers-inventory"
    kind = "computer"
    sort = "id:asc"
    pure_normalize = True  # the mapping reads the record and the config's compliance settings

    def normalize(self, raw: dict[str, Any]) -> CanonicalRecord:
        """A computer as a canonical device."""
        return computer_to_device(raw, self.config.compliance)


class MobileDevicesStream(JamfStream):
    """iPhones, iPads and Apple TVs from ``/api/v2/mobile-devices/detail``."""

    name = "mobile_devices"
    path = "/api/v2/mobile-devices/detail"
    primary_key = "mobileDeviceId"
    kind = "mobile"
    sort = "mobileDeviceId:asc"
    pure_normalize = True  # the mapping reads the record and the config's compliance settings

    def normalize(self, raw: dict[str, Any]) -> CanonicalRecord:
        """A mobile device as a canonical device."""
        return mobile_to_device(raw, self.config.compliance)
