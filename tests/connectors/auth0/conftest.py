"""The Auth0 fake served over HTTP for the Auth0 tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.connectors.auth0.harness import Harness


@pytest.fixture(scope="module")
def auth0() -> Iterator[Harness]:
    """The contract harness (fake + server), reset by each test."""
    harness = Harness()
    harness.start()
    yield harness
    harness.stop()
