"""Contract-suite harness for the Freshservice connector (``changes``), on the Freshservice fake."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from connectors.freshservice import FreshserviceConnector
from connectors.freshservice.mapping import format_time, parse_time
from tests.connectors.http_harness import HttpHarness
from tests.fakes.freshservice import FreshserviceFake


class Harness(HttpHarness[FreshserviceFake]):
    """Drives ``changes`` (paged by Link header, incremental by ``updated_since``)."""

    connector_class = FreshserviceConnector
    stream = "changes"
    fake_class = FreshserviceFake
    paged_list = "changes"

    def config(self) -> dict[str, Any]:
        """The fake's API key, small pages."""
        return {
            "domain_url": self.server.url,
            "api_key": self.fake.api_key,
            "page_size": self.page_size,
        }

    def invalid_configs(self) -> list[tuple[dict[str, Any], str]]:
        """Missing fields plus bad values."""
        valid = self.config()
        return [
            *super().invalid_configs(),
            ({**valid, "domain_url": "http://acme.freshservice.com"}, "domain_url"),
            ({**valid, "domain_url": f"{self.server.url}/api/v2"}, "domain_url"),
            ({**valid, "api_key": ""}, "api_key"),
            ({**valid, "page_size": 101}, "page_size"),
            ({**valid, "type_fields": {"colour": "colour"}}, "type_fields"),
            ({**valid, "asset_types": []}, "asset_types"),
        ]

    def source_ids(self) -> set[str]:
        """Ids of the fake's changes."""
        return {str(c["id"]) for c in self.fake.data.changes}

    def change(self, count: int, *, at: datetime | None = None) -> set[str]:
        """Re-prioritise the first ``count`` changes."""
        ids = [c["id"] for c in self.fake.data.changes[:count]]
        for change_id in ids:
            self.fake.touch_change(change_id, at=at, priority=4)
        return {str(i) for i in ids}

    def cursor_time(self, cursor: dict[str, Any]) -> datetime:
        """The ``updated_at`` cursor."""
        return parse_time(cursor["updated_at"])

    def boundary_ids(self, cursor: dict[str, Any]) -> set[str]:
        """Changes stamped at (or, within the same second, after) the inclusive cursor."""
        stamp = format_time(self.cursor_time(cursor))
        return {str(c["id"]) for c in self.fake.data.changes if c["updated_at"] >= stamp}
