"""The runtime: settings, database, cache, keys, locks, documents and scheduler, wired once.

``start()`` prepares the database (migrations for the embedded SQLite; a
schema check for PostgreSQL, which is migrated explicitly with
``pip-service migrate``), loads the connectors, fills the cache from the last
good documents and starts the scheduler. After a sync commits, ``on_committed``
rebuilds the documents fed by the entity kinds that changed.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable, Collection, Iterable, Mapping
from contextlib import asynccontextmanager
from dataclasses import replace
from typing import Any

import httpx
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import func, select
from sqlalchemy.engine import Connection as SyncConnection
from sqlalchemy.ext.asyncio import AsyncEngine

from connectors.base import registry
from connectors.base.connector import ConnectionTestResult, Connector, StreamInfo
from opal.publisher import OpalPublisher
from pip_service.api.metrics import MeteredCache, Metrics
from pip_service.audit.service import record_event
from pip_service.auth.service import TokenAuthenticator
from pip_service.cache import create_cache
from pip_service.config import Settings
from pip_service.connections.models import Connection
from pip_service.connections.service import connection_secrets, get_connection, load_connector
from pip_service.db.migrate import alembic_config, upgrade_async
from pip_service.db.session import create_engine, is_sqlite, session_factory, transaction
from pip_service.documents.catalog import document_names, documents_for
from pip_service.documents.service import DocumentService
from pip_service.errors import ConfigError, UnavailableError
from pip_service.logging import (
    correlation_scope,
    get_correlation_id,
    redact,
    register_secret,
    register_settings_secrets,
)
from pip_service.secrets.crypto import KeyRing
from pip_service.secrets.rotation import check_stored_keys
from pip_service.sync.breaker import BreakerPolicy
from pip_service.sync.engine import RequestedMode, SyncResult, run_sync
from pip_service.sync.locks import already_running, make_locks
from pip_service.sync.models import SyncRun
from pip_service.sync.progress import ProgressCallback
from pip_service.sync.scheduler import SyncScheduler
from pip_service.webhooks.apply import WebhookApplier
from pip_service.webhooks.subscriptions import schedule_subscription_renewal

logger = logging.getLogger(__name__)

HttpClientFactory = Callable[[], httpx.AsyncClient]
USER_AGENT = "pip-service"
RUN_START_TIMEOUT = 15.0


def default_http_client() -> httpx.AsyncClient:
    """The HTTP client connectors get: timeouts, redirects off, a user agent."""
    return httpx.AsyncClient(
        timeout=httpx.Timeout(30.0, connect=10.0), headers={"User-Agent": USER_AGENT}
    )


class Runtime:
    """Everything a running service holds, created once and shared by API, CLI and scheduler."""

    def __init__(
        self, settings: Settings, *, http_client_factory: HttpClientFactory | None = None
    ) -> None:
        self.settings = settings
        self.engine = create_engine(settings.database_url)
        self.sessions = session_factory(self.engine)
        self.metrics = Metrics()
        self.cache = MeteredCache(create_cache(settings), self.metrics)
        self.keyring = KeyRing.from_settings(settings)
        self.locks = make_locks(settings)
        self.auth = TokenAuthenticator(settings, self.sessions)
        self.documents = DocumentService(self.sessions, self.cache, settings)
        self.http_client_factory = http_client_factory or default_http_client
        self.started = False
        self.breaker = BreakerPolicy.from_settings(settings)
        self.scheduler: SyncScheduler | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._running: dict[int, tuple[asyncio.Task[Any], asyncio.Event]] = {}
        self.publisher = OpalPublisher(
            settings, lambda: self.documents, self.sessions, deltas=self.documents.deltas
        )
        self.webhooks = WebhookApplier(self)

    async def start(self) -> None:
        """Prepare the database, load connectors, warm the cache, start the scheduler."""
        if self.started:
            return
        register_settings_secrets(self.settings)
        await prepare_database(self.settings.database_url, self.engine)
        await check_stored_keys(self.sessions, self.keyring)  # a wrong/missing key fails here
        registry.load_connectors()
        await self._build_missing_documents()
        await self.publisher.prime(document_names(with_meta=False))
        if self.settings.scheduler_enabled:
            self.scheduler = SyncScheduler(
                settings=self.settings, sessions=self.sessions, runner=self._scheduled_run
            )
            await self.scheduler.start()
            schedule_subscription_renewal(self)  # Graph subscriptions: create, renew
        self.started = True
        logger.info("runtime started (database: %s)", _backend(self.settings.database_url))

    async def stop(self) -> None:
        """Stop background work and release connections."""
        if not self.started:
            return
        if self.scheduler is not None:
            self.scheduler.shutdown()
            self.scheduler = None
        await self.webhooks.aclose()
        await self.publisher.aclose()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.locks.aclose()
        await self.cache.close()
        await self.engine.dispose()
        self.started = False

    async def check_ready(self) -> dict[str, str]:
        """Each dependency's state: ``ok`` or why not."""
        return {"database": await self._check_database(), "cache": await self._check_cache()}

    async def _check_database(self) -> str:
        try:
            async with self.engine.connect() as conn:
                await conn.exec_driver_sql("SELECT 1")
        except Exception as err:  # any driver error means not ready
            logger.warning("readiness: database unavailable: %s", type(err).__name__)
            return "unavailable"
        return "ok"

    async def _check_cache(self) -> str:
        return "ok" if await self.cache.ping() else "unavailable"

    @asynccontextmanager
    async def connector_for(self, connection: Connection) -> AsyncIterator[Connector[Any]]:
        """A configured connector with its own HTTP client, closed afterwards."""
        for secret in connection_secrets(connection, self.keyring).values():
            register_secret(secret)
        async with self.http_client_factory() as http_client:
            connector = load_connector(
                connection, keyring=self.keyring, http_client=http_client, sessions=self.sessions
            )
            try:
                yield connector
            finally:
                await connector.aclose()

    async def test_connection(self, connection: Connection) -> ConnectionTestResult:
        """Run the connector's own connection test."""
        async with self.connector_for(connection) as connector:
            result = await connector.test_connection()
        return replace(result, message=redact(result.message))

    async def discover(self, connection: Connection) -> list[StreamInfo]:
        """The connector's streams with fields and sensitivity."""
        async with self.connector_for(connection) as connector:
            return await connector.discover()

    async def refresh_schedule(self) -> None:
        """Re-read connections into the scheduler (after one was created, changed or deleted)."""
        if self.scheduler is not None:
            await self.scheduler.refresh()

    async def _scheduled_run(self, connection_id: int, trigger: str) -> SyncResult:
        """The scheduler's runner: a run that ``cancel_sync`` can stop, like a manual one."""
        if connection_id in self._running:
            raise already_running(connection_id)
        cancel = asyncio.Event()
        task = asyncio.current_task()
        assert task is not None
        self._running[connection_id] = (task, cancel)
        try:
            return await self.run_connection(connection_id, trigger=trigger, cancel=cancel)
        finally:
            if self._running.get(connection_id, (None,))[0] is task:
                del self._running[connection_id]

    async def run_connection(
        self,
        connection_id: int,
        *,
        mode: RequestedMode = None,
        trigger: str = "manual",
        on_progress: ProgressCallback | None = None,
        cancel: asyncio.Event | None = None,
        force: bool = False,
    ) -> SyncResult:
        """Run one sync now (in this task), with a correlation id, metrics and document rebuild.

        A full run may mark deleted at most ``PIP_SYNC_MAX_DELETE_FRACTION`` of a stream's
        records unless ``force`` (the run fails with ``mass_deletion_refused`` otherwise).
        """
        limit = None if force else self.settings.sync_max_delete_fraction
        began = time.monotonic()
        with correlation_scope(get_correlation_id()):  # the request's, else a new one
            async with self.http_client_factory() as http_client:
                result = await run_sync(
                    sessions=self.sessions, connection_id=connection_id, mode=mode,
                    trigger=trigger, keyring=self.keyring, locks=self.locks,
                    http_client=http_client, on_progress=on_progress, cancel=cancel,
                    on_committed=self.on_committed, breaker=self.breaker,
                    max_delete_fraction=limit,
                )  # fmt: skip
        await self._observe(result, time.monotonic() - began)
        return result

    async def on_committed(self, result: SyncResult) -> None:
        """Rebuild the documents fed by the entity kinds the run changed; mark the rest fresh."""
        changed = sorted(result.changed_entities)
        logger.info("sync run %s committed; changed: %s", result.run_id, ", ".join(changed) or "-")
        if changed:
            await self.documents.rebuild(changed, refreshed_connections=[result.connection_id])
            await self.publish(changed, reason=f"sync run {result.run_id}")
        else:
            await self.documents.mark_refreshed(result.connection_id)

    async def rebuild_documents(
        self,
        entities: Iterable[str] | None = None,
        *,
        changed_keys: Mapping[str, Collection[str]] | None = None,
    ) -> None:
        """Rebuild the documents fed by ``entities`` (every document when None).

        ``changed_keys`` names every changed record's entity key by kind, when known
        (a webhook's objects), so the rebuild can patch entities instead of building.
        """
        if entities is None or set(entities):
            await self.documents.rebuild(entities, changed_keys=changed_keys)
            await self.publish(entities, reason="rebuild")

    async def publish(self, entities: Iterable[str] | None, *, reason: str) -> None:
        """Publish to OPAL the documents fed by ``entities`` whose revision moved (never raises)."""
        names = [spec.name for spec in documents_for(entities)]
        try:
            await self.publisher.publish(names, reason=reason)
        except Exception:  # publishing must never undo or fail a committed change
            logger.exception("publishing %s to OPAL failed", ", ".join(names))

    async def _build_missing_documents(self) -> None:
        if not all(info.built for info in await self.documents.list()):
            logger.info("building the documents that were never built")
            await self.documents.rebuild(None)

    async def _observe(self, result: SyncResult, seconds: float) -> None:
        async with self.sessions() as session:
            name = await session.scalar(
                select(Connection.name).where(Connection.id == result.connection_id)
            )
        counts = {
            "fetched": result.fetched, "created": result.created, "updated": result.updated,
            "unchanged": result.unchanged, "deleted": result.deleted,
        }  # fmt: skip
        self.metrics.observe_run(name or str(result.connection_id), result.status, seconds, counts)

    async def trigger_sync(
        self, connection_id: int, *, mode: RequestedMode, actor: str, force: bool = False
    ) -> int:
        """Start a sync in the background; returns its run id once the run row exists."""
        if connection_id in self._running:
            raise already_running(connection_id)
        async with self.sessions() as session:
            await get_connection(session, connection_id)
            baseline = await session.scalar(select(func.max(SyncRun.id))) or 0
        cancel = asyncio.Event()
        task = asyncio.create_task(
            self.run_connection(connection_id, mode=mode, cancel=cancel, force=force)
        )
        self._track(connection_id, task, cancel)
        run_id = await self._run_id_of(task, connection_id, baseline)
        async with transaction(self.sessions) as session:
            await record_event(
                session, actor=actor, action="sync.trigger", target_type="connection",
                target_id=connection_id,
                details={"run_id": run_id, "mode": mode or "auto", "force": force},
            )  # fmt: skip
        return run_id

    async def cancel_sync(self, connection_id: int, *, actor: str) -> bool:
        """Ask this replica's running sync of a connection to stop; False if none runs here."""
        running = self._running.get(connection_id)
        if running is None:
            return False
        running[1].set()
        async with transaction(self.sessions) as session:
            await record_event(
                session, actor=actor, action="sync.cancel", target_type="connection",
                target_id=connection_id,
            )  # fmt: skip
        return True

    def _track(self, connection_id: int, task: asyncio.Task[Any], cancel: asyncio.Event) -> None:
        self._running[connection_id] = (task, cancel)
        self._tasks.add(task)

        def done(finished: asyncio.Task[Any]) -> None:
            self._tasks.discard(finished)
            if self._running.get(connection_id, (None,))[0] is finished:
                del self._running[connection_id]
            if not finished.cancelled() and finished.exception() is not None:
                error = finished.exception()
                logger.warning("background sync of connection %s: %s", connection_id, error)

        task.add_done_callback(done)

    async def _run_id_of(self, task: asyncio.Task[Any], connection_id: int, baseline: int) -> int:
        """The id of the run ``task`` opened (its row appears once the lock is held)."""
        deadline = time.monotonic() + RUN_START_TIMEOUT
        while time.monotonic() < deadline:
            if task.done():
                return int(task.result().run_id)
            async with self.sessions() as session:
                run_id = await session.scalar(
                    select(func.min(SyncRun.id)).where(
                        SyncRun.connection_id == connection_id, SyncRun.id > baseline
                    )
                )
            if run_id is not None:
                return int(run_id)
            await asyncio.sleep(0.02)
        raise UnavailableError("The sync did not start in time; see the sync runs list")


async def prepare_database(url: str, engine: AsyncEngine) -> None:
    """Migrate the embedded SQLite; require PostgreSQL to be at head already (ConfigError)."""
    if is_sqlite(url):
        await upgrade_async(url)
        return
    head = ScriptDirectory.from_config(alembic_config(url)).get_current_head()
    async with engine.connect() as conn:
        current = await conn.run_sync(_current_revision)
    if current != head:
        raise ConfigError(
            f"The database schema is at revision {current or 'none'} but this version needs "
            f"{head}: run `pip-service migrate` first",
            code="schema_outdated",
        )


def _current_revision(connection: SyncConnection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


def _backend(url: str) -> str:
    return "sqlite" if url.startswith("sqlite") else "postgresql"
