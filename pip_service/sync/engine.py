"""The sync engine: run one connection's streams into records, all or nothing.

A run holds the connection's lock, opens a ``sync_runs`` row, reads every stream
page by page (staging only new or changed records), then applies everything in
one transaction together with the cursors, the run row and the connection's
bookkeeping. A failed, cancelled or killed run changes no record and no cursor.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import traceback
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Collection, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from connectors.base.connector import Connector
from connectors.base.errors import PipError, SourceAuthError
from connectors.base.stream import Page
from pip_service.connections.models import Connection
from pip_service.connections.service import connection_secrets, load_connector
from pip_service.db.base import utcnow
from pip_service.errors import NotFoundError
from pip_service.secrets.crypto import KeyRing
from pip_service.sync.breaker import BreakerPolicy, record_success
from pip_service.sync.cursors import load_cursors, save_cursors
from pip_service.sync.locks import Lease, SyncLocks
from pip_service.sync.models import SyncRun
from pip_service.sync.planning import StreamPlan, plan_streams, resolve_mode
from pip_service.sync.progress import ProgressCallback, ProgressTracker
from pip_service.sync.runs import CANCELLED, FAILED, SUCCESS, Failure, close_unsuccessful, open_run
from pip_service.sync.staging import Stored, stage_removals, stage_source_hashes, stage_upserts
from pip_service.sync.stored import StoredLookup
from pip_service.sync.writer import Applied, RecordRow, apply_staged, refresh_statistics, to_row

logger = logging.getLogger(__name__)

RequestedMode = Literal["full", "incremental"] | None
_NOTHING_STORED: Stored = ("", None)
Sessions = async_sessionmaker[AsyncSession]


@dataclass(frozen=True)
class SyncResult:
    """The outcome of one run, as stored in its ``sync_runs`` row."""

    run_id: int
    connection_id: int
    status: str
    mode: str
    fetched: int
    created: int
    updated: int
    unchanged: int
    deleted: int
    changed_entities: set[str]
    error_code: str | None
    error: str | None
    correlation_id: str


class RunStoppedError(PipError):
    """The run was told to stop (cancelled) or lost its lock."""

    code = "cancelled"


async def run_sync(
    *,
    sessions: Sessions,
    connection_id: int,
    mode: RequestedMode = None,
    trigger: str = "manual",
    keyring: KeyRing,
    locks: SyncLocks,
    http_client: httpx.AsyncClient | None = None,
    on_progress: ProgressCallback | None = None,
    cancel: asyncio.Event | None = None,
    on_committed: Callable[[SyncResult], Awaitable[None]] | None = None,
    breaker: BreakerPolicy | None = None,
    correlation_id: str | None = None,
    max_delete_fraction: float | None = None,
) -> SyncResult:
    """Run one sync of a connection; ConflictError when one is already running.

    ``mode=None`` is incremental when every stream can resume from a saved cursor
    (and no periodic full reconcile is due), else full. ``on_committed`` is awaited
    after a successful commit, outside the lock; its errors propagate.
    ``correlation_id`` ties the run row to a request's logs (a new uuid4 hex if None).
    ``max_delete_fraction``: a full run that would mark deleted more than this share of
    a stream's records fails (``mass_deletion_refused``) and applies nothing; None: no limit.
    """
    async with locks.hold(connection_id) as lease:
        job = _Job(sessions, connection_id, keyring, lease, cancel or asyncio.Event())
        job.correlation_id = correlation_id or uuid.uuid4().hex
        job.max_delete_fraction = max_delete_fraction
        result = await job.execute(mode, trigger, http_client, on_progress, breaker)
    if result.status == SUCCESS and on_committed is not None:
        await on_committed(result)
    return result


@dataclass
class _Tally:
    """What one stream produced in this run (kept in memory until commit)."""

    plan: StreamPlan
    stored: StoredLookup
    seen: dict[str, bool] = field(default_factory=dict)  # external id → staged
    fetched: int = 0
    cursor: dict[str, Any] | None = None

    def unchanged(self) -> int:
        return sum(1 for staged in self.seen.values() if not staged)


class _Job:
    """One run of one connection, under its lock."""

    def __init__(
        self,
        sessions: Sessions,
        connection_id: int,
        keyring: KeyRing,
        lease: Lease,
        cancel: asyncio.Event,
    ) -> None:
        self.sessions = sessions
        self.connection_id = connection_id
        self.keyring = keyring
        self.lease = lease
        self.cancel = cancel
        self.tallies: list[_Tally] = []
        self.secrets: list[str] = []
        self.correlation_id = uuid.uuid4().hex
        self.max_delete_fraction: float | None = None

    async def execute(
        self,
        mode: RequestedMode,
        trigger: str,
        http_client: httpx.AsyncClient | None,
        on_progress: ProgressCallback | None,
        breaker: BreakerPolicy | None,
    ) -> SyncResult:
        connection = await self._connection()
        run = await open_run(
            self.sessions,
            connection_id=self.connection_id,
            mode=mode or "auto",
            trigger=trigger,
            correlation_id=self.correlation_id,
        )
        self.tracker = ProgressTracker(
            run_id=run.id, connection_id=self.connection_id, callback=on_progress
        )
        try:
            return await self._attempt(connection, run, mode, http_client)
        except asyncio.CancelledError:
            stopped = self._failure(_stopped("the sync task was cancelled"))
            await asyncio.shield(self._fail(run, stopped, breaker))
            raise
        except Exception as err:  # every failure ends in the run row, never half-applied
            return await self._fail(run, self._failure(err), breaker)

    async def _connection(self) -> Connection:
        async with self.sessions() as session:
            connection = await session.get(Connection, self.connection_id)
        if connection is None:
            raise NotFoundError(f"connection {self.connection_id} does not exist")
        return connection

    async def _attempt(
        self,
        connection: Connection,
        run: SyncRun,
        mode: RequestedMode,
        http_client: httpx.AsyncClient | None,
    ) -> SyncResult:
        self.secrets = list(connection_secrets(connection, self.keyring).values())
        connector = load_connector(
            connection, keyring=self.keyring, http_client=http_client, sessions=self.sessions
        )
        try:
            run.mode = await self._plan(connector, connection, mode)
            await self._fetch_all(run)
            self._raise_if_stopped()
            return await self._commit(connection, run)
        finally:
            await connector.aclose()

    async def _plan(
        self, connector: Connector[Any], connection: Connection, mode: RequestedMode
    ) -> str:
        async with self.sessions() as session:
            cursors = await load_cursors(session, self.connection_id)
            resolved = await resolve_mode(session, connection, connector, mode, cursors)
        self.tallies = [
            _Tally(plan, self._stored(plan)) for plan in plan_streams(connector, resolved, cursors)
        ]
        return resolved

    async def _fetch_all(self, run: SyncRun) -> None:
        async with _stop_signal(self.cancel, self.lease.lost) as stop:
            for tally in self.tallies:
                pages = tally.plan.pages(run.started_at, known=tally.stored.source_hashes)
                try:
                    while (page := await self._next_page(pages, stop)) is not None:
                        await self._take(run, tally, page)
                except RunStoppedError:
                    self._raise_if_stopped()
                    raise
                finally:
                    await _close_pages(pages)

    async def _next_page(
        self, pages: AsyncIterator[Page], stop: asyncio.Future[Any]
    ) -> Page | None:
        self._raise_if_stopped()
        return await _next_page(pages, stop)

    def _stored(self, plan: StreamPlan) -> StoredLookup:
        """The stored hashes of the plan's stream; a full run loads them all up front."""
        return StoredLookup(self.sessions, self.connection_id, plan.stream.name, preload=plan.full)

    async def _take(self, run: SyncRun, tally: _Tally, page: Page) -> None:
        stream = tally.plan.stream
        rows = {
            row.external_id: row
            for row in (to_row(r, page.source_hashes.get(r.source_id)) for r in page.records)
        }
        stored = await tally.stored.get(list(rows))  # the stream's lookup of this page, if any
        changed, rehashed = _changes(rows, stored, tally)
        async with self.sessions() as session:
            await stage_upserts(session, run.id, stream.name, changed)
            await stage_source_hashes(session, run.id, stream.name, rehashed)
            await stage_removals(session, run.id, stream.name, stream.entity.value, page.removed)
            read = len(page.records) + len(page.unchanged)
            progress = self.tracker.page_done(stream.name, read)
            await self.tracker.persist_if_due(session, progress)
            await session.commit()
        _note(tally, page, rows, {row.external_id for row in changed})
        await self.tracker.report(progress)

    async def _commit(self, connection: Connection, run: SyncRun) -> SyncResult:
        now = utcnow()
        async with self.sessions.begin() as session:
            applied = await apply_staged(
                session,
                run_id=run.id,
                connection_id=self.connection_id,
                is_demo=connection.is_demo,
                now=now,
                streams={t.plan.stream.name: t.plan.stream.entity.value for t in self.tallies},
                unseen={t.plan.stream.name: set(t.seen) for t in self.tallies if t.plan.full},
                live_at_start=self._live_at_start(),
                max_delete_fraction=self.max_delete_fraction,
                started_at=run.started_at,
            )
            await save_cursors(
                session, connection_id=self.connection_id, run_id=run.id, cursors=self._cursors()
            )
            result = self._result(run, SUCCESS, applied)
            await _close_success(session, run, result, self.tracker)
        await refresh_statistics(self.sessions, result.created + result.updated + result.deleted)
        logger.info(
            "sync run %s of connection %s committed: %s fetched, %s created, %s updated, "
            "%s deleted",
            run.id, self.connection_id, result.fetched, result.created, result.updated,
            result.deleted,
        )  # fmt: skip
        if applied.superseded:
            logger.info(
                "sync run %s kept the webhook's version of %s record(s) written while it read",
                run.id, applied.superseded,
            )  # fmt: skip
        return result

    def _live_at_start(self) -> dict[str, Collection[str]]:
        found: dict[str, Collection[str]] = {}
        for tally in self.tallies:
            live = tally.stored.live_at_start()
            if tally.plan.full and live is not None:
                found[tally.plan.stream.name] = live
        return found

    def _cursors(self) -> dict[str, dict[str, Any]]:
        return {t.plan.stream.name: t.cursor for t in self.tallies if t.cursor is not None}

    def _raise_if_stopped(self) -> None:
        if self.lease.lost.is_set():
            raise RunStoppedError("the sync lock was lost; the run was abandoned", code="lock_lost")
        if self.cancel.is_set():
            raise _stopped("the sync was cancelled")

    def _result(
        self, run: SyncRun, status: str, applied: Applied | None, failure: Failure | None = None
    ) -> SyncResult:
        return SyncResult(
            run_id=run.id,
            connection_id=self.connection_id,
            status=status,
            mode=run.mode,
            fetched=sum(t.fetched for t in self.tallies),
            created=applied.total("created") if applied else 0,
            updated=applied.total("updated") if applied else 0,
            unchanged=sum(t.unchanged() for t in self.tallies) if applied else 0,
            deleted=applied.total("deleted") if applied else 0,
            changed_entities=applied.changed_entities() if applied else set(),
            error_code=failure.code if failure else None,
            error=failure.message if failure else None,
            correlation_id=run.correlation_id,
        )

    def _failure(self, err: BaseException) -> Failure:
        if isinstance(err, RunStoppedError) and err.code == "cancelled":
            return Failure(CANCELLED, err.code, self._redact(err.message))
        if isinstance(err, PipError):
            auth = isinstance(err, SourceAuthError)
            return Failure(FAILED, err.code, self._redact(err.message), needs_reconnect=auth)
        message = self._redact(f"{type(err).__name__}: {err}")
        tb = "".join(traceback.format_tb(err.__traceback__))
        logger.error("sync of connection %s crashed: %s\n%s", self.connection_id, message, tb)
        return Failure(FAILED, "internal_error", message)

    def _redact(self, text: str) -> str:
        for secret in self.secrets:
            if secret:
                text = text.replace(secret, "[redacted]")
        return text[:2000]

    async def _fail(
        self, run: SyncRun, failure: Failure, breaker: BreakerPolicy | None
    ) -> SyncResult:
        logger.warning(
            "sync run %s of connection %s %s: [%s] %s",
            run.id, self.connection_id, failure.status, failure.code, failure.message,
        )  # fmt: skip
        await close_unsuccessful(
            self.sessions,
            run=run,
            failure=failure,
            tracker=self.tracker,
            policy=breaker or BreakerPolicy(),
        )
        return self._result(run, failure.status, None, failure)


async def _close_pages(pages: AsyncIterator[Page]) -> None:
    aclose = getattr(pages, "aclose", None)
    if aclose is not None:
        await aclose()


def _stopped(message: str) -> RunStoppedError:
    return RunStoppedError(message, code="cancelled")


def _changes(
    rows: dict[str, RecordRow], stored: Mapping[str, Stored], tally: _Tally
) -> tuple[list[RecordRow], list[RecordRow]]:
    """Rows to stage: new or changed content; unchanged content with a new source hash."""
    changed: list[RecordRow] = []
    rehashed: list[RecordRow] = []
    for key, row in rows.items():
        content_hash, source_hash = stored.get(key, _NOTHING_STORED)
        if content_hash != row.content_hash or tally.seen.get(key):
            changed.append(row)
        elif row.source_hash is not None and source_hash != row.source_hash:
            rehashed.append(row)
    return changed, rehashed


def _note(tally: _Tally, page: Page, rows: dict[str, RecordRow], staged: set[str]) -> None:
    tally.fetched += len(page.records) + len(page.unchanged)
    for key in rows:
        tally.seen[key] = key in staged or tally.seen.get(key, False)
    for key in page.unchanged:
        tally.seen.setdefault(key, False)
    for key in page.removed:
        tally.seen.pop(key, None)
    if page.cursor is not None:
        tally.cursor = page.cursor


async def _close_success(
    session: AsyncSession, run: SyncRun, result: SyncResult, tracker: ProgressTracker
) -> None:
    now = utcnow()
    stored = await session.get(SyncRun, run.id)
    assert stored is not None
    stored.mode, stored.status, stored.finished_at = result.mode, SUCCESS, now
    stored.fetched, stored.created, stored.updated = result.fetched, result.created, result.updated
    stored.unchanged, stored.deleted = result.unchanged, result.deleted
    stored.pages, stored.progress = tracker.pages, tracker.as_dict()
    connection = await session.get(Connection, run.connection_id)
    if connection is not None:
        connection.last_sync_at, connection.last_success_at = now, now
        connection.last_sync_status = SUCCESS
        record_success(connection, now)


@contextlib.asynccontextmanager
async def _stop_signal(*events: asyncio.Event) -> AsyncIterator[asyncio.Future[Any]]:
    waits = [asyncio.ensure_future(event.wait()) for event in events]
    stop = asyncio.ensure_future(asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED))
    try:
        yield stop
    finally:
        for task in (*waits, stop):
            task.cancel()
        await asyncio.gather(*waits, stop, return_exceptions=True)


async def _next_page(pages: AsyncIterator[Page], stop: asyncio.Future[Any]) -> Page | None:
    """The next page, or None at the end; RunStoppedError as soon as ``stop`` fires."""
    if stop.done():
        raise _stopped("the sync was cancelled")
    fetch = asyncio.ensure_future(anext(pages, None))
    try:
        await asyncio.wait({fetch, stop}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        if not fetch.done():  # stopped, or this task itself was cancelled
            fetch.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await fetch
    if fetch.cancelled():
        raise _stopped("the sync was cancelled")
    return fetch.result()
