"""Creating Jira Service Management changes: fields, assets, never twice (not after a timeout)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from connectors.base.errors import ConfigError, FatalSourceError
from connectors.base.itsm import ChangeCreator, ChangeIntent, CreatedChange
from connectors.base.registry import parse_config
from connectors.base.testing import RecordingSleep
from connectors.jira import JiraConnector
from tests.connectors.jira_service_management.harness import Harness
from tests.fakes.jira_data import CHANGE_TYPE_ID, FIELDS, PROJECT, WORKSPACE


def intent(
    marker: str = "pip-0123456789abcdef",
    affected: list[str] | None = None,
    summary: str = "Roll out Chrome 131 to the pilot ring",
) -> ChangeIntent:
    return ChangeIntent(
        summary=summary,
        risk_score=75,
        start=datetime(2026, 12, 1, 22, 0, tzinfo=UTC),
        end=datetime(2026, 12, 2, 1, 0, tzinfo=UTC),
        marker=marker,
        correlation_id="deploy-42",
        affected=["1", "2"] if affected is None else affected,
    )


def settings(harness: Harness, **changes: Any) -> dict[str, Any]:
    return {
        **harness.config(),
        "change_project_key": PROJECT,
        "change_issue_type_id": CHANGE_TYPE_ID,
        **changes,
    }


async def create(
    harness: Harness, wanted: ChangeIntent, timeout: float = 10.0, **changes: Any
) -> CreatedChange:
    config = parse_config(JiraConnector, settings(harness, **changes))
    async with httpx.AsyncClient(timeout=timeout) as client:
        connector = JiraConnector(config, http_client=client, sleep=RecordingSleep())  # type: ignore[arg-type]
        assert isinstance(connector, ChangeCreator)
        return await connector.create_change(wanted)


async def test_change_is_created_with_window_risk_and_assets(jira: Harness) -> None:
    jira.fake.reset(0)
    created = await create(jira, intent())
    [posted] = jira.fake.posts
    assert created.number == f"{PROJECT}-2" and created.state == "new" and not created.existed
    assert (posted["project"], posted["issuetype"]) == ({"key": PROJECT}, {"id": CHANGE_TYPE_ID})
    assert posted["labels"] == ["pip-0123456789abcdef"]
    assert posted[FIELDS["planned_start"]] == "2026-12-01T22:00:00.000+0000"
    assert posted[FIELDS["planned_end"]] == "2026-12-02T01:00:00.000+0000"
    assert posted[FIELDS["risk"]] == {"value": "High"}
    assert [a["objectId"] for a in posted[FIELDS["affected_assets"]]] == ["1", "2"]
    assert posted[FIELDS["affected_assets"]][0]["workspaceId"] == WORKSPACE
    assert "deploy-42" in str(posted["description"])


async def test_created_change_is_read_back_by_the_next_sync(jira: Harness) -> None:
    jira.fake.reset(0)
    created = await create(jira, intent())
    async with jira.connect() as connector:
        from connectors.base.stream import SyncContext
        from connectors.base.testing import now, read_stream

        run = await read_stream(connector, "changes", SyncContext(now()))
    [change] = [r for r in run.records if r.source_id == created.source_id]
    assert change.number == created.number  # type: ignore[attr-defined]
    assert change.risk == "high" and change.state == "new"  # type: ignore[attr-defined]
    assert change.affected_cis and len(change.affected_cis) == 2  # type: ignore[attr-defined]


async def test_second_call_finds_the_change_instead_of_creating_another(jira: Harness) -> None:
    jira.fake.reset(3)
    first = await create(jira, intent())
    again = await create(jira, intent())
    other = await create(jira, intent(marker="pip-ffffffffffffffff"))
    assert again.number == first.number and again.existed and not first.existed
    assert other.number != first.number
    assert len(jira.fake.posts) == 2
    assert len([i for i in jira.fake.issues if i["fields"].get("labels")]) == 2


async def test_timed_out_create_is_found_at_the_source_not_repeated(jira: Harness) -> None:
    jira.fake.reset(0)
    jira.fake.delay_next_post(1.5)  # created at once, answered after the client gave up
    created = await create(jira, intent(), timeout=0.5)
    assert created.existed
    assert len(jira.fake.posts) == 1
    assert len([i for i in jira.fake.issues if i["fields"].get("labels")]) == 1


@pytest.mark.parametrize(
    ("changes", "affected", "field"),
    [
        ({"change_project_key": None}, ["1"], "change_project_key"),
        ({"change_issue_type_id": None}, ["1"], "change_issue_type_id"),
        ({}, ["ITSM-1"], "affected"),
        ({"change_fields": {**FIELDS, "affected_assets": None}}, ["1"],
         "change_fields.affected_assets"),
    ],
)  # fmt: skip
async def test_bad_input_is_refused_before_anything_is_written(
    jira: Harness, changes: dict[str, Any], affected: list[str], field: str
) -> None:
    jira.fake.reset(0)
    with pytest.raises(ConfigError) as caught:
        await create(jira, intent(affected=affected), **changes)
    assert caught.value.details["field"] == field
    assert jira.fake.posts == [] and jira.fake.requests == []


async def test_jira_refusing_the_fields_is_a_clear_error_and_nothing_is_created(
    jira: Harness,
) -> None:
    jira.fake.reset(0)
    with pytest.raises(FatalSourceError) as caught:
        await create(jira, intent(summary="   "))
    assert "summary" in str(caught.value)
    assert jira.fake.posts == [] and len(jira.fake.issues) == 1
