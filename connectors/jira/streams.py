"""Jira streams: Assets objects (devices), references between them, and change issues.

Objects and relationships are read in full every run (so deleted objects
disappear); changes resume from ``updated >= "<minute>"`` (JQL compares
minutes in the account's time zone, so the start is floored to the minute
and the boundary minute is read again rather than missed).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar
from zoneinfo import ZoneInfo

from connectors.base.canonical import (
    CanonicalChange,
    CanonicalDevice,
    CanonicalRecord,
    CanonicalRelationship,
)
from connectors.base.errors import ConfigError
from connectors.base.paginators import CursorTokenPaginator, Paginator
from connectors.base.rest import RestStream
from connectors.base.stream import Page, Stream, SyncContext
from connectors.base.types import Sensitivity
from connectors.jira import change_mapping
from connectors.jira.assets import aql_for, aql_pages, device, references
from connectors.jira.config import JiraConfig

if TYPE_CHECKING:
    from connectors.jira.connector import JiraConnector


def jira_connector(stream: Stream) -> JiraConnector:
    """The stream's connector, typed."""
    from connectors.jira.connector import JiraConnector

    if not isinstance(stream.connector, JiraConnector):
        raise ConfigError(f"Stream {stream.name} needs a Jira connector")
    return stream.connector


class ObjectsStream(Stream):
    """Assets objects of the device object types, mapped through the attribute mapping."""

    name = "objects"
    record_model = CanonicalDevice
    field_sensitivity: ClassVar[dict[str, Sensitivity]] = {"owner": Sensitivity.CONFIDENTIAL}

    async def pages(self, context: SyncContext) -> AsyncIterator[Page]:
        """Every device object, one page per AQL page."""
        connector = jira_connector(self)
        schema, keys = await connector.schema(), {}
        client, config = connector.source_client, connector.config
        async for rows in aql_pages(client, config, aql_for(schema, config)):
            records = [device(row, schema, config) for row in rows]
            keys.update({record.source_id: record.key for record in records})
            yield Page(records=list(records))
        connector.remember_keys(keys)


class RelationshipsStream(Stream):
    """References between device objects: parent is the referring object, type the attribute."""

    name = "relationships"
    record_model = CanonicalRelationship

    async def pages(self, context: SyncContext) -> AsyncIterator[Page]:
        """Edges whose both ends are device objects."""
        connector = jira_connector(self)
        schema, config = await connector.schema(), connector.config
        keys: dict[str, str] = {}
        refs: list[tuple[str, str, str]] = []
        async for rows in aql_pages(connector.source_client, config, aql_for(schema, config)):
            for row in rows:
                keys[str(row["id"])] = device(row, schema, config).key
                refs.extend((str(row["id"]), name, ref) for name, ref in references(row, schema))
        connector.remember_keys(keys)
        edges = [_edge(parent, name, child, keys) for parent, name, child in refs]
        whole: list[CanonicalRecord] = [edge for edge in edges if edge is not None]
        yield Page(records=whole)


def _edge(parent: str, name: str, child: str, keys: dict[str, str]) -> CanonicalRelationship | None:
    if parent not in keys or child not in keys:
        return None
    return CanonicalRelationship(
        source_id=f"{parent}:{name}:{child}", parent=keys[parent], child=keys[child], type=name
    )


class ChangesStream(RestStream):
    """Change issues by JQL (``nextPageToken`` paging) with their approvals and affected CIs."""

    name = "changes"
    path = "/rest/api/3/search/jql"
    records_path = "issues"
    replication_key = "updated"
    record_model = CanonicalChange

    @property
    def config(self) -> JiraConfig:
        """The connection's settings."""
        return jira_connector(self).config

    def new_paginator(self) -> Paginator:
        """The opaque ``nextPageToken`` sent back as is."""
        return CursorTokenPaginator(path="nextPageToken", param="nextPageToken")

    def request_params(self, context: SyncContext) -> dict[str, Any]:
        """The JQL (with the incremental start), the mapped fields, the page size."""
        fields = change_mapping.fields_to_read(self.config.change_fields)
        return {
            "jql": self.jql(context),
            "fields": ",".join(fields),
            "maxResults": self.config.page_size,
        }

    def jql(self, context: SyncContext) -> str:
        """The configured JQL, from the cursor's minute on, oldest update first."""
        base, start = f"({self.config.change_jql})", self.start_value(context)
        if start:
            local = self.parse_cursor_value(start).astimezone(ZoneInfo(self.config.jql_timezone))
            base += f' AND updated >= "{local.strftime("%Y/%m/%d %H:%M")}"'
        return f"{base} ORDER BY updated ASC, key ASC"

    def replication_value(self, raw: dict[str, Any]) -> datetime | None:
        """``fields.updated``."""
        fields = raw.get("fields")
        value = fields.get("updated") if isinstance(fields, dict) else None
        return change_mapping.parse_jira_time(value) if isinstance(value, str) and value else None

    def record_id(self, raw: dict[str, Any]) -> str | None:
        """The issue key."""
        key = raw.get("key")
        return str(key) if key else None

    async def pages(self, context: SyncContext) -> AsyncIterator[Page]:
        """Each page's changes completed with approvals and affected CI keys."""
        self._affected: dict[str, list[str]] = {}
        await jira_connector(self).jira_base()
        async for page in super().pages(context):
            page.records = [await self._complete(record) for record in page.records]
            yield page

    def normalize(self, raw: dict[str, Any]) -> CanonicalRecord:
        """The change; affected objects are kept for ``_complete``."""
        record = change_mapping.change(raw, self.config.change_fields)
        self._affected[record.source_id] = change_mapping.affected_object_ids(
            raw, self.config.change_fields
        )
        return record

    async def _complete(self, record: CanonicalRecord) -> CanonicalRecord:
        assert isinstance(record, CanonicalChange)
        connector = jira_connector(self)
        objects = self._affected.pop(record.source_id, [])
        keys = await connector.device_keys() if objects else {}
        values = await connector.approvals(record.number)
        record.affected_cis = sorted({keys.get(obj, f"id:{obj}") for obj in objects})
        record.approvals = change_mapping.approvals(values)
        record.approval = change_mapping.overall(values)
        return record
