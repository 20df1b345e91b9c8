"""RestStream machinery with a small connector over recorded pages (MockTransport)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any, ClassVar

import httpx
import pytest
from pydantic import BaseModel

from connectors.base.canonical import CanonicalDevice, CanonicalRecord
from connectors.base.errors import FatalSourceError
from connectors.base.rest import RestConnector, RestStream
from connectors.base.source_hash import SourceHasher, fingerprint
from connectors.base.stream import Stream, SyncContext
from connectors.base.testing import RecordingSleep, StreamRun, read_stream
from connectors.base.types import Category

BASE = "https://api.example"
STARTED = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


class Settings(BaseModel):
    tables: list[str] = []


class Devices(RestStream):
    name = "devices"
    path = "/devices"
    record_model = CanonicalDevice
    records_path = "data.items"
    replication_key = "updated"

    def normalize(self, raw: dict[str, Any]) -> CanonicalRecord:
        return CanonicalDevice(source_id=raw["id"], serial_number=raw.get("serial"))


class Partitioned(Devices):
    def partitions(self) -> Sequence[str]:
        return tuple(self.connector.config.tables)

    def url(self, context: SyncContext) -> str:
        return f"{BASE}/{self.partition}"


class Acme(RestConnector[Settings]):
    slug = "acme"
    title = "Acme"
    category = Category.CMDB
    config_model = Settings
    streams: ClassVar[tuple[type[Stream], ...]] = (Devices,)

    def base_url(self) -> str:
        return BASE


def pages(
    routes: dict[str, dict[str, Any] | Callable[[httpx.Request], httpx.Response]],
) -> httpx.MockTransport:
    """Answer by URL path + query; a dict is the JSON body of a page."""

    def handler(request: httpx.Request) -> httpx.Response:
        key = request.url.path + (f"?{request.url.query.decode()}" if request.url.query else "")
        answer = routes[key]
        return answer(request) if callable(answer) else httpx.Response(200, json=answer)

    return httpx.MockTransport(handler)


def page(
    items: list[dict[str, Any]], next_url: str | None = None
) -> Callable[[httpx.Request], httpx.Response]:
    headers = {"Link": f'<{next_url}>; rel="next"'} if next_url else {}
    return lambda request: httpx.Response(200, json={"data": {"items": items}}, headers=headers)


async def run(
    transport: httpx.MockTransport,
    context: SyncContext,
    stream: type[RestStream] = Devices,
    settings: Settings | None = None,
) -> StreamRun:
    async with httpx.AsyncClient(transport=transport) as http:
        connector = Acme(settings or Settings(), http_client=http, sleep=RecordingSleep())
        connector.streams = (stream,)  # type: ignore[misc]
        return await read_stream(connector, stream.name, context)


def item(i: int, updated: str = "2026-02-01T00:00:00Z", **extra: Any) -> dict[str, Any]:
    return {"id": f"d{i}", "serial": f"s{i}", "updated": updated, **extra}


async def test_pages_follow_links_drop_duplicates_and_carry_cursor_last() -> None:
    transport = pages(
        {
            "/devices": page([item(1, "2026-02-01T00:00:00Z"), item(2)], f"{BASE}/devices?p=2"),
            "/devices?p=2": page([item(2), item(3, "2026-02-03T10:00:00Z")]),
        }
    )
    result = await run(transport, SyncContext(STARTED))
    assert result.ids == ["d1", "d2", "d3"]
    assert result.cursors == [None, {"updated": "2026-02-03T10:00:00Z"}]


async def test_cursor_is_signposted_at_run_start() -> None:
    transport = pages({"/devices": page([item(1, "2026-03-01T12:30:00Z")])})
    result = await run(transport, SyncContext(STARTED))
    assert result.cursor == {"updated": "2026-03-01T12:00:00Z"}


async def test_cursor_never_moves_back_and_survives_an_empty_run() -> None:
    before = {"updated": "2026-02-10T00:00:00Z"}
    older = pages({"/devices": page([item(1, "2026-02-01T00:00:00Z")])})
    assert (await run(older, SyncContext(STARTED, "incremental", before))).cursor == before
    empty = pages({"/devices": page([])})
    assert (await run(empty, SyncContext(STARTED, "incremental", before))).cursor == before
    assert (await run(empty, SyncContext(STARTED))).cursor is None


async def test_invalid_record_names_stream_record_and_field_not_value() -> None:
    transport = pages({"/devices": page([{"id": "d9", "serial": ["SECRET-ish"], "updated": ""}])})
    with pytest.raises(FatalSourceError) as caught:
        await run(transport, SyncContext(STARTED))
    message = caught.value.message
    assert message.startswith("Stream devices: record d9 does not validate (field 'serial_number'")
    assert "SECRET-ish" not in message


async def test_unreadable_replication_value_is_fatal() -> None:
    transport = pages({"/devices": page([item(1, "yesterday")])})
    with pytest.raises(FatalSourceError, match="record d1 has an unreadable updated"):
        await run(transport, SyncContext(STARTED))


@pytest.mark.parametrize(
    "body", [{"data": {}}, {"data": {"items": {"id": 1}}}, {"data": {"items": [1]}}]
)
async def test_missing_record_list_is_fatal(body: dict[str, Any]) -> None:
    with pytest.raises(FatalSourceError, match=r"without a list of records at 'data\.items'"):
        await run(pages({"/devices": body}), SyncContext(STARTED))


async def test_next_link_to_another_host_is_refused_before_sending() -> None:
    transport = pages({"/devices": page([item(1)], "https://evil.example/devices?p=2")})
    with pytest.raises(FatalSourceError, match=r"another host .*evil\.example"):
        await run(transport, SyncContext(STARTED))


async def test_partitions_keep_a_cursor_each_on_the_last_page_only() -> None:
    previous = {"a": {"updated": "2026-01-01T00:00:00Z"}, "b": {"updated": "2026-01-05T00:00:00Z"}}
    transport = pages(
        {
            "/a": page([item(1, "2026-02-01T00:00:00Z")], f"{BASE}/a?p=2"),
            "/a?p=2": page([item(2, "2026-02-02T00:00:00Z")]),
            "/b": page([]),
        }
    )
    context = SyncContext(STARTED, "incremental", previous)
    result = await run(transport, context, Partitioned, Settings(tables=["a", "b"]))
    assert result.ids == ["d1", "d2"]
    assert result.cursors == [
        None,
        None,
        {"a": {"updated": "2026-02-02T00:00:00Z"}, "b": {"updated": "2026-01-05T00:00:00Z"}},
    ]


class PureDevices(Devices):
    pure_normalize = True


def three_pages(seen: list[str]) -> httpx.MockTransport:
    """Three linked pages of two devices; ``seen`` collects the requested URLs."""
    links = {"/devices": f"{BASE}/devices?p=2", "/devices?p=2": f"{BASE}/devices?p=3"}
    bodies = {"/devices": [item(1), item(2)], "/devices?p=2": [item(3), item(4)]}
    bodies["/devices?p=3"] = [item(5), item(6)]

    def handler(request: httpx.Request) -> httpx.Response:
        key = request.url.path + (f"?{request.url.query.decode()}" if request.url.query else "")
        seen.append(key)
        headers = {"Link": f'<{links[key]}>; rel="next"'} if key in links else {}
        return httpx.Response(200, json={"data": {"items": bodies[key]}}, headers=headers)

    return httpx.MockTransport(handler)


async def test_the_next_page_is_read_while_the_current_one_is_processed() -> None:
    seen: list[str] = []
    async with httpx.AsyncClient(transport=three_pages(seen)) as http:
        connector = Acme(Settings(), http_client=http, sleep=RecordingSleep())
        stream = connector.get_streams()[0]
        pages = stream.pages(SyncContext(STARTED))
        first = await anext(pages)
        await asyncio.sleep(0.01)  # the consumer works on page 1
        assert [r.source_id for r in first.records] == ["d1", "d2"]
        assert seen == ["/devices", "/devices?p=2"]
        await pages.aclose()  # abandoning the run cancels nothing it should not
        await asyncio.sleep(0.01)
        assert seen == ["/devices", "/devices?p=2"]


async def test_a_failed_read_ahead_fails_the_next_page_not_the_current_one() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.query:
            return httpx.Response(404, json={"error": "gone"})
        headers = {"Link": f'<{BASE}/devices?p=2>; rel="next"'}
        return httpx.Response(200, json={"data": {"items": [item(1)]}}, headers=headers)

    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as http:
        connector = Acme(Settings(), http_client=http, sleep=RecordingSleep())
        pages = connector.get_streams()[0].pages(SyncContext(STARTED))
        first = await anext(pages)
        assert [r.source_id for r in first.records] == ["d1"]
        with pytest.raises(FatalSourceError):
            await anext(pages)


async def test_records_stored_with_the_same_source_hash_are_reported_unchanged() -> None:
    seen: list[str] = []
    hashes: dict[str, str] = {}

    async def known(ids: Sequence[str]) -> dict[str, str]:
        return {key: hashes[key] for key in ids if key in hashes}

    async with httpx.AsyncClient(transport=three_pages(seen)) as http:
        connector = Acme(Settings(), http_client=http, sleep=RecordingSleep())
        stream = PureDevices(connector)
        first = [page async for page in stream.pages(SyncContext(STARTED, known=known))]
        assert [len(p.records) for p in first] == [2, 2, 2]
        hashes.update({k: v for p in first for k, v in p.source_hashes.items() if k != "d4"})
        again = [page async for page in PureDevices(connector).pages(
            SyncContext(STARTED, known=known)
        )]  # fmt: skip
    assert [r.source_id for p in again for r in p.records] == ["d4"]
    assert [key for p in again for key in p.unchanged] == ["d1", "d2", "d3", "d5", "d6"]
    assert again[-1].cursor == {"updated": "2026-02-01T00:00:00Z"}


def test_the_source_hash_depends_on_config_version_and_record() -> None:
    connector = Acme(Settings(tables=["a"]))
    base = SourceHasher(fingerprint(PureDevices(connector)))
    other_config = SourceHasher(fingerprint(PureDevices(Acme(Settings(tables=["b"])))))

    class Bumped(PureDevices):
        normalizer_version = "2"

    bumped = SourceHasher(fingerprint(Bumped(connector)))
    digest = base.digest(item(1))
    assert digest == SourceHasher(fingerprint(PureDevices(connector))).digest(item(1))
    assert len({digest, base.digest(item(2)), other_config.digest(item(1)),
                bumped.digest(item(1))}) == 4  # fmt: skip
