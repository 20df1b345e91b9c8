"""Contract-suite harness for the ServiceNow connector (``computers``), on the Table API fake."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from connectors.servicenow import ServiceNowConnector
from connectors.servicenow.mapping import format_sn_datetime, parse_sn_datetime
from tests.connectors.http_harness import HttpHarness
from tests.fakes.servicenow import ServiceNowFake

TABLE = "cmdb_ci_computer"


class Harness(HttpHarness[ServiceNowFake]):
    """Drives ``computers`` against a ServiceNowFake served over HTTP."""

    connector_class = ServiceNowConnector
    stream = "computers"
    fake_class = ServiceNowFake

    def __init__(self) -> None:
        super().__init__()
        self.username, self.password = self.fake.username, self.fake.password

    def config(self) -> dict[str, Any]:
        """Basic auth against the fake, small pages."""
        return {
            "instance_url": self.server.url,
            "username": self.username,
            "password": self.password,
            "page_size": self.page_size,
        }

    def invalid_configs(self) -> list[tuple[dict[str, Any], str]]:
        """Missing fields plus bad values."""
        valid = self.config()
        return [
            *super().invalid_configs(),
            ({**valid, "instance_url": "http://acme.service-now.com"}, "instance_url"),
            ({**valid, "instance_url": "not a url"}, "instance_url"),
            ({**valid, "page_size": 0}, "page_size"),
            ({**valid, "tables": ["sys_user"]}, "tables"),
            ({**valid, "password": 12345}, "password"),
            ({k: v for k, v in valid.items() if k != "password"}, "password"),
            ({**valid, "auth_method": "oauth"}, "client_id"),
            ({**valid, "auth_method": "oauth", "client_id": "pip"}, "client_secret"),
        ]

    def source_ids(self) -> set[str]:
        """sys_ids of the fake's computers."""
        return {row["sys_id"] for row in self.fake.rows(TABLE)}

    def change(self, count: int, *, at: datetime | None = None) -> set[str]:
        """Bump os_version of the first ``count`` computers."""
        ids = [row["sys_id"] for row in self.fake.rows(TABLE)[:count]]
        self.fake.touch(ids, at=at, os_version="99.1")
        return set(ids)

    def cursor_time(self, cursor: dict[str, Any]) -> datetime:
        """The cursor of the computers table."""
        return parse_sn_datetime(cursor[TABLE]["sys_updated_on"])

    def boundary_ids(self, cursor: dict[str, Any]) -> set[str]:
        """Computers stamped exactly at the (inclusive) cursor."""
        stamp = format_sn_datetime(self.cursor_time(cursor))
        return {r["sys_id"] for r in self.fake.rows(TABLE) if r["sys_updated_on"] == stamp}
