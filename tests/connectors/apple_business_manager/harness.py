"""Contract-suite harness for the Apple Business Manager connector, on the ABM fake."""

from __future__ import annotations

from typing import Any

from connectors.abm import AbmConnector
from tests.connectors.http_harness import HttpHarness
from tests.fakes.abm import AbmFake


class Harness(HttpHarness[AbmFake]):
    """Drives ``devices`` against an AbmFake served over HTTP."""

    connector_class = AbmConnector
    stream = "devices"
    fake_class = AbmFake
    incremental = False

    def config(self) -> dict[str, Any]:
        """The fake's API account, small pages."""
        return {
            "client_id": self.fake.client_id,
            "key_id": self.fake.key_id,
            "private_key": self.fake.private_pem,
            "api_url": self.server.url,
            "token_url": f"{self.server.url}/auth/oauth2/token",
            "page_size": self.page_size,
        }

    def invalid_configs(self) -> list[tuple[dict[str, Any], str]]:
        """Missing fields plus bad values."""
        valid = self.config()
        rsa = (
            "-----BEGIN PRIVATE KEY-----\nMIIBVQIBADANBgkqhkiG9w0BAQEFAASCAT8wggE7AgEAAkEA\n"
            "-----END PRIVATE KEY-----\n"
        )
        return [
            *super().invalid_configs(),
            ({**valid, "private_key": "not a key"}, "private_key"),
            ({**valid, "private_key": rsa}, "private_key"),
            ({**valid, "api_url": "http://api-business.apple.com"}, "api_url"),
            ({**valid, "page_size": 1001}, "page_size"),
            ({**valid, "scope": "everything"}, "scope"),
        ]

    def source_ids(self) -> set[str]:
        """Serial numbers (ids) of the fake's devices."""
        return {d["id"] for d in self.fake.devices}
