"""REST connectors and streams: declare the endpoint, override small hooks only.

A :class:`RestConnector` gives its streams one :class:`SourceClient` (the
injected httpx client, the connector's auth, retry policy and concurrency).
A :class:`RestStream` implements ``pages()`` from class attributes:

- ``path`` (joined to ``connector.base_url()``), ``records_path`` (dotted
  JSON path of the record list; ``""`` when the body is the list),
  ``paginator`` (a paginator class or factory; fresh per run);
- hooks: ``request_params``, ``normalize``, ``replication_value``,
  ``cursor_from`` and a few more, each documented below.

Incremental cursors use a signpost: the saved value is the largest
replication-key value seen, never later than the run's ``started_at``, and
never earlier than the cursor the run started from. Only the last page
carries the cursor. A stream may read several ``partitions`` (e.g. tables)
one after the other; the cursor then holds one entry per partition.

The next page is requested as soon as the current one is decoded, so reading
it overlaps with normalizing and storing the current one (one request in
flight at a time, as before). A stream with ``pure_normalize`` skips records the
run's ``known`` lookup says are stored with the same source hash.
"""

from __future__ import annotations

import asyncio
import logging
from abc import abstractmethod
from collections.abc import AsyncIterator, Coroutine, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, ClassVar

import httpx
from pydantic import ValidationError

from connectors.base.canonical import CanonicalRecord
from connectors.base.connector import ConfigT, Connector
from connectors.base.errors import ConfigError, FatalSourceError
from connectors.base.http import Clock, JsonResponse, RetryPolicy, Sleep, SourceClient
from connectors.base.paginators import LinkHeaderPaginator, NextRequest, Paginator, json_get
from connectors.base.source_hash import SourceHasher, fingerprint
from connectors.base.stream import Page, Stream, SyncContext

logger = logging.getLogger(__name__)


class RestConnector(Connector[ConfigT]):
    """A connector reading an HTTP API; subclasses give ``base_url`` and ``auth``."""

    retry_policy: ClassVar[RetryPolicy] = RetryPolicy()
    max_concurrency: ClassVar[int] = 4
    request_timeout: ClassVar[float] = 30.0

    def __init__(
        self,
        config: ConfigT,
        *,
        http_client: httpx.AsyncClient | None = None,
        sleep: Sleep | None = None,
        clock: Clock | None = None,
    ) -> None:
        super().__init__(config, http_client=http_client)
        self._sleep = sleep
        self._clock = clock
        self._owned_client: httpx.AsyncClient | None = None
        self._source_client: SourceClient | None = None

    @abstractmethod
    def base_url(self) -> str:
        """The API root every stream path is joined to (no trailing slash needed)."""

    def auth(self) -> httpx.Auth | None:
        """The httpx auth flow for requests (basic, bearer...); None for none."""
        return None

    @property
    def source_client(self) -> SourceClient:
        """The connection's SourceClient, built on the injected httpx client."""
        if self._source_client is None:
            self._source_client = SourceClient(
                self._http(),
                source=self.title,
                auth=self.auth(),
                policy=self.retry_policy,
                max_concurrency=self.max_concurrency,
                sleep=self._sleep,
                **({"clock": self._clock} if self._clock is not None else {}),
            )
        return self._source_client

    def _http(self) -> httpx.AsyncClient:
        if self.http_client is not None:
            return self.http_client
        if self._owned_client is None:
            self._owned_client = httpx.AsyncClient(timeout=self.request_timeout)
        return self._owned_client

    async def aclose(self) -> None:
        """Close the httpx client if the connector had to create its own."""
        if self._owned_client is not None:
            await self._owned_client.aclose()
            self._owned_client = None
            self._source_client = None


@dataclass
class _Run:
    """State of one partition's read: paginator, newest replication value, ids seen."""

    paginator: Paginator
    latest: datetime | None = None
    seen: set[str] = field(default_factory=set)


class RestStream(Stream):
    """A stream read page by page from a REST endpoint."""

    records_path: ClassVar[str] = ""
    paginator: ClassVar[type[Paginator]] = LinkHeaderPaginator

    def __init__(self, connector: Connector[Any]) -> None:
        super().__init__(connector)
        self.partition: str | None = None
        self._hasher: SourceHasher | None = None

    # --- hooks -----------------------------------------------------------------

    @property
    def rest_connector(self) -> RestConnector[Any]:
        """The connector, typed as a RestConnector."""
        if not isinstance(self.connector, RestConnector):
            raise ConfigError(f"Stream {self.name} needs a RestConnector")
        return self.connector

    def partitions(self) -> Sequence[str]:
        """Independent slices read one after the other (e.g. tables); none by default."""
        return ()

    def new_paginator(self) -> Paginator:
        """A fresh paginator for one run (override when it needs config, e.g. page size)."""
        return self.paginator()

    def url(self, context: SyncContext) -> str:
        """URL of the first page: base URL + ``path`` (``self.partition`` is set)."""
        return f"{self.rest_connector.base_url().rstrip('/')}/{self.path.lstrip('/')}"

    def request_params(self, context: SyncContext) -> dict[str, Any]:
        """Query parameters of the first page (filters, fields, the incremental start).

        Args:
            context: the run; ``self.start_value(context)`` is the saved cursor value.

        Returns:
            Parameters; the paginator's own parameters are merged over them.
        """
        return {}

    def normalize(self, raw: dict[str, Any]) -> CanonicalRecord:
        """Turn one raw source record into a canonical record.

        Args:
            raw: one element of the list at ``records_path``.

        Returns:
            The canonical record (``record_model``).

        Raises:
            pydantic.ValidationError: turned into a FatalSourceError naming the field.
        """
        return self.record_model.model_validate(raw)

    def record_id(self, raw: dict[str, Any]) -> str | None:
        """The source id of a raw record, for error messages."""
        value = raw.get(self.primary_key)
        return str(value) if isinstance(value, str | int) else None

    def removed_id(self, raw: dict[str, Any]) -> str | None:
        """The source id when ``raw`` reports a deletion (delta queries), else None."""
        return None

    def replication_value(self, raw: dict[str, Any]) -> datetime | None:
        """The record's replication-key value (default: ISO 8601 at ``replication_key``)."""
        value = raw.get(self.replication_key) if self.replication_key else None
        return self.parse_cursor_value(value) if isinstance(value, str) and value else None

    def parse_cursor_value(self, value: str) -> datetime:
        """Read a replication value / saved cursor value as an aware UTC datetime."""
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)

    def format_cursor_value(self, value: datetime) -> str:
        """Write a cursor value the way the source's filter expects it."""
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")

    def start_value(self, context: SyncContext) -> str | None:
        """The saved cursor value to resume from on incremental runs, else None."""
        if context.mode != "incremental" or not context.cursor or not self.replication_key:
            return None
        value = context.cursor.get(self.replication_key)
        return value if isinstance(value, str) else None

    def cursor_from(self, latest: datetime | None, context: SyncContext) -> dict[str, Any] | None:
        """The cursor to save: newest value seen, signposted at ``context.started_at``.

        Args:
            latest: the largest replication value among this run's records, if any.
            context: the run (its ``started_at`` is the signpost).

        Returns:
            ``{replication_key: value}``, or the previous cursor when nothing was read.
        """
        start = self.start_value(context)
        previous = self.parse_cursor_value(start) if start else None
        candidates = [value for value in (latest, previous) if value is not None]
        if not candidates or not self.replication_key:
            return context.cursor
        signposted = min(max(candidates), context.started_at)
        return {self.replication_key: self.format_cursor_value(signposted)}

    # --- machinery -------------------------------------------------------------

    async def pages(self, context: SyncContext) -> AsyncIterator[Page]:
        """Read every page (of every partition); the last page carries the cursor."""
        partitions = list(self.partitions())
        if not partitions:
            async for page, _last in self._read(context):
                yield page
            return
        merged: dict[str, Any] = {}
        for index, partition in enumerate(partitions):
            self.partition = partition
            own = (context.cursor or {}).get(partition)
            part_context = replace(context, cursor=own if isinstance(own, dict) else None)
            async for page, last in self._read(part_context):
                if last:
                    if page.cursor is not None:
                        merged[partition] = page.cursor
                    page.cursor = dict(merged) if index == len(partitions) - 1 else None
                yield page

    async def _read(self, context: SyncContext) -> AsyncIterator[tuple[Page, bool]]:
        run = _Run(self.new_paginator())
        pending = _start(self._fetch(context, run.paginator.first_request()))
        try:
            while True:
                fetched = await pending
                raws = self.extract_records(fetched.body)
                run.paginator.advance(fetched.response, fetched.body, raws)
                if not run.paginator.finished:  # read ahead while this page is processed
                    pending = _start(self._fetch(context, run.paginator.next_request()))
                page = await self._page(raws, run, context)
                if run.paginator.finished:
                    page.cursor = run.paginator.cursor() or self._cursor(run, context)
                    yield page, True
                    return
                yield page, False
        finally:
            _abandon(pending)

    async def _fetch(self, context: SyncContext, request: NextRequest) -> JsonResponse:
        client = self.rest_connector.source_client
        if request.url is None:
            params = {**self.request_params(context), **request.params}
            return await client.get_json(self.url(context), params=params)
        self._check_same_origin(request.url)
        return await client.get_json(request.url, params=request.params or None)

    def _check_same_origin(self, url: str) -> None:
        expected = httpx.URL(self.rest_connector.base_url())
        actual = httpx.URL(url)
        if (actual.scheme, actual.host, actual.port) != (
            expected.scheme,
            expected.host,
            expected.port,
        ):
            raise FatalSourceError(
                f"{self.connector.title} sent a next-page link to another host "
                f"({actual.host}); refusing to send credentials there"
            )

    def extract_records(self, body: Any) -> list[dict[str, Any]]:
        """The raw records of a page at ``records_path``; FatalSourceError when absent."""
        records = json_get(body, self.records_path)
        if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
            where = f"at '{self.records_path}'" if self.records_path else "as the body"
            raise FatalSourceError(
                f"{self.connector.title} answered without a list of records {where} "
                f"(stream {self.name})"
            )
        return records

    async def _page(self, raws: list[dict[str, Any]], run: _Run, context: SyncContext) -> Page:
        page = Page(records=[])
        read: list[tuple[dict[str, Any], str | None]] = []
        for raw in raws:
            removed = self.removed_id(raw)
            if removed is None:
                read.append((raw, self.record_id(raw)))
            else:
                page.removed.append(removed)
        hashes = self._source_hashes(read) if context.known is not None else {}
        stored = await context.known(list(hashes)) if context.known and hashes else {}
        for raw, source_id in read:
            self._track(raw, run)
            digest = hashes.get(source_id) if source_id is not None else None
            if source_id is not None and digest is not None and stored.get(source_id) == digest:
                if source_id not in run.seen:
                    run.seen.add(source_id)
                    page.unchanged.append(source_id)
                continue
            record = self._normalize(raw)
            if record.source_id not in run.seen:
                run.seen.add(record.source_id)
                page.records.append(record)
                if digest is not None and record.source_id == source_id:
                    page.source_hashes[source_id] = digest
        return page

    def _source_hashes(self, read: list[tuple[dict[str, Any], str | None]]) -> dict[str, str]:
        """Source hash by source id of the page's records (the first copy of an id wins)."""
        if self._hasher is None:
            self._hasher = SourceHasher(fingerprint(self))
        digest = self._hasher.digest
        hashes: dict[str, str] = {}
        for raw, source_id in read:
            if source_id is not None and source_id not in hashes:
                hashes[source_id] = digest(raw)
        return hashes

    def _track(self, raw: dict[str, Any], run: _Run) -> None:
        try:
            value = self.replication_value(raw)
        except ValueError as err:
            raise FatalSourceError(
                f"Stream {self.name}: record {self.record_id(raw)} has an unreadable "
                f"{self.replication_key}"
            ) from err
        if value is not None and (run.latest is None or value > run.latest):
            run.latest = value

    def _normalize(self, raw: dict[str, Any]) -> CanonicalRecord:
        try:
            return self.normalize(raw)
        except ValidationError as err:
            raise FatalSourceError(validation_message(self.name, self.record_id(raw), err)) from err

    def _cursor(self, run: _Run, context: SyncContext) -> dict[str, Any] | None:
        return self.cursor_from(run.latest, context) if self.replication_key else None


def _start(fetch: Coroutine[Any, Any, JsonResponse]) -> asyncio.Task[JsonResponse]:
    return asyncio.ensure_future(fetch)


def _abandon(task: asyncio.Task[JsonResponse]) -> None:
    """Cancel a read-ahead nobody will wait for (its error, if any, is not reported)."""
    if task.done():
        if not task.cancelled():
            task.exception()
        return
    task.cancel()


def validation_message(stream: str, record_id: str | None, err: ValidationError) -> str:
    """A one-line message naming the stream, record and invalid fields (never the values)."""
    problems = "; ".join(
        f"field '{'.'.join(str(p) for p in e['loc']) or '(record)'}': {e['msg']}"
        for e in err.errors(include_input=False, include_url=False)
    )
    which = f"record {record_id}" if record_id else "a record"
    return f"Stream {stream}: {which} does not validate ({problems})"
