"""Policy documents produced by the service itself from seeded demo data.

The demo connector is synced through the ordinary engine into a fresh SQLite
database, the document service builds the documents, and they are read the
way OPAL reads them (``DocumentService.get``), so policies are tested against
exactly what production would load at ``data.pip``.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from pip_service.config import Settings
from pip_service.demo.service import seed_demo
from pip_service.documents.catalog import document_names
from pip_service.documents.service import DocumentService
from pip_service.runtime import Runtime
from pip_service.secrets.crypto import generate_key

DEMO_NOW = "2026-01-06T00:00:00Z"
"""The demo's reference time: deployment and change timestamps lie around it."""


@dataclass
class Clock:
    """The document service's clock, moved by hand to make data stale."""

    now: datetime = field(default_factory=lambda: datetime.now(UTC).replace(microsecond=0))

    def __call__(self) -> datetime:
        return self.now


@dataclass(frozen=True)
class DemoDocuments:
    """Every served document by name (``meta`` included), and meta seen later."""

    documents: dict[str, Any]
    later_meta: dict[str, Any]

    def pip_data(self, meta: dict[str, Any] | None = None) -> dict[str, Any]:
        """The documents nested as OPAL writes them under ``data.pip``."""
        nested: dict[str, Any] = {}
        for name, body in self.documents.items():
            *parents, leaf = name.split("/")
            node = nested
            for parent in parents:
                node = node.setdefault(parent, {})
            node[leaf] = body
        if meta is not None:
            nested["meta"] = meta
        return nested


def build(workdir: Path, overrides: dict[str, Any], *, later_seconds: int = 0) -> DemoDocuments:
    """Seed the demo with ``overrides`` in workdir and return the documents it serves."""
    return asyncio.run(_build(workdir, overrides, later_seconds))


async def _build(workdir: Path, overrides: dict[str, Any], later_seconds: int) -> DemoDocuments:
    clock = Clock()
    runtime = Runtime(_settings(workdir))
    await runtime.start()
    try:
        runtime.documents = DocumentService(
            runtime.sessions, runtime.cache, runtime.settings, clock=clock, meta_cache_seconds=0
        )
        result = await seed_demo(
            sessions=runtime.sessions,
            keyring=runtime.keyring,
            locks=runtime.locks,
            overrides={"now": DEMO_NOW, **overrides},
            on_committed=runtime.on_committed,
        )
        if not result.ok:
            raise RuntimeError(f"demo seeding failed: {result.sync}")
        documents = {name: (await runtime.documents.get(name)).data() for name in document_names()}
        clock.now += timedelta(seconds=later_seconds)
        return DemoDocuments(documents, await runtime.documents.meta())
    finally:
        await runtime.stop()


def _settings(workdir: Path) -> Settings:
    return Settings(
        database_url=f"sqlite+aiosqlite:///{workdir / 'pip.db'}",
        redis_url=None,
        data_dir=workdir,
        encryption_keys=SecretStr(f"policies:{generate_key()}"),
        scheduler_enabled=False,
        log_json=False,
    )
