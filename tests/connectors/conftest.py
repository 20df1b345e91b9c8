"""The sync engine on the test database, for the connector tests that run syncs."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.conftest import Database
from tests.connectors.engine_rig import EngineRig, engine_rig


@pytest.fixture
async def rig(db: Database, tmp_path: Path) -> AsyncIterator[EngineRig]:
    """The sync engine on the test database (SQLite and PostgreSQL)."""
    async with engine_rig(db, tmp_path) as made:
        yield made
