"""The Okta fake served over HTTP for the Okta tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.connectors.okta.harness import Harness


@pytest.fixture(scope="module")
def okta() -> Iterator[Harness]:
    """The contract harness (fake + server), reset by each test."""
    harness = Harness()
    harness.start()
    yield harness
    harness.stop()
