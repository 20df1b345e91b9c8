"""Freshservice API v2 streams: assets (devices), relationships and changes.

Lists are paged with ``page``/``per_page`` (at most 100) and followed through
the ``Link: <...>; rel="next"`` header. Assets and relationships are read in
full every run (the asset list has no updated-since parameter), so deleted
CIs disappear on every run. Changes resume from ``updated_since`` (inclusive).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any, ClassVar

from connectors.base.canonical import (
    CanonicalChange,
    CanonicalDevice,
    CanonicalRecord,
    CanonicalRelationship,
)
from connectors.base.errors import ConfigError
from connectors.base.paginators import LinkHeaderPaginator
from connectors.base.rest import RestStream
from connectors.base.stream import Page, SyncContext
from connectors.base.types import Sensitivity
from connectors.freshservice import mapping
from connectors.freshservice.config import FreshserviceConfig
from connectors.freshservice.lookups import Lookups, list_pages, records_at


class FreshserviceStream(RestStream):
    """A Freshservice list endpoint paged by the Link header."""

    paginator = LinkHeaderPaginator

    @property
    def config(self) -> FreshserviceConfig:
        """The connection's settings."""
        config = self.connector.config
        if not isinstance(config, FreshserviceConfig):
            raise ConfigError(f"Stream {self.name} needs a Freshservice configuration")
        return config

    @property
    def lookups(self) -> Lookups:
        """The connector's per-run caches."""
        found = getattr(self.connector, "lookups", None)
        if not isinstance(found, Lookups):
            raise ConfigError(f"Stream {self.name} needs a Freshservice connector")
        return found

    def request_params(self, context: SyncContext) -> dict[str, Any]:
        """The page size."""
        return {"per_page": self.config.page_size}

    def extract_records(self, body: Any) -> list[dict[str, Any]]:
        """The records under ``records_path``."""
        return records_at(body, self.records_path)


class AssetsStream(FreshserviceStream):
    """Assets of the configured device types, with their type fields, as devices."""

    name = "assets"
    path = "/api/v2/assets"
    primary_key = "display_id"
    records_path = "assets"
    record_model = CanonicalDevice
    field_sensitivity: ClassVar[dict[str, Sensitivity]] = {"owner": Sensitivity.CONFIDENTIAL}

    def request_params(self, context: SyncContext) -> dict[str, Any]:
        """Type fields included."""
        return {**super().request_params(context), "include": "type_fields"}

    async def pages(self, context: SyncContext) -> AsyncIterator[Page]:
        """Pages of device assets, with owner, location and type resolved."""
        self._raws: dict[str, dict[str, Any]] = {}
        await self.lookups.asset_types()
        async for page in super().pages(context):
            page.records = [await self._complete(record) for record in page.records]
            yield page

    def normalize(self, raw: dict[str, Any]) -> CanonicalRecord:
        """The key fields now; the rest in ``_complete`` (it needs lookups)."""
        device = mapping.asset_key_parts(raw, self.config.type_fields)
        self._raws[device.source_id] = raw
        return device

    async def _complete(self, record: CanonicalRecord) -> CanonicalRecord:
        raw = self._raws.pop(record.source_id, {})
        return mapping.asset(
            raw,
            self.config.type_fields,
            await self.lookups.lineage(raw.get("asset_type_id")),
            await self.lookups.person(raw.get("user_id")),
            await self.lookups.location(raw.get("location_id")),
        )

    def extract_records(self, body: Any) -> list[dict[str, Any]]:
        """Only assets whose type is a configured device type (types are loaded first)."""
        records = super().extract_records(body)
        return [r for r in records if self.lookups.is_device_type(r.get("asset_type_id"))]


class RelationshipsStream(FreshserviceStream):
    """Relationships between device assets, typed ``upstream::downstream``."""

    name = "relationships"
    path = "/api/v2/relationships"
    records_path = "relationships"
    record_model = CanonicalRelationship

    async def pages(self, context: SyncContext) -> AsyncIterator[Page]:
        """Every relationship whose two ends are device assets."""
        keys = await self.lookups.asset_keys()
        types = await self._types()
        url, params = self.lookups.url("relationships"), self.request_params(context)
        async for rows in list_pages(
            self.rest_connector.source_client, url, self.records_path, params
        ):
            yield Page(records=[e for row in rows if (e := _edge(row, keys, types))])
        yield Page(records=[])

    async def _types(self) -> dict[Any, str]:
        found: dict[Any, str] = {}
        url, params = self.lookups.url("relationship_types"), {"per_page": self.config.page_size}
        async for rows in list_pages(
            self.rest_connector.source_client, url, "relationship_types", params
        ):
            for row in rows:
                found[row.get("id")] = (
                    f"{row.get('upstream_relation')}::{row.get('downstream_relation')}"
                )
        return found


def _edge(
    row: dict[str, Any], keys: dict[str, str], types: dict[Any, str]
) -> CanonicalRelationship | None:
    if row.get("primary_type") != "asset" or row.get("secondary_type") != "asset":
        return None
    parent, child = keys.get(str(row.get("primary_id"))), keys.get(str(row.get("secondary_id")))
    kind = types.get(row.get("relationship_type_id"))
    if not (parent and child and kind):
        return None
    return CanonicalRelationship(
        source_id=str(row.get("id")), parent=parent, child=child, type=kind
    )


class ChangesStream(FreshserviceStream):
    """Changes with their approvals and affected assets; incremental by ``updated_since``."""

    name = "changes"
    path = "/api/v2/changes"
    records_path = "changes"
    replication_key = "updated_at"
    record_model = CanonicalChange

    def request_params(self, context: SyncContext) -> dict[str, Any]:
        """The page size and, on incremental runs, ``updated_since`` (inclusive)."""
        params = super().request_params(context)
        start = self.start_value(context)
        return {**params, "updated_since": start} if start else params

    def format_cursor_value(self, value: Any) -> str:
        """``updated_since`` format."""
        return mapping.format_time(value)

    async def pages(self, context: SyncContext) -> AsyncIterator[Page]:
        """Each page's changes completed with approvals and affected CI keys."""
        self._assets: dict[str, list[str]] = {}
        async for page in super().pages(context):
            page.records = [await self._complete(record) for record in page.records]
            yield page

    def normalize(self, raw: dict[str, Any]) -> CanonicalRecord:
        """The change itself; affected assets are kept for ``_complete``."""
        record = mapping.change(raw, [])
        assets = raw.get("assets")
        refs: list[Any] = assets if isinstance(assets, list) else []
        self._assets[record.source_id] = [
            str(a.get("display_id")) for a in refs if isinstance(a, dict)
        ]
        return record

    async def _complete(self, record: CanonicalRecord) -> CanonicalRecord:
        assert isinstance(record, CanonicalChange)
        refs = self._assets.pop(record.source_id, [])
        keys = await self.lookups.asset_keys() if refs else {}
        approvals = await self._approvals(record.source_id)
        record.affected_cis = sorted({keys.get(ref, f"id:{ref}") for ref in refs})
        record.approvals = approvals
        record.approval = mapping.overall(approvals)
        return record

    async def _approvals(self, change_id: str) -> list[Any]:
        url = self.lookups.url(f"changes/{change_id}/approvals")
        found = []
        async for rows in list_pages(self.rest_connector.source_client, url, "approvals", {}):
            for row in rows:
                who = row.get("member_id", row.get("approver_id"))
                email = await self.lookups.person(who) or f"agent:{who}"
                item = mapping.approval(row, email)
                if item is not None:
                    found.append(item)
        return sorted(found, key=lambda a: (a.approver, a.at.isoformat() if a.at else ""))
