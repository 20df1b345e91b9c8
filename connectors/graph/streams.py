"""Graph streams: full runs list the collection, incremental runs follow a delta link.

A full run first asks for a delta link "from now" (``$deltatoken=latest``),
then lists the collection with ``$select`` and ``$top`` (and ``$expand`` where
the list endpoint allows what delta does not, e.g. the manager). An
incremental run follows the saved delta link: removed objects become
``Page.removed``, changed ones are read again from the list endpoint (delta
answers may be partial and cannot expand), in chunks of ``$filter=id in (...)``.
The cursor is ``{"delta_link", "issued_at"}``; ``issued_at`` is the run's
start (the signpost). Directory delta tokens expire after 7 days, so an older
cursor starts over with a full listing.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Sequence
from datetime import datetime, timedelta
from typing import Any, ClassVar

from pydantic import ValidationError

from connectors.base.canonical import CanonicalRecord
from connectors.base.errors import FatalSourceError
from connectors.base.rest import validation_message
from connectors.base.stream import Page, Stream, SyncContext
from connectors.graph.connector import GraphConnector, graph_connector
from connectors.graph.paging import GraphReader, Raw, object_id

logger = logging.getLogger(__name__)

FILTER_CHUNK = 15
MAX_TOKEN_AGE = timedelta(days=6)


class GraphStream(Stream):
    """A directory collection with delta support (users, groups, devices)."""

    replication_key = "delta_link"
    list_path: ClassVar[str]
    delta_path: ClassVar[str]
    fields: ClassVar[tuple[str, ...]]

    @property
    def graph(self) -> GraphConnector[Any]:
        """The connector, typed."""
        return graph_connector(self.connector)

    @property
    def reader(self) -> GraphReader:
        """The connector's Graph page reader."""
        return self.graph.reader

    # --- hooks -----------------------------------------------------------------

    def select(self) -> Sequence[str]:
        """Properties to read (``$select``); ``id`` is always returned."""
        return self.fields

    def list_params(self) -> dict[str, Any]:
        """Parameters of the list request: ``$select`` and ``$top``."""
        return {"$select": ",".join(self.select()), "$top": self.graph.config.page_size}

    def delta_params(self) -> dict[str, Any]:
        """Parameters of the delta request: the properties whose changes are tracked."""
        return {"$select": ",".join(self.select())}

    def normalize(self, raw: Raw) -> CanonicalRecord:
        """One Graph object as a canonical record."""
        return self.record_model.model_validate(raw)

    async def to_records(self, raws: list[Raw]) -> list[CanonicalRecord]:
        """A page of Graph objects as canonical records (override to add related reads)."""
        return [self._normalize(raw) for raw in raws]

    async def reread(self, ids: list[str]) -> list[Raw]:
        """The current state of changed objects, read from the list endpoint."""
        found: list[Raw] = []
        for start in range(0, len(ids), FILTER_CHUNK):
            chunk = ids[start : start + FILTER_CHUNK]
            quoted = ",".join(f"'{i}'" for i in chunk)
            params = {**self.list_params(), "$filter": f"id in ({quoted})"}
            found.extend(await self.reader.all(self.list_path, params))
        return found

    # --- machinery -------------------------------------------------------------

    async def pages(self, context: SyncContext) -> AsyncIterator[Page]:
        """A full listing, or the changes since the saved delta link."""
        link = self.resume_link(context)
        source = self._changes(context, link) if link else self._listing(context)
        async for page in source:
            yield page

    def resume_link(self, context: SyncContext) -> str | None:
        """The saved delta link when the run is incremental and the link is still valid."""
        cursor = context.cursor or {}
        link, issued = cursor.get("delta_link"), cursor.get("issued_at")
        if context.mode != "incremental" or not isinstance(link, str):
            return None
        if not isinstance(issued, str) or _age(issued, context.started_at) > MAX_TOKEN_AGE:
            logger.info("stream %s: delta link expired or undated; listing everything", self.name)
            return None
        return link

    async def _listing(self, context: SyncContext) -> AsyncIterator[Page]:
        link = await self.reader.latest_delta_link(self.delta_path, self.delta_params())
        async for raws, last in self.reader.pages(self.list_path, self.list_params()):
            page = Page(records=await self.to_records(raws))
            if last:
                page.cursor = self._cursor(link, context)
            yield page

    async def _changes(self, context: SyncContext, link: str) -> AsyncIterator[Page]:
        async for delta in self.reader.delta(link):
            ids = list(dict.fromkeys(object_id(raw, self.name) for raw in delta.changed))
            raws = await self.reread(ids) if ids else []
            page = Page(records=await self.to_records(raws), removed=delta.removed)
            if delta.delta_link:
                page.cursor = self._cursor(delta.delta_link, context)
            yield page

    def _cursor(self, link: str, context: SyncContext) -> dict[str, Any]:
        return {"delta_link": link, "issued_at": context.started_at.isoformat()}

    def _normalize(self, raw: Raw) -> CanonicalRecord:
        try:
            return self.normalize(raw)
        except ValidationError as err:
            record_id = raw.get("id") if isinstance(raw.get("id"), str) else None
            raise FatalSourceError(validation_message(self.name, record_id, err)) from err


def _age(issued: str, now: datetime) -> timedelta:
    try:
        return now - datetime.fromisoformat(issued)
    except (ValueError, TypeError):
        return timedelta.max
