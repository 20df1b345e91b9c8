"""Table API streams. Add a table by subclassing ``TableStream``: declare ``name``,
``record_model``, ``fields``, the tables and ``normalize``; keyset paging, the incremental
cursor and display values come from here. Changes (with affected CIs and approvals from
two more tables) live in :mod:`connectors.servicenow.changes`.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Sequence
from datetime import datetime
from typing import Any, ClassVar

from connectors.base.canonical import CanonicalDevice, CanonicalRecord, CanonicalRelationship
from connectors.base.errors import ConfigError
from connectors.base.paginators import Paginator
from connectors.base.rest import RestStream
from connectors.base.stream import Page, SyncContext
from connectors.base.types import Sensitivity
from connectors.servicenow.config import ServiceNowConfig
from connectors.servicenow.mapping import (
    COMPUTER_FIELDS,
    RELATIONSHIP_FIELDS,
    computer_to_device,
    format_sn_datetime,
    parse_sn_datetime,
    relationship,
    value,
)
from connectors.servicenow.paging import KeysetPaginator, first_query

logger = logging.getLogger(__name__)


class TableStream(RestStream):
    """Records of one or more tables through ``GET /api/now/table/{table}``.

    Each table is a partition with its own ``sys_updated_on`` cursor. Pages are
    ordered by ``sys_updated_on`` then ``sys_id`` and read by keyset (see
    :mod:`connectors.servicenow.paging`: an update mid-run skips nothing);
    incremental runs ask for ``sys_updated_on>=cursor`` (inclusive: a record
    updated in the same second as the cursor is read again rather than missed).
    """

    primary_key = "sys_id"
    replication_key = "sys_updated_on"
    records_path = "result"
    pure_normalize = True  # the mappings read the record alone
    fields: ClassVar[tuple[str, ...]]
    default_tables: ClassVar[tuple[str, ...]] = ()

    @property
    def config(self) -> ServiceNowConfig:
        """The connection's ServiceNow settings."""
        config = self.connector.config
        if not isinstance(config, ServiceNowConfig):
            raise ConfigError(f"Stream {self.name} needs a ServiceNow configuration")
        return config

    def partitions(self) -> Sequence[str]:
        """The tables this stream reads."""
        return self.default_tables

    def new_paginator(self) -> Paginator:
        """Keyset paging; the first page's query comes from ``request_params``."""
        return KeysetPaginator()

    def url(self, context: SyncContext) -> str:
        """The Table API URL of the current table."""
        return f"{self.config.base_url}/api/now/table/{self.partition}"

    def request_params(self, context: SyncContext) -> dict[str, Any]:
        """Only the mapped fields, values and display values, no reference links."""
        return {
            "sysparm_fields": ",".join(self.fields),
            "sysparm_display_value": "all",
            "sysparm_exclude_reference_link": "true",
            "sysparm_limit": self.config.page_size,
            "sysparm_query": self.query(context),
        }

    def query(self, context: SyncContext) -> str:
        """The encoded query: the incremental start, then a stable order."""
        start = self.start_value(context)
        return first_query(f"sys_updated_on>={start}" if start else "")

    def record_id(self, raw: dict[str, Any]) -> str | None:
        """The record's sys_id."""
        return value(raw, "sys_id")

    def replication_value(self, raw: dict[str, Any]) -> datetime | None:
        """``sys_updated_on`` (the stored UTC value, never the display value)."""
        updated = value(raw, "sys_updated_on")
        return parse_sn_datetime(updated) if updated else None

    def parse_cursor_value(self, value: str) -> datetime:
        """A saved cursor in ServiceNow's date-time format."""
        return parse_sn_datetime(value)

    def format_cursor_value(self, value: datetime) -> str:
        """ServiceNow's date-time format, as the encoded query compares it."""
        return format_sn_datetime(value)


class ComputersStream(TableStream):
    """Computers (``cmdb_ci_computer`` and the classes chosen in the connection) as devices."""

    name = "computers"
    record_model = CanonicalDevice
    fields = COMPUTER_FIELDS
    field_sensitivity: ClassVar[dict[str, Sensitivity]] = {"owner": Sensitivity.CONFIDENTIAL}

    def partitions(self) -> Sequence[str]:
        """The CMDB tables configured on the connection."""
        return tuple(self.config.tables)

    def normalize(self, raw: dict[str, Any]) -> CanonicalRecord:
        """A CMDB computer as a canonical device."""
        return computer_to_device(raw)


class RelationshipsStream(TableStream):
    """The CI dependency graph from ``cmdb_rel_ci``: parent and child as device keys.

    Parent and child are read with dot-walked fields (``parent.serial_number``,
    ``parent.asset_tag``, ``parent.name``) and keyed exactly as
    ``CanonicalDevice.key`` keys devices, so an edge joins the devices document
    without a lookup. A CI whose serial number changes keeps its old key on
    its edges until the next full reconcile (the edge's own ``sys_updated_on``
    does not move). Edges missing a parent or child are skipped.
    """

    name = "relationships"
    record_model = CanonicalRelationship
    fields = RELATIONSHIP_FIELDS
    default_tables = ("cmdb_rel_ci",)

    async def pages(self, context: SyncContext) -> AsyncIterator[Page]:
        """The edges, page by page, without those missing an end."""
        async for page in super().pages(context):
            whole = [
                r
                for r in page.records
                if isinstance(r, CanonicalRelationship) and r.parent and r.child
            ]
            if len(whole) < len(page.records):
                logger.info(
                    "skipped %d cmdb_rel_ci records without a parent or child",
                    len(page.records) - len(whole),
                )
            page.records = list(whole)
            yield page

    def normalize(self, raw: dict[str, Any]) -> CanonicalRecord:
        """A cmdb_rel_ci record as a canonical relationship."""
        return relationship(raw)
