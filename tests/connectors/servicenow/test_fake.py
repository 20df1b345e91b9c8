"""The Table API fake behaves as ServiceNow documents it (so connector tests mean something)."""

from __future__ import annotations

import httpx

from tests.connectors.servicenow.harness import Harness


def get(
    harness: Harness, path: str = "/api/now/table/cmdb_ci_computer", **params: str
) -> httpx.Response:
    auth = (harness.username, harness.password)
    return httpx.get(f"{harness.server.url}{path}", params=params, auth=auth)


def test_link_header_and_total_count_page_through_the_set(servicenow: Harness) -> None:
    servicenow.reset(7)
    first = get(servicenow, sysparm_limit="3")
    assert first.headers["X-Total-Count"] == "7"
    assert set(first.links) == {"first", "prev", "next", "last"}
    assert "sysparm_offset=6" in first.links["last"]["url"]
    last = httpx.get(first.links["last"]["url"], auth=(servicenow.username, servicenow.password))
    assert len(last.json()["result"]) == 1 and "next" not in last.links


def test_display_values_use_labels_names_and_the_user_time_zone(servicenow: Harness) -> None:
    servicenow.reset(1)
    row = servicenow.fake.rows()[0]
    fields = "install_status,sys_updated_on,location"
    shown = get(servicenow, sysparm_display_value="true", sysparm_fields=fields).json()["result"][0]
    both = get(servicenow, sysparm_display_value="all", sysparm_fields=fields).json()["result"][0]
    assert both["install_status"]["value"] == row["install_status"]
    assert both["sys_updated_on"]["value"] == row["sys_updated_on"]
    assert shown["sys_updated_on"] != row["sys_updated_on"]  # user is at UTC-8
    assert set(shown["location"]) == {"display_value", "link"}
    assert set(both["location"]) == {"display_value", "value", "link"}


def test_errors_follow_servicenow_shapes(servicenow: Harness) -> None:
    servicenow.reset(0)
    anonymous = httpx.get(f"{servicenow.server.url}/api/now/table/cmdb_ci_computer")
    assert anonymous.status_code == 401
    assert anonymous.json() == {
        "error": {
            "message": "User Not Authenticated",
            "detail": "Required to provide Auth information",
        },
        "status": "failure",
    }
    assert get(servicenow, sysparm_offset="-1").status_code == 400
    assert get(servicenow, "/api/now/v1/table/cmdb_ci_computer").status_code == 404
    assert get(servicenow).json() == {"result": []}


def test_invalid_query_parts_are_ignored_but_recorded(servicenow: Harness) -> None:
    servicenow.reset(3)
    response = get(servicenow, sysparm_query="nosuchfield=1^ORDERBYname")
    assert len(response.json()["result"]) == 3
    assert servicenow.fake.invalid_query_parts == ["nosuchfield=1"]
