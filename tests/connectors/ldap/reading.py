"""Read a connector stream the way the sync engine does: pages, then the last cursor."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from connectors.base.canonical import CanonicalRecord
from connectors.base.stream import Page, SyncContext, SyncMode
from connectors.ldap import LdapConnector


@dataclass
class StreamRun:
    """What one stream produced in one run."""

    pages: list[Page]
    cursor: dict[str, Any] | None

    @property
    def records(self) -> list[CanonicalRecord]:
        return [record for page in self.pages for record in page.records]

    def by_key(self) -> dict[str, Any]:
        return {record.key: record for record in self.records}


async def read_stream(
    connector: LdapConnector,
    name: str,
    *,
    mode: SyncMode = "full",
    cursor: dict[str, Any] | None = None,
    started_at: datetime | None = None,
) -> StreamRun:
    """Every page of one stream in one run; the cursor is the last non-None one."""
    context = SyncContext(started_at=started_at or datetime.now(UTC), mode=mode, cursor=cursor)
    stream = next(s for s in connector.get_streams() if s.name == name)
    pages: list[Page] = []
    last_cursor = None
    async for page in stream.pages(context):
        pages.append(page)
        last_cursor = page.cursor if page.cursor is not None else last_cursor
    return StreamRun(pages, last_cursor)
