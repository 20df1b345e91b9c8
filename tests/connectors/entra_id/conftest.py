"""The Graph fake served over HTTP for the Entra ID tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.connectors.entra_id.harness import Harness


@pytest.fixture(scope="module")
def graph() -> Iterator[Harness]:
    """The contract harness (fake + server), reset by each test."""
    harness = Harness()
    harness.start()
    yield harness
    harness.stop()
