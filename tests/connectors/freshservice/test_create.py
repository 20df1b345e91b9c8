"""Creating Freshservice changes: fields, assets, never twice (not even after a timeout)."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest

from connectors.base.errors import ConfigError
from connectors.base.itsm import ChangeCreator, ChangeIntent, CreatedChange
from connectors.base.registry import parse_config
from connectors.base.testing import RecordingSleep
from connectors.freshservice import FreshserviceConnector
from tests.connectors.freshservice.harness import Harness

REQUESTER = 101


def intent(marker: str = "pip-0123456789abcdef", affected: list[str] | None = None) -> ChangeIntent:
    return ChangeIntent(
        summary="Roll out Chrome 131 to the pilot ring",
        risk_score=75,
        start=datetime(2026, 12, 1, 22, 0, tzinfo=UTC),
        end=datetime(2026, 12, 2, 1, 0, tzinfo=UTC),
        marker=marker,
        correlation_id="deploy-42",
        affected=["1", "2"] if affected is None else affected,
    )


async def create(
    harness: Harness, wanted: ChangeIntent, timeout: float = 10.0, requester: int | None = REQUESTER
) -> CreatedChange:
    config = parse_config(
        FreshserviceConnector, {**harness.config(), "change_requester_id": requester}
    )
    async with httpx.AsyncClient(timeout=timeout) as client:
        connector = FreshserviceConnector(config, http_client=client, sleep=RecordingSleep())  # type: ignore[arg-type]
        assert isinstance(connector, ChangeCreator)
        return await connector.create_change(wanted)


async def test_change_is_posted_with_window_risk_and_assets(freshservice: Harness) -> None:
    freshservice.fake.reset(0)
    created = await create(freshservice, intent())
    [posted] = freshservice.fake.posts
    assert created.number == f"CHN-{created.source_id}" and created.state == "new"
    assert posted["planned_start_date"] == "2026-12-01T22:00:00Z"
    assert posted["planned_end_date"] == "2026-12-02T01:00:00Z"
    assert (posted["risk"], posted["change_type"], posted["status"]) == (3, 3, 1)
    assert posted["requester_id"] == REQUESTER
    assert posted["assets"] == [{"display_id": 1}, {"display_id": 2}]
    assert "deploy-42" in posted["description"]


async def test_second_call_finds_the_change_instead_of_creating_another(
    freshservice: Harness,
) -> None:
    freshservice.fake.reset(3)
    first = await create(freshservice, intent())
    again = await create(freshservice, intent())
    other = await create(freshservice, intent(marker="pip-ffffffffffffffff"))
    assert again.number == first.number and again.existed and not first.existed
    assert other.number != first.number
    assert len(freshservice.fake.posts) == 2 and len(freshservice.fake.data.changes) == 5


async def test_timed_out_post_is_found_at_the_source_not_repeated(freshservice: Harness) -> None:
    freshservice.fake.reset(0)
    freshservice.fake.delay_next_post(1.5)  # created at once, answered after the client gave up
    created = await create(freshservice, intent(), timeout=0.5)
    assert created.existed
    assert len(freshservice.fake.posts) == 1 and len(freshservice.fake.data.changes) == 1


@pytest.mark.parametrize(
    ("requester", "affected", "field"),
    [(None, ["1"], "change_requester_id"), (REQUESTER, ["not-an-id"], "affected")],
)
async def test_bad_input_is_refused_before_anything_is_written(
    freshservice: Harness, requester: int | None, affected: list[str], field: str
) -> None:
    freshservice.fake.reset(0)
    with pytest.raises(ConfigError) as caught:
        await create(freshservice, intent(affected=affected), requester=requester)
    assert caught.value.details["field"] == field
    assert freshservice.fake.posts == [] and freshservice.fake.requests == []
