"""Helpers of the Entra ID tests: read streams with an overridden config."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx

from connectors.base.canonical import CanonicalRecord
from connectors.base.registry import parse_config
from connectors.base.stream import SyncContext
from connectors.base.testing import RecordingSleep, StreamRun, now, read_stream
from connectors.entra import EntraConnector
from tests.connectors.entra_id.harness import Harness


async def read(
    graph: Harness,
    stream: str,
    context: SyncContext | None = None,
    sleep: RecordingSleep | None = None,
    **overrides: Any,
) -> StreamRun:
    """One run of ``stream`` with the harness config plus ``overrides``."""
    config = parse_config(EntraConnector, {**graph.config(), **overrides})
    async with httpx.AsyncClient(timeout=10) as client:
        connector = EntraConnector(config, http_client=client, sleep=sleep or RecordingSleep())  # type: ignore[arg-type]
        try:
            return await read_stream(connector, stream, context or SyncContext(now()))
        finally:
            await connector.aclose()


async def read_with(
    graph: Harness, stream: str, after_first_page: Callable[[], None], sleep: RecordingSleep
) -> list[str]:
    """Ids read by one full run of ``stream``; ``after_first_page`` runs between pages."""
    config = parse_config(EntraConnector, graph.config())
    seen: list[str] = []
    async with httpx.AsyncClient(timeout=10) as client:
        connector = EntraConnector(config, http_client=client, sleep=sleep)  # type: ignore[arg-type]
        stream_ = next(s for s in connector.get_streams() if s.name == stream)
        async for page in stream_.pages(SyncContext(now())):
            if not seen:
                after_first_page()
            seen.extend(r.source_id for r in page.records)
    return seen


def by_id(records: list[CanonicalRecord]) -> dict[str, Any]:
    """Records by source id."""
    return {record.source_id: record for record in records}
