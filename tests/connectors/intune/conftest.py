"""The Intune (Graph) fake served over HTTP for this package's tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.connectors.intune.harness import Harness


@pytest.fixture(scope="module")
def intune() -> Iterator[Harness]:
    """The contract harness (fake + server), reset by each test."""
    harness = Harness()
    harness.start()
    yield harness
    harness.stop()
