"""Contract-suite harness for the Jamf Pro connector, on the Jamf Pro fake."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from connectors.jamf import JamfConnector
from tests.connectors.http_harness import HttpHarness
from tests.fakes.jamf import JamfFake


class Harness(HttpHarness[JamfFake]):
    """Drives ``computers`` against a JamfFake served over HTTP (API client credentials)."""

    connector_class = JamfConnector
    stream = "computers"
    fake_class = JamfFake
    incremental = False

    def config(self) -> dict[str, Any]:
        """API client credentials against the fake, small pages."""
        return {
            "server_url": self.server.url,
            "client_id": self.fake.client_id,
            "client_secret": self.fake.client_secret,
            "page_size": self.page_size,
        }

    def account_config(self, **extra: Any) -> dict[str, Any]:
        """Username/password authentication against the fake."""
        return {
            "server_url": self.server.url,
            "auth_method": "password",
            "username": self.fake.username,
            "password": self.fake.password,
            "page_size": self.page_size,
            **extra,
        }

    def secrets(self) -> list[str]:
        """Both the client secret and the account password."""
        return [self.fake.client_secret, self.fake.password]

    def invalid_configs(self) -> list[tuple[dict[str, Any], str]]:
        """Missing fields plus bad values."""
        valid = self.config()
        account = self.account_config()
        return [
            *super().invalid_configs(),
            ({**valid, "server_url": "http://acme.jamfcloud.com"}, "server_url"),
            ({**valid, "client_secret": ""}, "client_secret"),
            ({k: v for k, v in valid.items() if k != "client_id"}, "client_id"),
            ({k: v for k, v in account.items() if k != "password"}, "password"),
            ({**valid, "page_size": 0}, "page_size"),
            ({**valid, "compliance": {"source": "smart_group"}}, "compliance"),
            ({**valid, "compliance": {"source": "extension_attribute"}}, "compliance"),
        ]

    def source_ids(self) -> set[str]:
        """Ids of the fake's computers."""
        return {c["id"] for c in self.fake.computers}

    def change(self, count: int, *, at: datetime | None = None) -> set[str]:
        """Rename the first ``count`` computers (full runs only: ``at`` is not used)."""
        changed = self.fake.computers[:count]
        for computer in changed:
            computer["general"]["name"] += "-renamed"
        return {c["id"] for c in changed}
