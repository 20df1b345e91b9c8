"""The contract suite, run against every registered connector.

Each connector provides ``tests/connectors/<slug>/harness.py`` with a ``Harness``
class (see :mod:`connectors.base.testing`); a registered connector without one
fails ``test_every_registered_connector_has_a_harness``.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from connectors.base.testing import (
    ConnectorContract,
    ConnectorHarness,
    harness_class,
    registered_slugs,
)

SLUGS = registered_slugs()


def test_every_registered_connector_has_a_harness() -> None:
    """A connector cannot be registered without passing the contract suite."""
    missing = [slug for slug in SLUGS if harness_class(slug) is None]
    assert not missing, (
        f"registered connectors without a contract harness: {', '.join(missing)}; "
        "add tests/connectors/<slug>/harness.py defining Harness(ConnectorHarness)"
    )


@pytest.fixture(scope="module", params=SLUGS)
def harness(request: pytest.FixtureRequest) -> Iterator[ConnectorHarness]:
    """One started harness per registered connector."""
    found = harness_class(request.param)
    if found is None:
        pytest.skip(f"{request.param} has no harness (see the missing-harness test)")
    instance = found()
    instance.start()
    yield instance
    instance.stop()


class TestConnectorContract(ConnectorContract):
    """Every contract test, once per registered connector."""
