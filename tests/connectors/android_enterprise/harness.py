"""Contract-suite harness for the Android Enterprise connector, on the Android Management fake."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from connectors.android_enterprise import AndroidEnterpriseConnector
from tests.connectors.http_harness import HttpHarness
from tests.fakes.android_enterprise import AndroidEnterpriseFake, make_noncompliant


class Harness(HttpHarness[AndroidEnterpriseFake]):
    """Drives ``devices`` against an AndroidEnterpriseFake served over HTTP."""

    connector_class = AndroidEnterpriseConnector
    stream = "devices"
    fake_class = AndroidEnterpriseFake
    tells_base_url = True
    incremental = False

    def config(self) -> dict[str, Any]:
        """The fake's enterprise and service account key, small pages."""
        return {
            "enterprise_id": self.fake.enterprise_id,
            "service_account_key": self.fake.key_file(),
            "api_url": self.server.url,
            "page_size": self.page_size,
        }

    def secrets(self) -> list[str]:
        """The key file, and a line of the private key inside it."""
        key_file = self.fake.key_file()
        return [key_file, json.loads(key_file)["private_key"].splitlines()[1]]

    def invalid_configs(self) -> list[tuple[dict[str, Any], str]]:
        """Missing fields plus bad values."""
        valid = self.config()
        key = json.loads(valid["service_account_key"])
        without_email = json.dumps({k: v for k, v in key.items() if k != "client_email"})
        bad_pem = json.dumps({**key, "private_key": "-----BEGIN PRIVATE KEY-----\nAAAA\n"})
        plain_http = json.dumps({**key, "token_uri": "http://oauth2.example.com/token"})
        return [
            *super().invalid_configs(),
            ({**valid, "service_account_key": "not json"}, "service_account_key"),
            (
                {**valid, "service_account_key": json.dumps({**key, "type": "user"})},
                "service_account_key",
            ),
            ({**valid, "service_account_key": without_email}, "service_account_key"),
            ({**valid, "service_account_key": bad_pem}, "service_account_key"),
            ({**valid, "service_account_key": plain_http}, "service_account_key"),
            ({**valid, "enterprise_id": "LC/../x"}, "enterprise_id"),
            ({**valid, "api_url": "http://androidmanagement.googleapis.com"}, "api_url"),
            ({**valid, "page_size": 101}, "page_size"),
        ]

    def source_ids(self) -> set[str]:
        """Device ids (last segment of each name)."""
        return {d["name"].rsplit("/", 1)[-1] for d in self.fake.devices}

    def change(self, count: int, *, at: datetime | None = None) -> set[str]:
        """Make the first ``count`` devices noncompliant (full runs only: ``at`` is not used)."""
        changed = self.fake.devices[:count]
        for device in changed:
            make_noncompliant(device, "encryptionPolicy", "USER_ACTION")
        return {d["name"].rsplit("/", 1)[-1] for d in changed}
