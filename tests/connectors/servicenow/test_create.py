"""Creating change requests: fields posted, CIs linked, never twice (not even after a timeout)."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx

from connectors.base.itsm import ChangeCreator, ChangeIntent, CreatedChange
from connectors.base.registry import parse_config
from connectors.base.testing import RecordingSleep
from connectors.servicenow import ServiceNowConnector
from tests.connectors.servicenow.harness import Harness


def intent(harness: Harness, marker: str = "pip-0123456789abcdef", count: int = 2) -> ChangeIntent:
    return ChangeIntent(
        summary="Roll out Chrome 131 to the pilot ring",
        risk_score=75,
        start=datetime(2026, 12, 1, 22, 0, tzinfo=UTC),
        end=datetime(2026, 12, 2, 1, 0, tzinfo=UTC),
        marker=marker,
        correlation_id="deploy-42",
        affected=[row["sys_id"] for row in harness.fake.rows()[:count]],
    )


async def create(harness: Harness, wanted: ChangeIntent, timeout: float = 10.0) -> CreatedChange:
    config = parse_config(ServiceNowConnector, harness.config())
    async with httpx.AsyncClient(timeout=timeout) as client:
        connector = ServiceNowConnector(config, http_client=client, sleep=RecordingSleep())  # type: ignore[arg-type]
        assert isinstance(connector, ChangeCreator)
        return await connector.create_change(wanted)


async def test_change_is_posted_with_window_risk_and_affected_cis(servicenow: Harness) -> None:
    servicenow.fake.reset(5)
    created = await create(servicenow, intent(servicenow))
    [row] = servicenow.fake.rows("change_request")
    assert created.number == row["number"] and created.source_id == row["sys_id"]
    assert row["start_date"] == "2026-12-01 22:00:00" and row["end_date"] == "2026-12-02 01:00:00"
    assert (row["risk"], row["cab_required"], row["type"]) == ("2", "true", "normal")
    assert row["correlation_id"] == "deploy-42" and row["state"] == "-5"
    linked = {t["ci_item"] for t in servicenow.fake.rows("task_ci") if t["task"] == row["sys_id"]}
    assert linked == {r["sys_id"] for r in servicenow.fake.rows()[:2]}


async def test_second_call_finds_the_change_instead_of_creating_another(
    servicenow: Harness,
) -> None:
    servicenow.fake.reset(5)
    first = await create(servicenow, intent(servicenow))
    again = await create(servicenow, intent(servicenow))
    assert again.number == first.number and again.existed
    assert len(servicenow.fake.rows("change_request")) == 1
    assert len(servicenow.fake.rows("task_ci")) == 2


async def test_timed_out_post_is_found_at_the_source_not_repeated(servicenow: Harness) -> None:
    servicenow.fake.reset(5)
    servicenow.fake.delay_next_post(1.5)  # created at once, answered after the client gave up
    created = await create(servicenow, intent(servicenow, count=1), timeout=0.5)
    assert created.existed
    assert len(servicenow.fake.rows("change_request")) == 1
    assert [table for table, _ in servicenow.fake.posts].count("change_request") == 1
    assert len(servicenow.fake.rows("task_ci")) == 1
