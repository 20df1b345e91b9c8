"""Apple Business Manager devices, each with the device management service it is assigned to.

``GET /v1/orgDevices`` pages with ``limit`` (at most 1000) and a cursor: each
page carries ``links.next`` (the next page's absolute URL) and
``meta.paging.nextCursor`` until the last one. Assignments are read the bulk
way the API documents: ``GET /v1/mdmServers`` lists the device management
services, and ``GET /v1/mdmServers/{id}/relationships/devices`` the serial
numbers assigned to each (a few requests per server instead of one
``/v1/orgDevices/{id}/relationships/assignedServer`` per device). There is no
filter on ``updatedDateTime``, so every run is a full reconcile.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx

from connectors.abm.config import AbmConfig
from connectors.abm.mapping import ORG_DEVICE_FIELDS, org_device_to_device
from connectors.base.canonical import CanonicalDevice, CanonicalRecord
from connectors.base.errors import ConfigError, FatalSourceError
from connectors.base.http import SourceClient
from connectors.base.paginators import JsonNextLinkPaginator, Paginator
from connectors.base.rest import RestStream
from connectors.base.stream import Page, SyncContext

NEXT_LINK = "links.next"


class OrgDevicesStream(RestStream):
    """Organization devices as canonical devices carrying ``mdm_server``."""

    name = "devices"
    path = "/v1/orgDevices"
    records_path = "data"
    record_model = CanonicalDevice

    def __init__(self, connector: Any) -> None:
        super().__init__(connector)
        self.assignments: dict[str, str] = {}

    @property
    def config(self) -> AbmConfig:
        """The connection's ABM settings."""
        config = self.connector.config
        if not isinstance(config, AbmConfig):
            raise ConfigError(f"Stream {self.name} needs an Apple Business Manager configuration")
        return config

    def new_paginator(self) -> Paginator:
        """Follow ``links.next``."""
        return JsonNextLinkPaginator(NEXT_LINK)

    def request_params(self, context: SyncContext) -> dict[str, Any]:
        """The page size and only the attributes the mapping reads."""
        return {"limit": self.config.page_size, "fields[orgDevices]": ",".join(ORG_DEVICE_FIELDS)}

    async def pages(self, context: SyncContext) -> AsyncIterator[Page]:
        """Read the assignments first, then the devices page by page."""
        client = self.rest_connector.source_client
        self.assignments = await read_assignments(client, self.config)
        async for page in super().pages(context):
            yield page

    def normalize(self, raw: dict[str, Any]) -> CanonicalRecord:
        """An orgDevices resource as a canonical device."""
        return org_device_to_device(raw, self.assignments)


async def read_assignments(client: SourceClient, config: AbmConfig) -> dict[str, str]:
    """Serial number → name of the device management service it is assigned to."""
    assigned: dict[str, str] = {}
    params = {"limit": min(config.page_size, 1000), "fields[mdmServers]": "serverName"}
    async for server in read_all(client, f"{config.base_url}/v1/mdmServers", params, config):
        name = _server_name(server)
        url = f"{config.base_url}/v1/mdmServers/{server['id']}/relationships/devices"
        async for device in read_all(client, url, {"limit": 1000}, config):
            assigned[str(device.get("id"))] = name
    return assigned


async def read_all(
    client: SourceClient, url: str, params: dict[str, Any], config: AbmConfig
) -> AsyncIterator[dict[str, Any]]:
    """Every resource of a paged ABM collection, following ``links.next``."""
    paginator = JsonNextLinkPaginator(NEXT_LINK)
    fetched = await client.get_json(url, params=params)
    while True:
        data = fetched.body.get("data") if isinstance(fetched.body, dict) else None
        if not isinstance(data, list) or not all(isinstance(d, dict) and "id" in d for d in data):
            raise FatalSourceError(f"{client.source} answered without a list of resources")
        for item in data:
            yield item
        paginator.advance(fetched.response, fetched.body, data)
        if paginator.finished:
            return
        following = paginator.next_request().url or ""
        _same_origin(following, config, client.source)
        fetched = await client.get_json(following)


def _server_name(server: dict[str, Any]) -> str:
    attributes = server.get("attributes")
    name = attributes.get("serverName") if isinstance(attributes, dict) else None
    return str(name or server["id"])


def _same_origin(url: str, config: AbmConfig, source: str) -> None:
    actual, expected = httpx.URL(url), httpx.URL(config.base_url)
    if (actual.scheme, actual.host, actual.port) != (expected.scheme, expected.host, expected.port):
        raise FatalSourceError(
            f"{source} sent a next-page link to another host ({actual.host}); refusing to follow"
        )
