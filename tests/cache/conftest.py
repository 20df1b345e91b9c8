"""Fixtures for cache tests: a private redis-server per test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cache.redis_server import RedisServer


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    """A redis-server of this test only, started."""
    server = RedisServer(tmp_path)
    server.start()
    yield server
    server.stop()
