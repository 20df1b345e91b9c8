"""POST /api/v1/change-requests: created once per idempotency key, bad input writes nothing."""

from __future__ import annotations

import asyncio
import gzip
from typing import Any

import orjson
import pytest
from sqlalchemy import func, select

from pip_service.audit.models import AuditEvent
from pip_service.changes.models import ChangeRequestLink
from pip_service.changes.schemas import ChangeRequestCreate
from pip_service.changes.service import fingerprint, marker
from pip_service.db.session import transaction
from tests.changes.conftest import Setup

URL = "/api/v1/change-requests"
PROBLEM = "application/problem+json"


def intent(setup: Setup, **changes: Any) -> dict[str, Any]:
    body = {
        "connection_id": setup.connection_id,
        "summary": "Roll out Chrome 131 to the pilot ring",
        "risk_score": 55,
        "window": {"start": "2026-12-01T22:00:00Z", "end": "2026-12-02T01:00:00Z"},
        "affected": [setup.fake.rows()[0]["sys_id"]],
        "correlation_id": "deploy-7f3a",
        "idempotency_key": "deploy-7f3a:change",
    }
    return {**body, **changes}


def new_changes(setup: Setup) -> list[dict[str, Any]]:
    return [r for r in setup.fake.rows("change_request") if r["correlation_display"]]


async def links(setup: Setup) -> int:
    async with setup.runtime.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(ChangeRequestLink)) or 0)


async def test_retried_request_returns_the_same_change(setup: Setup) -> None:
    first = await setup.client.post(URL, json=intent(setup), headers=setup.operator)
    assert first.status_code == 201, first.text
    again = await setup.client.post(URL, json=intent(setup), headers=setup.operator)
    assert again.status_code == 200 and again.json() == first.json()
    [made] = new_changes(setup)
    assert first.json()["change_number"] == made["number"] and first.json()["status"] == "created"
    assert made["correlation_id"] == "deploy-7f3a" and made["risk"] == "3"
    shown = await setup.client.get(f"{URL}/deploy-7f3a:change", headers=setup.viewer)
    assert shown.status_code == 200 and shown.json()["change_number"] == made["number"]
    async with setup.runtime.sessions() as session:
        actions = list(await session.scalars(select(AuditEvent.action)))
    assert actions.count("change_request.create") == 1


async def test_timed_out_first_attempt_is_found_not_created_again(setup: Setup) -> None:
    setup.timeouts["read"] = 0.5
    setup.fake.delay_next_post(1.5)  # created at once, answered after the client gave up
    response = await setup.client.post(URL, json=intent(setup), headers=setup.operator)
    assert response.status_code == 201, response.text
    [made] = new_changes(setup)
    assert response.json()["change_number"] == made["number"]
    assert [table for table, _ in setup.fake.posts].count("change_request") == 1


async def test_retry_after_a_failed_request_finds_the_change_an_earlier_attempt_made(
    setup: Setup,
) -> None:
    """The first request died after the source created the change; the link stayed pending."""
    body = intent(setup)
    request = ChangeRequestCreate.model_validate(body)
    async with transaction(setup.runtime.sessions) as session:
        session.add(ChangeRequestLink(
            idempotency_key=request.key, connection_id=setup.connection_id,
            request_hash=fingerprint(request), correlation_id="deploy-7f3a",
            status="pending", created_by="deployer", error="[source_timeout] no answer",
        ))  # fmt: skip
    earlier = {**setup.fake.rows("change_request")[0], "sys_id": "e" * 32, "number": "CHG0099999",
               "correlation_display": marker(request.key)}  # fmt: skip
    setup.fake.add([earlier], table="change_request")
    response = await setup.client.post(URL, json=body, headers=setup.operator)
    assert response.status_code == 201, response.text
    assert response.json()["change_number"] == "CHG0099999"
    assert [table for table, _ in setup.fake.posts].count("change_request") == 0


async def test_key_reused_for_another_request_is_a_conflict(setup: Setup) -> None:
    assert (await setup.client.post(URL, json=intent(setup), headers=setup.operator)).is_success
    other = await setup.client.post(URL, json=intent(setup, risk_score=99), headers=setup.operator)
    assert other.status_code == 409 and other.headers["content-type"] == PROBLEM
    assert other.json()["errors"][0]["field"] == "idempotency_key"
    assert len(new_changes(setup)) == 1


async def test_key_derived_from_deployment_intent_and_device_keys_resolved(setup: Setup) -> None:
    sync = await setup.runtime.run_connection(setup.connection_id)
    assert sync.status == "success", sync.error
    serial = next(r for r in setup.fake.rows() if r["serial_number"])
    body = intent(setup, idempotency_key=None, deployment_intent_id="dep-81",
                  affected=[serial["serial_number"].lower()])  # fmt: skip
    response = await setup.client.post(URL, json=body, headers=setup.operator)
    assert response.status_code == 201, response.text
    assert response.json()["idempotency_key"] == "deployment-intent:dep-81"
    [made] = new_changes(setup)
    linked = [t["ci_item"] for t in setup.fake.rows("task_ci") if t["task"] == made["sys_id"]]
    assert linked == [serial["sys_id"]]


@pytest.mark.parametrize(
    ("changes", "fields"),
    [
        ({"idempotency_key": None}, {"idempotency_key"}),
        (
            {"window": {"start": "2026-12-02T00:00:00Z", "end": "2026-12-01T00:00:00Z"}},
            {"window.end"},
        ),
        (
            {"window": {"start": "2026-12-01T00:00:00", "end": "2026-12-02T00:00:00Z"}},
            {"window.start"},
        ),
        ({"risk_score": 101, "summary": ""}, {"risk_score", "summary"}),
        ({"affected": ["NO-SUCH-SERIAL"]}, {"affected.0"}),
        ({"connection_id": 999}, {"connection_id"}),
        ({"idempotency_key": "has spaces^and=query"}, {"idempotency_key"}),
    ],
)
async def test_bad_input_is_a_422_naming_the_field_and_writes_nothing(
    setup: Setup, changes: dict[str, Any], fields: set[str]
) -> None:
    response = await setup.client.post(URL, json=intent(setup, **changes), headers=setup.operator)
    assert response.status_code == 422 and response.headers["content-type"] == PROBLEM
    assert {item["field"] for item in response.json()["errors"]} == fields
    assert await links(setup) == 0 and setup.fake.posts == []


async def test_viewer_may_not_create(setup: Setup) -> None:
    response = await setup.client.post(URL, json=intent(setup), headers=setup.viewer)
    assert response.status_code == 403 and setup.fake.posts == []


async def test_next_sync_brings_the_approval_into_itsm_changes(setup: Setup) -> None:
    assert (await setup.runtime.run_connection(setup.connection_id)).status == "success"
    created = await setup.client.post(URL, json=intent(setup), headers=setup.operator)
    number = created.json()["change_number"]
    [made] = new_changes(setup)
    approver = setup.fake.rows("sys_user")[0]
    decision = {"sys_id": "a" * 32, "sysapproval": made["sys_id"], "approver": approver["sys_id"],
                "source_table": "change_request", "state": "approved", "group": "",
                "sys_updated_on": made["sys_updated_on"]}  # fmt: skip
    setup.fake.add([decision], table="sysapproval_approver")
    setup.fake.touch([made["sys_id"]], table="change_request", approval="approved", state="-2")
    sync = await setup.runtime.run_connection(setup.connection_id)
    assert (sync.status, sync.mode) == ("success", "incremental")
    served = await setup.runtime.documents.get("itsm/changes")
    changes = orjson.loads(gzip.decompress(served.body_gz))
    entry = changes[number]
    assert (entry["approval"], entry["state"], entry["correlation_id"]) == (
        "approved", "scheduled", "deploy-7f3a"
    )  # fmt: skip
    assert entry["approvals"][0]["approver"] == approver["email"]


async def test_concurrent_request_with_the_same_key_is_told_to_retry(setup: Setup) -> None:
    setup.fake.delay_next_post(2.0)  # the first request is still waiting for ServiceNow
    first = asyncio.create_task(setup.client.post(URL, json=intent(setup), headers=setup.operator))
    for _ in range(1500):  # until the first request holds the key and is at the source
        if setup.fake.posts:
            break
        await asyncio.sleep(0.02)
    second = await setup.client.post(URL, json=intent(setup), headers=setup.operator)
    assert second.status_code == 409 and "in progress" in second.json()["detail"]
    assert (await first).status_code == 201 and len(new_changes(setup)) == 1
    third = await setup.client.post(URL, json=intent(setup), headers=setup.operator)
    assert third.status_code == 200 and third.json() == (await first).json()
