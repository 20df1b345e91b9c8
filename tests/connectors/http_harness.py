"""The contract-harness base of connectors whose fake is an HTTP app served by FakeServer.

A subclass names its connector, stream and fake class, and writes ``config()``
and ``source_ids()``; serving the fake and programming its faults are done here.
"""

from __future__ import annotations

from typing import Any, ClassVar, Generic, Protocol, TypeVar

import httpx

from connectors.base.registry import parse_config
from connectors.base.stream import SyncContext
from connectors.base.testing import ConnectorHarness, RecordingSleep, StreamRun, now, read_stream
from tests.fakes.server import FakeServer


class HttpFake(Protocol):
    """What the base needs of a fake: its ASGI app, fresh data and programmed faults."""

    app: Any

    def reset(self, *args: Any, **kwargs: Any) -> None:
        """Fresh data, no faults."""

    def fail_next(
        self, status: int, *, times: int = ..., retry_after: str | None = ..., garbage: bool = ...
    ) -> None:
        """Answer the next ``times`` requests with ``status`` (or a 200 that is not JSON)."""

    def fail_on_page(self, page: int, *args: Any, **kwargs: Any) -> None:
        """Keep failing on 1-based ``page``."""


FakeT = TypeVar("FakeT", bound=HttpFake)


class HttpHarness(ConnectorHarness, Generic[FakeT]):
    """A harness serving ``fake_class()`` on 127.0.0.1 for the whole test module."""

    fake_class: ClassVar[type[Any]]
    page_size: ClassVar[int] = 5
    # Fakes that render absolute URLs (next links, token audiences) are told the server's URL.
    tells_base_url: ClassVar[bool] = False
    # The list ``fail_on_page`` targets, for fakes serving several paged lists.
    paged_list: ClassVar[str | None] = None

    def __init__(self) -> None:
        self.fake: FakeT = self.fake_class()
        self.server = FakeServer(self.fake.app)

    def start(self) -> None:
        """Serve the fake."""
        self.server.start()
        if self.tells_base_url:
            self.fake.base_url = self.server.url  # type: ignore[attr-defined]

    def stop(self) -> None:
        """Stop serving."""
        self.server.stop()

    def reset(self, records: int) -> None:
        """Fresh records, no faults."""
        self.fake.reset(records)

    def fail_next(self, status: int, *, times: int = 1, retry_after: str | None = None) -> None:
        """Program the fake's next answers."""
        self.fake.fail_next(status, times=times, retry_after=retry_after)

    def fail_with_garbage(self) -> None:
        """An HTML page with status 200."""
        self.fake.fail_next(200, garbage=True)

    def fail_on_page(self, page: int) -> None:
        """A page that keeps answering 500."""
        if self.paged_list is None:
            self.fake.fail_on_page(page)
        else:
            self.fake.fail_on_page(page, self.paged_list)


async def read_through(
    harness: ConnectorHarness,
    stream: str,
    context: SyncContext | None = None,
    sleep: Any = None,
    clock: Any = None,
    **overrides: Any,
) -> StreamRun:
    """Read one stream of the harness's connector from its fake (a recording sleep by default;
    ``clock``, when given, is the connector's clock)."""
    config = parse_config(harness.connector_class, {**harness.config(), **overrides})
    connector_class: Any = harness.connector_class
    timing = {"sleep": sleep or RecordingSleep(), **({"clock": clock} if clock else {})}
    async with httpx.AsyncClient(timeout=10) as client:
        connector = connector_class(config, http_client=client, **timing)
        try:
            return await read_stream(connector, stream, context or SyncContext(now()))
        finally:
            await connector.aclose()


def by_id(run: StreamRun) -> dict[str, Any]:
    """A run's records by source id."""
    return {record.source_id: record for record in run.records}


async def read_with_fault_after_first_page(
    harness: Any, stream: str, status: int, retry_after: str
) -> tuple[RecordingSleep, list[str]]:
    """Read ``stream``, making the fake answer ``status`` once after the first page.

    Returns the recording sleep (what the client waited) and every source id read.
    """
    sleep = RecordingSleep()
    config = parse_config(harness.connector_class, harness.config())
    connector_class: Any = harness.connector_class
    seen: list[str] = []
    async with httpx.AsyncClient(timeout=10) as client:
        connector = connector_class(config, http_client=client, sleep=sleep)
        chosen = next(s for s in connector.get_streams() if s.name == stream)
        async for page in chosen.pages(SyncContext(now())):
            if not seen:
                harness.fake.fail_next(status, retry_after=retry_after)
            seen.extend(r.source_id for r in page.records)
    return sleep, seen
