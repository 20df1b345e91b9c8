"""The Google Workspace fake served over HTTP for the Google Workspace tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.connectors.google_workspace.harness import Harness


@pytest.fixture(scope="module")
def google() -> Iterator[Harness]:
    """The contract harness (fake + server), reset by each test."""
    harness = Harness()
    harness.start()
    yield harness
    harness.stop()
