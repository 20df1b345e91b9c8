"""Contract-suite harness for the Google Workspace connector, on the Directory API fake."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import orjson
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from joserfc.jwk import RSAKey

from connectors.google_workspace import GoogleWorkspaceConnector
from tests.connectors.http_harness import HttpHarness
from tests.fakes.google_workspace import GoogleWorkspaceFake


def service_account_key(fake: GoogleWorkspaceFake, server_url: str, kid: str) -> str:
    """A new service account JSON key whose public half the fake knows as ``kid``."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    fake.keys[kid] = RSAKey.import_key(public)
    return orjson.dumps(
        {
            "type": "service_account",
            "project_id": "fake-project",
            "private_key_id": kid,
            "private_key": pem,
            "client_email": fake.client_email,
            "client_id": "1234567890",
            "token_uri": f"{server_url}/token",
        }
    ).decode()


class Harness(HttpHarness[GoogleWorkspaceFake]):
    """Drives ``users`` (full runs only: the Directory API has no change filter)."""

    connector_class = GoogleWorkspaceConnector
    stream = "users"
    fake_class = GoogleWorkspaceFake
    tells_base_url = True
    incremental = False

    def __init__(self) -> None:
        super().__init__()
        self.key = ""

    def start(self) -> None:
        """Serve the fake and make the service account key."""
        super().start()
        self.key = service_account_key(self.fake, self.server.url, "key-1")

    def reset(self, records: int) -> None:
        """``records`` users, two groups, no faults."""
        self.fake.reset(users=records, groups=2)

    def config(self) -> dict[str, Any]:
        """The service account against the fake, small pages."""
        return {
            "service_account_key": self.key,
            "admin_email": "admin@example.com",
            "api_url": self.server.url,
            "page_size": self.page_size,
        }

    def secrets(self) -> list[str]:
        """The private key inside the JSON key (and the whole key file)."""
        return [self.key, orjson.loads(self.key)["private_key"]]

    def invalid_configs(self) -> list[tuple[dict[str, Any], str]]:
        """Missing fields plus bad values."""
        valid = self.config()
        key = orjson.loads(self.key)
        broken = orjson.dumps({**key, "private_key": "-----BEGIN PRIVATE KEY-----\nxx"}).decode()
        return [
            *super().invalid_configs(),
            ({**valid, "service_account_key": "{not json"}, "service_account_key"),
            ({**valid, "service_account_key": orjson.dumps({**key, "type": "user"}).decode()},
             "service_account_key"),
            ({**valid, "service_account_key": broken}, "service_account_key"),
            ({**valid, "service_account_key": orjson.dumps(
                {**key, "token_uri": "http://oauth2.example.com/token"}).decode()},
             "service_account_key"),
            ({**valid, "admin_email": "not an email"}, "admin_email"),
            ({**valid, "api_url": "http://admin.example.com"}, "api_url"),
            ({**valid, "page_size": 501}, "page_size"),
        ]  # fmt: skip

    def source_ids(self) -> set[str]:
        """Ids of every user, suspended ones included."""
        return set(self.fake.directory.users)

    def change(self, count: int, *, at: datetime | None = None) -> set[str]:
        """Rename the first ``count`` users (full runs only: ``at`` is not used)."""
        ids = sorted(self.fake.directory.users)[:count]
        for uid in ids:
            self.fake.directory.users[uid]["name"]["fullName"] += " Changed"
        return set(ids)
