"""Contract-suite harness for the Okta connector, on the Okta fake (SSWS API token)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from connectors.okta import OktaConnector
from tests.connectors.http_harness import HttpHarness
from tests.fakes.okta import OktaFake
from tests.fakes.okta_data import okta_time


class Harness(HttpHarness[OktaFake]):
    """Drives ``users`` against an OktaFake served over HTTP."""

    connector_class = OktaConnector
    stream = "users"
    fake_class = OktaFake
    tells_base_url = True

    def reset(self, records: int) -> None:
        """``records`` users (every status), two groups, no faults."""
        self.fake.reset(users=records, groups=2)

    def config(self) -> dict[str, Any]:
        """API token against the fake, small pages."""
        return {"org_url": self.server.url, "api_token": self.fake.api_token, "page_size": 5}

    def invalid_configs(self) -> list[tuple[dict[str, Any], str]]:
        """Missing fields plus bad values."""
        valid = self.config()
        return [
            *super().invalid_configs(),
            ({"org_url": self.server.url}, "api_token"),
            ({**valid, "org_url": "http://acme.okta.com"}, "org_url"),
            ({**valid, "page_size": 500}, "page_size"),
            ({**valid, "scopes": ["users.read"]}, "scopes"),
            ({**valid, "api_token": "   "}, "api_token"),
            ({**valid, "client_id": "0oa1", "private_key_pem": "nope"}, "private_key_pem"),
        ]

    def source_ids(self) -> set[str]:
        """Ids of every user, DEPROVISIONED included."""
        return set(self.fake.data.users)

    def change(self, count: int, *, at: datetime | None = None) -> set[str]:
        """Retitle the first ``count`` users (stamped ``at``)."""
        ids = sorted(self.fake.data.users)[:count]
        for uid in ids:
            self.fake.touch_user(uid, at=at.timestamp() if at else None, title="Changed")
        return set(ids)

    def cursor_time(self, cursor: dict[str, Any]) -> datetime:
        """The lastUpdated cursor."""
        return datetime.fromisoformat(cursor["lastUpdated"].replace("Z", "+00:00")).astimezone(UTC)

    def boundary_ids(self, cursor: dict[str, Any]) -> set[str]:
        """Users stamped in the cursor's second (the filter is inclusive)."""
        stamp = okta_time(int(self.cursor_time(cursor).timestamp()))
        return {u["id"] for u in self.fake.data.users.values() if u["lastUpdated"] == stamp}
