"""Things Freshservice records point to by id, read once per run and cached.

Asset types (with their parents), people (requesters, else agents) and
locations by id, and the device key of every asset by ``display_id`` (what
relationships and changes refer to).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from connectors.base.errors import FatalSourceError
from connectors.base.http import SourceClient
from connectors.base.paginators import LinkHeaderPaginator
from connectors.freshservice.config import FreshserviceConfig
from connectors.freshservice.mapping import asset_key_parts


async def list_pages(
    client: SourceClient, url: str, key: str, params: dict[str, Any]
) -> AsyncIterator[list[dict[str, Any]]]:
    """Every page of a Freshservice list endpoint, following the ``Link`` header."""
    paginator = LinkHeaderPaginator()
    fetched = await client.get_json(url, params=params)
    while True:
        records = records_at(fetched.body, key)
        paginator.advance(fetched.response, fetched.body, records)
        yield records
        if paginator.finished:
            return
        fetched = await client.get_json(str(paginator.next_request().url))


def records_at(body: Any, key: str) -> list[dict[str, Any]]:
    """The list of records under ``key``; FatalSourceError when it is not there."""
    records = body.get(key) if isinstance(body, dict) else None
    if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
        raise FatalSourceError(f"Freshservice answered without a list of {key}")
    return records


class Lookups:
    """Per-connector caches of asset types, people, locations and asset keys."""

    def __init__(self, client: SourceClient, config: FreshserviceConfig) -> None:
        self.client = client
        self.config = config
        self._types: dict[int, dict[str, Any]] | None = None
        self._people: dict[int, str | None] = {}
        self._locations: dict[int, str | None] = {}
        self._keys: dict[str, str] | None = None

    def url(self, path: str) -> str:
        """An API v2 URL."""
        return f"{self.config.base_url}/api/v2/{path}"

    async def asset_types(self) -> dict[int, dict[str, Any]]:
        """Every asset type by id."""
        if self._types is None:
            found: dict[int, dict[str, Any]] = {}
            params = {"per_page": self.config.page_size}
            async for rows in list_pages(
                self.client, self.url("asset_types"), "asset_types", params
            ):
                found.update({row["id"]: row for row in rows if isinstance(row.get("id"), int)})
            self._types = found
        return self._types

    async def lineage(self, type_id: Any) -> list[str]:
        """Names of an asset type and its ancestors, nearest first."""
        types, names, seen = await self.asset_types(), [], set()
        while isinstance(type_id, int) and type_id in types and type_id not in seen:
            seen.add(type_id)
            names.append(str(types[type_id].get("name", "")))
            type_id = types[type_id].get("parent_asset_type_id")
        return names

    async def is_device(self, type_id: Any) -> bool:
        """Whether an asset type is one of the configured device types or below one."""
        await self.asset_types()
        return self.is_device_type(type_id)

    def is_device_type(self, type_id: Any) -> bool:
        """``is_device`` once the asset types are loaded (False before)."""
        types, wanted, seen = self._types or {}, {n.lower() for n in self.config.asset_types}, set()
        while isinstance(type_id, int) and type_id in types and type_id not in seen:
            seen.add(type_id)
            if str(types[type_id].get("name", "")).lower() in wanted:
                return True
            type_id = types[type_id].get("parent_asset_type_id")
        return False

    async def person(self, user_id: Any) -> str | None:
        """The email of a requester (or agent) by id; None when unknown."""
        if not isinstance(user_id, int):
            return None
        if user_id not in self._people:
            self._people[user_id] = await self._email(user_id)
        return self._people[user_id]

    async def _email(self, user_id: int) -> str | None:
        for kind in ("requester", "agent"):
            try:
                body = (await self.client.get_json(self.url(f"{kind}s/{user_id}"))).body
            except FatalSourceError as err:
                if err.status_code == 404:
                    continue
                raise
            record = body.get(kind) if isinstance(body, dict) else None
            if isinstance(record, dict):
                email = record.get("primary_email") or record.get("email")
                return str(email) if email else None
        return None

    async def location(self, location_id: Any) -> str | None:
        """A location's name by id."""
        if not isinstance(location_id, int):
            return None
        if location_id not in self._locations:
            body = (await self.client.get_json(self.url(f"locations/{location_id}"))).body
            record = body.get("location") if isinstance(body, dict) else None
            name = record.get("name") if isinstance(record, dict) else None
            self._locations[location_id] = str(name) if name else None
        return self._locations[location_id]

    async def asset_keys(self) -> dict[str, str]:
        """Device key of every device asset by ``display_id``."""
        if self._keys is None:
            found: dict[str, str] = {}
            params = {"include": "type_fields", "per_page": self.config.page_size}
            async for rows in list_pages(self.client, self.url("assets"), "assets", params):
                for row in rows:
                    if await self.is_device(row.get("asset_type_id")):
                        device = asset_key_parts(row, self.config.type_fields)
                        found[device.source_id] = device.key
            self._keys = found
        return self._keys
