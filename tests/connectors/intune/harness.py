"""Contract-suite harness for the Intune connector, on the Microsoft Graph fake with Intune."""

from __future__ import annotations

from typing import Any

from connectors.intune import IntuneConnector
from tests.connectors.http_harness import HttpHarness
from tests.fakes.graph_intune import IntuneFake


class Harness(HttpHarness[IntuneFake]):
    """Drives ``managed_devices`` against an IntuneFake served over HTTP (client secret)."""

    connector_class = IntuneConnector
    stream = "managed_devices"
    fake_class = IntuneFake
    tells_base_url = True
    incremental = False

    def config(self) -> dict[str, Any]:
        """Client secret against the fake, small pages."""
        return {
            "tenant_id": self.fake.tenant_id,
            "client_id": self.fake.client_id,
            "client_secret": self.fake.identity.client_secret,
            "authority_url": self.server.url,
            "graph_url": self.server.url,
            "page_size": self.page_size,
        }

    def invalid_configs(self) -> list[tuple[dict[str, Any], str]]:
        """Missing fields plus bad values."""
        valid = self.config()
        return [
            *super().invalid_configs(),
            ({k: v for k, v in valid.items() if k != "client_secret"}, "client_secret"),
            ({**valid, "client_secret": "  "}, "client_secret"),
            ({**valid, "client_id": "not-a-guid"}, "client_id"),
            ({**valid, "graph_url": "http://graph.example.com"}, "graph_url"),
            ({**valid, "page_size": 0}, "page_size"),
            ({**valid, "read_restricted": True}, "read_restricted"),
        ]

    def source_ids(self) -> set[str]:
        """Ids of the fake's managed devices."""
        return set(self.fake.managed)

    def fail_on_page(self, page: int) -> None:
        """A managedDevices page that keeps answering 500."""
        self.fake.failing_devices_page = page
