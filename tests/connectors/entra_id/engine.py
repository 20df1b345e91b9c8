"""Running identity connectors through the real sync engine (shared by the Okta tests)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pip_service.sync.engine import RequestedMode, SyncResult
from tests.conftest import Database
from tests.connectors.engine_rig import EngineRig, engine_rig


@dataclass
class Engine:
    """One connection on a test database, synced on demand."""

    rig: EngineRig
    connection_id: int = 0

    async def connect(self, connector_type: str, config: dict[str, Any]) -> None:
        """Create the connection (config validated and secrets encrypted by the service)."""
        name = f"{connector_type}-test"
        self.connection_id = await self.rig.connect(name, connector_type, config)

    async def sync(self, mode: RequestedMode = None) -> SyncResult:
        """One run of the connection (None: the engine picks the mode)."""
        return await self.rig.sync(self.connection_id, mode)


@asynccontextmanager
async def engine(db: Database, tmp_path: Path) -> AsyncIterator[Engine]:
    """An Engine with a fresh key ring and the locks production would use on ``db``."""
    async with engine_rig(db, tmp_path) as rig:
        yield Engine(rig)
