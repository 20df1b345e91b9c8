"""The sync scheduler: one APScheduler interval job per enabled connection.

Jobs are jittered (``PIP_SCHEDULER_JITTER_SECONDS``) so syncs don't storm,
coalesced, one instance at a time, and given a misfire grace. A job skips a
connection that is paused, disabled, needs a reconnect, or whose circuit is
open (see ``breaker``). Running the sync is the ``runner``'s business (the
runtime's ``run_sync`` with its keys, locks and HTTP client); a run already
going on another replica is a ConflictError, logged and skipped.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

from apscheduler.job import Job
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from connectors.base import registry
from pip_service.config import Settings
from pip_service.connections.models import Connection
from pip_service.db.base import utcnow
from pip_service.errors import ConflictError, PipError
from pip_service.sync.breaker import NEEDS_RECONNECT, PAUSED, is_open
from pip_service.sync.engine import SyncResult
from pip_service.sync.intervals import effective_interval

logger = logging.getLogger(__name__)

Runner = Callable[[int, str], Awaitable[SyncResult]]
JOB_PREFIX, NOW_PREFIX = "sync-", "sync-now-"
MAX_MISFIRE_GRACE = 300


class SyncScheduler:
    """Keeps one interval job per schedulable connection and runs it through ``runner``."""

    def __init__(
        self,
        *,
        settings: Settings,
        sessions: async_sessionmaker[AsyncSession],
        runner: Runner,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.settings = settings
        self.sessions = sessions
        self.runner = runner
        self.clock = clock
        self.scheduler = AsyncIOScheduler(timezone="UTC")

    async def start(self) -> None:
        """Start the scheduler (inside the running event loop) and schedule every connection."""
        self.scheduler.start()
        await self.refresh()

    def shutdown(self) -> None:
        """Stop scheduling; runs already going are not interrupted."""
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)

    async def refresh(self) -> None:
        """Reconcile jobs with the connections table (added, changed, removed)."""
        async with self.sessions() as session:
            connections = list(await session.scalars(select(Connection)))
        for connection in connections:
            try:
                self.schedule(connection)
            except PipError as err:  # e.g. its connector type is no longer installed
                logger.error("cannot schedule connection %s: %s", connection.id, err.message)
        known = {connection.id for connection in connections}
        for connection_id in self.scheduled():
            if connection_id not in known:
                self.unschedule(connection_id)

    def schedule(self, connection: Connection) -> Job | None:
        """Add or update the connection's job; remove it when the connection is not schedulable."""
        if not connection.enabled or connection.state == PAUSED:
            self.unschedule(connection.id)
            return None
        interval = self.interval_of(connection)
        current = self.scheduler.get_job(_job_id(connection.id))
        if current is not None and _same_interval(current, interval):
            return current
        return self.scheduler.add_job(
            self.run_job,
            trigger=IntervalTrigger(
                seconds=interval.total_seconds(), jitter=self.settings.scheduler_jitter_seconds
            ),
            args=[connection.id],
            id=_job_id(connection.id),
            name=f"sync {connection.name}",
            replace_existing=True,
            coalesce=True,
            max_instances=1,
            misfire_grace_time=int(min(interval.total_seconds(), MAX_MISFIRE_GRACE)),
        )

    def unschedule(self, connection_id: int) -> None:
        """Remove the connection's job, if any."""
        if self.scheduler.get_job(_job_id(connection_id)) is not None:
            self.scheduler.remove_job(_job_id(connection_id))

    def scheduled(self) -> dict[int, Job]:
        """The interval jobs by connection id."""
        return {
            int(job.id.removeprefix(JOB_PREFIX)): job
            for job in self.scheduler.get_jobs()
            if job.id.startswith(JOB_PREFIX) and not job.id.startswith(NOW_PREFIX)
        }

    def interval_of(self, connection: Connection) -> timedelta:
        """The connection's effective interval (see ``intervals.effective_interval``)."""
        connector_class = registry.get_connector_class(connection.connector_type)
        return effective_interval(connection, connector_class, self.settings)

    def trigger_now(self, connection_id: int) -> None:
        """Run the connection's sync as soon as possible, even while its circuit is open."""
        self.scheduler.add_job(
            self.run_job,
            trigger="date",
            run_date=self.clock(),
            args=[connection_id, "manual", True],
            id=f"{NOW_PREFIX}{connection_id}",
            replace_existing=True,
            misfire_grace_time=MAX_MISFIRE_GRACE,
        )

    async def run_job(
        self, connection_id: int, trigger: str = "schedule", force: bool = False
    ) -> SyncResult | None:
        """One job execution: run the sync unless the connection should be skipped."""
        async with self.sessions() as session:
            connection = await session.get(Connection, connection_id)
        if connection is None:
            self.unschedule(connection_id)
            return None
        reason = self.skip_reason(connection, force=force)
        if reason is not None:
            logger.info("skipping sync of connection %s: %s", connection_id, reason)
            return None
        return await self._run(connection_id, trigger)

    def skip_reason(self, connection: Connection, *, force: bool = False) -> str | None:
        """Why a job would not run the connection now (None: it would)."""
        if not connection.enabled or connection.state == PAUSED:
            return "paused"
        if connection.state == NEEDS_RECONNECT:
            return "needs reconnect"
        if not force and is_open(connection, self.clock()):
            return f"circuit open until {connection.circuit_open_until}"
        return None

    async def _run(self, connection_id: int, trigger: str) -> SyncResult | None:
        try:
            result = await self.runner(connection_id, trigger)
        except ConflictError:
            logger.info("sync of connection %s is already running elsewhere", connection_id)
            return None
        except PipError as err:
            logger.warning("scheduled sync of connection %s: %s", connection_id, err.message)
            return None
        if result.status != "success":
            logger.warning(
                "scheduled sync of connection %s %s: %s", connection_id, result.status, result.error
            )
        return result


def _job_id(connection_id: int) -> str:
    return f"{JOB_PREFIX}{connection_id}"


def _same_interval(job: Job, interval: timedelta) -> bool:
    trigger: Any = job.trigger
    return isinstance(trigger, IntervalTrigger) and trigger.interval == interval
