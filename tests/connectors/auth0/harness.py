"""Contract-suite harness for the Auth0 connector, on the Auth0 fake (client credentials)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from connectors.auth0 import Auth0Connector
from connectors.auth0.streams import SEARCH_LAG
from tests.connectors.http_harness import HttpHarness
from tests.fakes.auth0 import Auth0Fake


class Harness(HttpHarness[Auth0Fake]):
    """Drives ``users`` (listing, and the updated_at search) against an Auth0Fake over HTTP."""

    connector_class = Auth0Connector
    stream = "users"
    fake_class = Auth0Fake
    tells_base_url = True

    def reset(self, records: int) -> None:
        """``records`` users, two roles, two organizations, no faults."""
        self.fake.reset(users=records, roles=2, orgs=2)

    def config(self) -> dict[str, Any]:
        """Client credentials against the fake, small pages."""
        return {
            "domain": self.server.url,
            "client_id": self.fake.client_id,
            "client_secret": self.fake.client_secret,
            "page_size": self.page_size,
        }

    def invalid_configs(self) -> list[tuple[dict[str, Any], str]]:
        """Missing fields plus bad values."""
        valid = self.config()
        return [
            *super().invalid_configs(),
            ({**valid, "domain": "http://acme.eu.auth0.com"}, "domain"),
            ({**valid, "domain": "acme.eu.auth0.com/api/v2"}, "domain"),
            ({**valid, "domain": "not a domain"}, "domain"),
            ({**valid, "client_secret": "  "}, "client_secret"),
            ({**valid, "page_size": 101}, "page_size"),
            ({**valid, "surprise": 1}, "surprise"),
        ]

    def source_ids(self) -> set[str]:
        """Ids of every user, blocked ones included."""
        return set(self.fake.data.users)

    def change(self, count: int, *, at: datetime | None = None) -> set[str]:
        """Retitle the first ``count`` users (stamped ``at``)."""
        ids = sorted(self.fake.data.users)[:count]
        for uid in ids:
            stamp = at.timestamp() if at else None
            self.fake.touch_user(uid, at=stamp, app_metadata={"job_title": "Changed"})
        return set(ids)

    def cursor_time(self, cursor: dict[str, Any]) -> datetime:
        """The updated_at cursor."""
        return datetime.fromisoformat(cursor["updated_at"].replace("Z", "+00:00")).astimezone(UTC)

    def boundary_ids(self, cursor: dict[str, Any]) -> set[str]:
        """Users updated within the search lag before the cursor (read again on purpose)."""
        since = self.cursor_time(cursor) - SEARCH_LAG - timedelta(seconds=1)
        return {
            uid
            for uid, user in self.fake.data.users.items()
            if datetime.fromisoformat(user["updated_at"].replace("Z", "+00:00")) >= since
        }
