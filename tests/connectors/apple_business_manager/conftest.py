"""The Apple Business Manager fake served over HTTP for these tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.connectors.apple_business_manager.harness import Harness


@pytest.fixture(scope="module")
def abm() -> Iterator[Harness]:
    """The contract harness (fake + server), reset by each test."""
    harness = Harness()
    harness.start()
    yield harness
    harness.stop()
