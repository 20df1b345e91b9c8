"""Refresh now: a document rebuild, a connection sync, roles and unknown names."""

from __future__ import annotations

from pip_service.auth.roles import Role
from tests.api.conftest import ADMIN_TOKEN, bearer, issue
from tests.webhooks.conftest import Setup


async def test_document_refresh_needs_operator_and_a_known_document(setup: Setup) -> None:
    viewer = await issue(setup.runtime, "viewer", Role.VIEWER)
    url = "/api/v1/documents/identity/users/refresh"
    assert (await setup.http.post(url)).status_code == 401
    assert (await setup.http.post(url, headers=bearer(viewer))).status_code == 403
    unknown = await setup.http.post("/api/v1/documents/nope/refresh", headers=bearer(ADMIN_TOKEN))
    assert unknown.status_code == 404
    answer = await setup.http.post(url, headers=bearer(ADMIN_TOKEN))
    assert answer.status_code == 200
    body = answer.json()
    current = (await setup.runtime.documents.get("identity/users")).revision
    assert (body["name"], body["revision"], body["changed"]) == ("identity/users", current, False)
    assert body["published"] is None  # no OPAL server configured


async def test_connection_refresh_syncs_now(setup: Setup) -> None:
    operator = await issue(setup.runtime, "ops", Role.OPERATOR)
    setup.okta.touch_user("00u00000000000000001", title="Chief Refresher")
    url = f"/api/v1/connections/{setup.connection_id}/refresh"
    answer = await setup.http.post(url, headers=bearer(operator))
    assert answer.status_code == 200, answer.text
    assert answer.json()["status"] == "success"
    assert "user" in answer.json()["changed_entities"]
    users = (await setup.runtime.documents.get("identity/users")).data()
    assert users["user00001@example.com"]["job_title"] == "Chief Refresher"
    missing = await setup.http.post("/api/v1/connections/999/refresh", headers=bearer(operator))
    assert missing.status_code == 404
