"""Contract-suite harness for the Jira Service Management connector (``changes``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from connectors.jira import JiraConnector
from connectors.jira.change_mapping import parse_jira_time
from tests.connectors.http_harness import HttpHarness
from tests.fakes.jira import JiraFake
from tests.fakes.jira_data import FIELDS, WORKSPACE


class Harness(HttpHarness[JiraFake]):
    """Drives ``changes`` (JQL search, ``nextPageToken``, incremental by ``updated``)."""

    connector_class = JiraConnector
    stream = "changes"
    fake_class = JiraFake
    paged_list = "search"

    def config(self) -> dict[str, Any]:
        """Email and API token against the fake; site and Assets API on the same server."""
        return {
            "site_url": self.server.url,
            "assets_api_url": self.server.url,
            "workspace_id": WORKSPACE,
            "email": self.fake.email,
            "api_token": self.fake.token,
            "device_object_types": ["Laptop", "Server"],
            "change_fields": dict(FIELDS),
            "page_size": self.page_size,
        }

    def invalid_configs(self) -> list[tuple[dict[str, Any], str]]:
        """Missing fields plus bad values."""
        valid = self.config()
        return [
            *super().invalid_configs(),
            ({**valid, "site_url": "http://acme.atlassian.net"}, "site_url"),
            ({**valid, "assets_api_url": "http://api.atlassian.com"}, "assets_api_url"),
            ({k: v for k, v in valid.items() if k != "email"}, "email"),
            ({k: v for k, v in valid.items() if k != "api_token"}, "api_token"),
            ({**valid, "auth_method": "saml"}, "auth_method"),
            ({**valid, "auth_method": "oauth", "cloud_id": "../x"}, "cloud_id"),
            ({**valid, "change_project_key": "ops; DROP"}, "change_project_key"),
            ({**valid, "change_issue_type_id": "Change"}, "change_issue_type_id"),
            ({**valid, "email": "not-an-email"}, "email"),
            ({**valid, "api_token": " "}, "api_token"),
            ({**valid, "workspace_id": "../etc"}, "workspace_id"),
            ({**valid, "change_jql": "project = OPS ORDER BY key"}, "change_jql"),
            ({**valid, "change_fields": {"risk": "risk; DROP"}}, "change_fields.risk"),
            ({**valid, "jql_timezone": "Mars/Olympus"}, "jql_timezone"),
            ({**valid, "page_size": 0}, "page_size"),
        ]

    def source_ids(self) -> set[str]:
        """Ids of the fake's change issues."""
        return {i["id"] for i in self.fake.issues if i["key"].startswith("CHG-")}

    def change(self, count: int, *, at: datetime | None = None) -> set[str]:
        """Re-title the first ``count`` changes."""
        issues = [i for i in self.fake.issues if i["key"].startswith("CHG-")][:count]
        for issue in issues:
            self.fake.touch_issue(issue["key"], at=at, summary="Changed")
        return {i["id"] for i in issues}

    def cursor_time(self, cursor: dict[str, Any]) -> datetime:
        """The ``updated`` cursor."""
        return parse_jira_time(cursor["updated"])

    def boundary_ids(self, cursor: dict[str, Any]) -> set[str]:
        """Changes updated in or after the cursor's minute (JQL compares minutes)."""
        minute = self.cursor_time(cursor).replace(second=0, microsecond=0)
        return {
            i["id"] for i in self.fake.issues
            if i["key"].startswith("CHG-") and parse_jira_time(i["fields"]["updated"]) >= minute
        }  # fmt: skip
