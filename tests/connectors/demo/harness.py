"""The demo connector in the contract suite.

The demo connector generates its data locally: there is no HTTP source to fake,
so the HTTP fault checks (Retry-After, status mapping, garbage bodies, 5xx
bursts, mid-run failures) do not apply (``http_faults = False``), and every run
is a full run of generated data with no cursor (``incremental = False``). What
does apply: the config schema, config errors naming the field, multi-page reads
of the ``devices`` stream with every record exactly once, an empty source,
``discover`` and ``test_connection``.
"""

from __future__ import annotations

from typing import Any, ClassVar

from connectors.base.connector import Connector
from connectors.base.testing import ConnectorHarness
from connectors.demo import DemoConnector


class Harness(ConnectorHarness):
    """Drives the ``devices`` stream; the "source" is the configured device count."""

    connector_class: ClassVar[type[Connector[Any]]] = DemoConnector
    stream: ClassVar[str] = "devices"
    http_faults: ClassVar[bool] = False
    incremental: ClassVar[bool] = False

    def __init__(self) -> None:
        self.records = 0

    def reset(self, records: int) -> None:
        """The next config generates ``records`` devices."""
        self.records = records

    def config(self) -> dict[str, Any]:
        """A small scenario with ``records`` devices, ``page_size`` per page."""
        return {
            "devices": self.records, "page_size": self.page_size, "users": 10,
            "applications": 1, "deployments": 0, "changes": 0, "audit_events": 0,
            "now": "2026-01-06T00:00:00Z",
        }  # fmt: skip

    def source_ids(self) -> set[str]:
        """Device ids are numbered from 1."""
        return {f"dev-{index + 1:06d}" for index in range(self.records)}

    def invalid_configs(self) -> list[tuple[dict[str, Any], str]]:
        """Nothing is required, so: wrong values and types, a naive time, an unknown field."""
        return [
            ({"devices": -1}, "devices"),
            ({"users": 2}, "users"),
            ({"seed": "forty-two"}, "seed"),
            ({"domain": "no domain"}, "domain"),
            ({"now": "2026-01-06T00:00:00"}, "now"),
            ({"colour": "blue"}, "colour"),
        ]
