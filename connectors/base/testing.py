"""The connector contract suite: the same tests run against every registered connector.

How to add your connector
-------------------------
Create ``tests/connectors/<slug>/harness.py`` (and an empty ``__init__.py``)
defining a class named ``Harness`` that subclasses :class:`ConnectorHarness`::

    class Harness(ConnectorHarness):
        connector_class = MyConnector
        stream = "devices"            # the paged (and incremental) stream to drive

        def start(self) -> None: ...  # start the fake (once per test module)
        def stop(self) -> None: ...
        def reset(self, records: int) -> None: ...   # fresh data, no faults
        def config(self) -> dict[str, Any]: ...      # raw config pointing at the fake
        def source_ids(self) -> set[str]: ...        # ids the fake holds now
        def change(self, count, *, at=None) -> set[str]: ...  # update records
        def cursor_time(self, cursor) -> datetime: ...
        def fail_next(self, status, *, times=1, retry_after=None) -> None: ...
        def fail_with_garbage(self) -> None: ...

``tests/connectors/test_contract.py`` finds it by slug; a registered
connector without a harness fails ``test_every_registered_connector_has_a_harness``.
Non-HTTP connectors set ``http_faults = False`` (and connectors without
incremental sync ``incremental = False``): the tests needing them are skipped,
with the reason shown.

What the suite checks (:class:`ConnectorContract`): the config schema renders
and marks secrets ``writeOnly``/``format: password``; invalid configs give a
ConfigError naming the field, without secret values; every record of a
multi-page source is read exactly once; an incremental run sees only what
changed and its cursor never passes the run's signpost; pages before a
failure carry no cursor; a ``pure_normalize`` stream read again with the
first read's source hashes normalizes only what changed (``change`` optional);
``Retry-After`` is waited; 401/403 → SourceAuthError, 404/400/garbage →
FatalSourceError, a 5xx burst recovers, endless 5xx gives up with
TransientSourceError; ``discover`` lists every declared stream with fields and
sensitivities; ``test_connection`` reports success and refusal. No error
message may contain a secret.
"""

from __future__ import annotations

import importlib
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

import httpx
import pytest

from connectors.base.canonical import CanonicalRecord
from connectors.base.connector import Connector
from connectors.base.errors import (
    ConfigError,
    FatalSourceError,
    PipError,
    SourceAuthError,
    TransientSourceError,
)
from connectors.base.registry import load_connectors, parse_config
from connectors.base.rest import RestConnector
from connectors.base.stream import SyncContext
from connectors.base.types import Sensitivity

HARNESS_MODULE = "tests.connectors.{slug}.harness"


class RecordingSleep:
    """An injectable sleep that records the durations asked for and returns at once."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        """Record ``seconds`` instead of sleeping."""
        self.waits.append(seconds)


@dataclass
class StreamRun:
    """Everything one run of a stream produced."""

    records: list[CanonicalRecord] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    cursors: list[dict[str, Any] | None] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    source_hashes: dict[str, str] = field(default_factory=dict)

    @property
    def ids(self) -> list[str]:
        """Source ids of the records, in order read."""
        return [record.source_id for record in self.records]

    @property
    def cursor(self) -> dict[str, Any] | None:
        """The cursor the engine would save: the last non-None page cursor."""
        return next((c for c in reversed(self.cursors) if c is not None), None)


async def read_stream(connector: Connector[Any], name: str, context: SyncContext) -> StreamRun:
    """Run stream ``name`` of ``connector`` to the end, collecting its pages."""
    stream = next(s for s in connector.get_streams() if s.name == name)
    run = StreamRun()
    async for page in stream.pages(context):
        run.records.extend(page.records)
        run.removed.extend(page.removed)
        run.cursors.append(page.cursor)
        run.unchanged.extend(page.unchanged)
        run.source_hashes.update(page.source_hashes)
    return run


@dataclass
class StoredHashes:
    """A ``SyncContext.known`` lookup over source hashes kept from an earlier read."""

    hashes: dict[str, str] = field(default_factory=dict)

    async def __call__(self, source_ids: Sequence[str]) -> Mapping[str, str]:
        """The kept hashes of ``source_ids``."""
        return {i: self.hashes[i] for i in source_ids if i in self.hashes}


def now() -> datetime:
    """The current time, aware UTC."""
    return datetime.now(UTC)


class ConnectorHarness(ABC):
    """What a connector's tests provide so the contract suite can drive it.

    One instance serves a test module: ``start()`` once, ``reset(records)`` before
    each test, ``stop()`` at the end. Hooks marked optional raise
    NotImplementedError by default; the tests needing them are then skipped.
    """

    connector_class: ClassVar[type[Connector[Any]]]
    stream: ClassVar[str]
    page_size: ClassVar[int] = 5
    http_faults: ClassVar[bool] = True
    incremental: ClassVar[bool] = True

    def start(self) -> None:  # noqa: B027 - optional hook
        """Start the fake source (once per test module)."""

    def stop(self) -> None:  # noqa: B027 - optional hook
        """Stop the fake source."""

    @abstractmethod
    def reset(self, records: int) -> None:
        """Give the fake ``records`` records of ``stream``, no faults, no history."""

    @abstractmethod
    def config(self) -> dict[str, Any]:
        """A valid raw config pointing at the fake, with ``page_size`` records per page."""

    @abstractmethod
    def source_ids(self) -> set[str]:
        """Source ids of the records the fake holds now (what a full run must read)."""

    def invalid_configs(self) -> list[tuple[dict[str, Any], str]]:
        """Invalid raw configs with the field each must be rejected for.

        The default drops each required field in turn; add cases (wrong types,
        bad URLs) by extending the list.
        """
        valid = self.config()
        required = [
            name
            for name, info in self.connector_class.config_model.model_fields.items()
            if info.is_required()
        ]
        return [({k: v for k, v in valid.items() if k != name}, name) for name in required]

    def secrets(self) -> list[str]:
        """Secret values of ``config()``; none may appear in any error message."""
        config = self.config()
        return [
            str(config[name]) for name in self.connector_class.secret_fields() if name in config
        ]

    def change(self, count: int, *, at: datetime | None = None) -> set[str]:
        """Optional: update ``count`` records (as of ``at``, default now); return their ids."""
        raise NotImplementedError

    def cursor_time(self, cursor: dict[str, Any]) -> datetime:
        """Optional: the point in time a saved cursor stands for (aware UTC)."""
        raise NotImplementedError

    def boundary_ids(self, cursor: dict[str, Any]) -> set[str]:
        """Ids an inclusive cursor may read again (records stamped exactly at the cursor)."""
        return set()

    def fail_next(self, status: int, *, times: int = 1, retry_after: str | None = None) -> None:
        """Optional: answer the next ``times`` requests with ``status`` (vendor error body)."""
        raise NotImplementedError

    def fail_with_garbage(self) -> None:
        """Optional: answer the next request with 200 and a body that is not JSON."""
        raise NotImplementedError

    def fail_on_page(self, page: int) -> None:
        """Optional: keep failing with 500 on 1-based ``page`` until the next reset."""
        raise NotImplementedError

    @asynccontextmanager
    async def connect(self, sleep: RecordingSleep | None = None) -> AsyncIterator[Connector[Any]]:
        """A connector on ``config()`` with an injected httpx client and sleep."""
        config = parse_config(self.connector_class, self.config())
        async with httpx.AsyncClient(timeout=10) as client:
            kwargs: dict[str, Any] = {"http_client": client}
            if issubclass(self.connector_class, RestConnector):
                kwargs["sleep"] = sleep or RecordingSleep()
            connector = self.connector_class(config, **kwargs)
            try:
                yield connector
            finally:
                await connector.aclose()

    async def read(
        self, context: SyncContext | None = None, sleep: RecordingSleep | None = None
    ) -> StreamRun:
        """Run the harness's stream once (a full run unless ``context`` says otherwise)."""
        async with self.connect(sleep) as connector:
            return await read_stream(connector, self.stream, context or SyncContext(now()))


def registered_slugs() -> list[str]:
    """Slugs of every registered connector (loading them; a broken one fails loudly)."""
    return sorted(load_connectors())


def harness_class(slug: str) -> type[ConnectorHarness] | None:
    """The ``Harness`` class in ``tests/connectors/<slug>/harness.py``; None when absent."""
    module_name = HARNESS_MODULE.format(slug=slug)
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as err:
        if err.name is not None and module_name.startswith(err.name):
            return None
        raise
    harness = getattr(module, "Harness", None)
    if not (isinstance(harness, type) and issubclass(harness, ConnectorHarness)):
        raise TypeError(f"{module_name}.Harness must be a ConnectorHarness subclass")
    return harness


def assert_no_secret(harness: ConnectorHarness, error: BaseException) -> None:
    """Fail when a secret of the harness's config appears in the error text."""
    text = f"{error} {getattr(error, 'details', '')}"
    for secret in harness.secrets():
        assert secret not in text, "an error message contains a secret"


def _needs(harness: ConnectorHarness, flag: str) -> None:
    if not getattr(harness, flag):
        pytest.skip(f"{harness.connector_class.slug}: {flag} = False")


async def _read_with_hashes(harness: ConnectorHarness) -> tuple[StoredHashes, StreamRun]:
    """Skip unless the stream is ``pure_normalize``; else a first read and its source hashes."""
    stream = next(s for s in harness.connector_class.streams if s.name == harness.stream)
    if not stream.pure_normalize:
        pytest.skip(f"{harness.connector_class.slug}.{harness.stream}: pure_normalize = False")
    harness.reset(records=harness.page_size * 2 + 3)
    stored = StoredHashes()
    first = await harness.read(SyncContext(now(), known=stored))
    assert set(first.ids) == harness.source_ids() and first.unchanged == []
    assert set(first.source_hashes) == set(first.ids), "record_id(raw) differs from source_id"
    stored.hashes = first.source_hashes
    return stored, first


class ConnectorContract:
    """The generated tests; subclass it in a test module that provides a ``harness`` fixture."""

    def test_config_schema_renders_and_hides_secrets(self, harness: ConnectorHarness) -> None:
        """The JSON schema has titled fields; secret fields are write-only passwords."""
        schema = harness.connector_class.config_schema()
        properties = schema["properties"]
        assert properties and all("title" in spec for spec in properties.values())
        for name in harness.connector_class.secret_fields():
            assert properties[name].get("writeOnly") is True
            assert properties[name].get("format") == "password"
        parse_config(harness.connector_class, harness.config())

    def test_invalid_config_names_the_field(self, harness: ConnectorHarness) -> None:
        """Each invalid config is a ConfigError naming the field, with no secret in it."""
        cases = harness.invalid_configs()
        assert cases, "the harness lists no invalid configs"
        for raw, field_name in cases:
            with pytest.raises(ConfigError) as caught:
                parse_config(harness.connector_class, raw)
            assert field_name in caught.value.message
            assert field_name in caught.value.details["fields"]
            assert_no_secret(harness, caught.value)

    async def test_reads_every_record_of_many_pages_once(self, harness: ConnectorHarness) -> None:
        """Three and a bit pages: every record once, nothing else."""
        harness.reset(records=harness.page_size * 3 + 2)
        run = await harness.read()
        assert len(run.ids) == len(set(run.ids)), "a record was read twice"
        assert set(run.ids) == harness.source_ids()
        assert len(run.cursors) >= 4, "expected one page per request"
        assert all(c is None for c in run.cursors[:-1]), "only the last page carries the cursor"

    async def test_empty_source_reads_nothing(self, harness: ConnectorHarness) -> None:
        """No records: the run succeeds with none."""
        harness.reset(records=0)
        assert (await harness.read()).records == []

    async def test_incremental_run_reads_only_changes(self, harness: ConnectorHarness) -> None:
        """After a full run, an incremental run from its cursor sees exactly the changes."""
        _needs(harness, "incremental")
        harness.reset(records=harness.page_size * 2 + 3)
        first = await harness.read(SyncContext(now()))
        assert first.cursor is not None, "a full run saved no cursor"
        changed = harness.change(2)
        second = await harness.read(SyncContext(now(), "incremental", first.cursor))
        seen = set(second.ids)
        assert changed <= seen, "an incremental run missed a changed record"
        assert seen - changed <= harness.boundary_ids(first.cursor)
        assert second.cursor is not None
        assert harness.cursor_time(second.cursor) >= harness.cursor_time(first.cursor)
        third = await harness.read(SyncContext(now(), "incremental", second.cursor))
        assert set(third.ids) <= harness.boundary_ids(second.cursor)

    async def test_cursor_never_passes_the_signpost(self, harness: ConnectorHarness) -> None:
        """A record stamped after the run started is read again next time."""
        _needs(harness, "incremental")
        harness.reset(records=harness.page_size + 1)
        started = now()
        future = harness.change(1, at=started + timedelta(hours=1))
        run = await harness.read(SyncContext(started))
        assert run.cursor is not None
        assert harness.cursor_time(run.cursor) <= started
        again = await harness.read(SyncContext(now(), "incremental", run.cursor))
        assert future <= set(again.ids)

    async def test_failure_mid_run_yields_no_cursor(self, harness: ConnectorHarness) -> None:
        """A page that keeps failing ends the run with an error; no page carried a cursor."""
        _needs(harness, "http_faults")
        harness.reset(records=harness.page_size * 4)
        harness.fail_on_page(3)
        pages: list[dict[str, Any] | None] = []
        with pytest.raises(TransientSourceError) as caught:
            async with harness.connect() as connector:
                stream = next(s for s in connector.get_streams() if s.name == harness.stream)
                async for page in stream.pages(SyncContext(now())):
                    pages.append(page.cursor)
        assert len(pages) == 2 and pages == [None, None]
        assert_no_secret(harness, caught.value)

    async def test_pure_stream_skips_unchanged_records(self, harness: ConnectorHarness) -> None:
        """Read again with the first read's source hashes: nothing is normalized again."""
        stored, first = await _read_with_hashes(harness)
        again = await harness.read(SyncContext(now(), known=stored))
        assert again.records == [], "unchanged records were normalized again"
        assert sorted(again.unchanged) == sorted(first.ids)

    async def test_pure_stream_normalizes_a_changed_record(self, harness: ConnectorHarness) -> None:
        """Exactly the record changed in the source is normalized again."""
        stored, first = await _read_with_hashes(harness)
        try:
            changed = harness.change(1)
        except NotImplementedError:
            pytest.skip(f"{harness.connector_class.slug}: the harness cannot change a record")
        again = await harness.read(SyncContext(now(), known=stored))
        assert set(again.ids) == changed
        assert set(again.unchanged) == set(first.ids) - changed

    async def test_retry_after_is_honoured(self, harness: ConnectorHarness) -> None:
        """A 429 with Retry-After: 7 is waited 7 s, then the run completes."""
        _needs(harness, "http_faults")
        harness.reset(records=harness.page_size * 2)
        harness.fail_next(429, retry_after="7")
        sleep = RecordingSleep()
        run = await harness.read(sleep=sleep)
        assert 7 in sleep.waits
        assert set(run.ids) == harness.source_ids()

    @pytest.mark.parametrize(
        ("status", "error"),
        [
            (401, SourceAuthError),
            (403, SourceAuthError),
            (404, FatalSourceError),
            (400, FatalSourceError),
        ],
    )
    async def test_status_maps_to_error(
        self, harness: ConnectorHarness, status: int, error: type[PipError]
    ) -> None:
        """Refused credentials need reconnecting; other 4xx are fatal; all name the status."""
        _needs(harness, "http_faults")
        harness.reset(records=3)
        harness.fail_next(status, times=10)
        with pytest.raises(error) as caught:
            await harness.read()
        assert str(status) in caught.value.message
        assert_no_secret(harness, caught.value)

    async def test_garbage_is_fatal(self, harness: ConnectorHarness) -> None:
        """A 200 whose body is not JSON is a FatalSourceError saying so."""
        _needs(harness, "http_faults")
        harness.reset(records=3)
        harness.fail_with_garbage()
        with pytest.raises(FatalSourceError, match="not JSON"):
            await harness.read()

    async def test_5xx_burst_then_success(self, harness: ConnectorHarness) -> None:
        """Two 503s then normal answers: retried with backoff, every record read."""
        _needs(harness, "http_faults")
        harness.reset(records=harness.page_size + 1)
        harness.fail_next(503, times=2)
        sleep = RecordingSleep()
        run = await harness.read(sleep=sleep)
        assert len(sleep.waits) == 2 and all(w > 0 for w in sleep.waits)
        assert set(run.ids) == harness.source_ids()

    async def test_endless_5xx_gives_up(self, harness: ConnectorHarness) -> None:
        """A source that keeps failing gives a TransientSourceError after bounded attempts."""
        _needs(harness, "http_faults")
        harness.reset(records=3)
        harness.fail_next(500, times=100)
        sleep = RecordingSleep()
        with pytest.raises(TransientSourceError, match="gave up after"):
            await harness.read(sleep=sleep)
        assert 0 < len(sleep.waits) < 100

    async def test_discover_lists_streams_with_sensitivities(
        self, harness: ConnectorHarness
    ) -> None:
        """Every declared stream, with typed fields and the canonical sensitivities."""
        async with harness.connect() as connector:
            infos = await connector.discover()
        declared = [s.name for s in harness.connector_class.streams]
        assert [info.name for info in infos] == declared
        for info, stream_class in zip(infos, harness.connector_class.streams, strict=True):
            assert info.fields, f"stream {info.name} reports no fields"
            assert all(isinstance(f.sensitivity, Sensitivity) for f in info.fields)
            by_name = {f.name: f.sensitivity for f in info.fields}
            for name, sensitivity in stream_class.record_model.default_sensitivity.items():
                assert by_name[name] >= sensitivity, f"{info.name}.{name} is under-classified"

    async def test_connection_reports_success_and_refusal(self, harness: ConnectorHarness) -> None:
        """``test_connection`` says ok against the fake, and needs-reconnect on a 401."""
        harness.reset(records=2)
        async with harness.connect() as connector:
            assert (await connector.test_connection()).ok
        if not harness.http_faults:
            return
        harness.fail_next(401, times=10)
        async with harness.connect() as connector:
            result = await connector.test_connection()
        assert not result.ok and result.error_code == SourceAuthError.code
        assert all(secret not in result.message for secret in harness.secrets())
