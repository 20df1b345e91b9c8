"""Contract-suite harness for the Entra ID connector, on the Microsoft Graph fake."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from connectors.entra import EntraConnector
from tests.connectors.http_harness import HttpHarness
from tests.fakes.graph import GraphFake


class Harness(HttpHarness[GraphFake]):
    """Drives ``users`` (list + delta) against a GraphFake served over HTTP."""

    connector_class = EntraConnector
    stream = "users"
    fake_class = GraphFake
    tells_base_url = True

    def reset(self, records: int) -> None:
        """``records`` users, a few groups and devices, no faults."""
        self.fake.reset(users=records, groups=3, devices=2)

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
        no_secret = {k: v for k, v in valid.items() if k != "client_secret"}
        return [
            *super().invalid_configs(),
            (no_secret, "client_secret"),
            ({**valid, "client_id": "not-a-guid"}, "client_id"),
            ({**valid, "tenant_id": "bad tenant!"}, "tenant_id"),
            ({**valid, "graph_url": "http://graph.example.com"}, "graph_url"),
            ({**valid, "page_size": 1000}, "page_size"),
            ({**valid, "private_key_pem": "-----BEGIN PRIVATE KEY-----\nxx"}, "private_key_pem"),
            ({**valid, "certificate_pem": "not a certificate"}, "certificate_pem"),
        ]

    def source_ids(self) -> set[str]:
        """Ids of the fake's users."""
        return set(self.fake.directory.objects["users"])

    def change(self, count: int, *, at: datetime | None = None) -> set[str]:
        """Rename the first ``count`` users (stamped ``at``)."""
        ids = self.fake.directory.ids("users")[:count]
        for oid in ids:
            self.fake.directory.objects["users"][oid]["jobTitle"] = "Changed"
        self.fake.directory.touch("users", ids, at.timestamp() if at else None)
        return set(ids)

    def cursor_time(self, cursor: dict[str, Any]) -> datetime:
        """When the delta link was saved (the run's start)."""
        return datetime.fromisoformat(cursor["issued_at"]).astimezone(UTC)
