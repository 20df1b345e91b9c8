"""The demo connector: determinism, counts as parameters, paging, config errors, discovery."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from connectors.base import registry
from connectors.base.stream import SyncContext
from connectors.base.types import Category
from connectors.demo import DemoConfig, DemoConnector, stream_counts
from tests.connectors.demo.conftest import NOW, collect

SMALL: dict[str, Any] = {
    "users": 60,
    "devices": 300,
    "applications": 40,
    "deployments": 120,
    "changes": 20,
    "audit_events": 400,
}


def as_json(dataset: dict[str, list[Any]]) -> str:
    records = {name: [r.model_dump(mode="json") for r in rs] for name, rs in dataset.items()}
    return json.dumps(records, sort_keys=True)


async def test_same_seed_and_time_give_identical_records() -> None:
    first = await collect(DemoConfig(**SMALL, now=NOW))
    second = await collect(DemoConfig(**SMALL, now=NOW))
    assert as_json(first) == as_json(second)


async def test_another_seed_gives_other_records_of_the_same_shape() -> None:
    first = await collect(DemoConfig(**SMALL, now=NOW, seed=1))
    second = await collect(DemoConfig(**SMALL, now=NOW, seed=2))
    for stream in ("users", "devices", "deployments", "changes", "audit_events"):
        assert len(first[stream]) == len(second[stream])
        assert as_json({stream: first[stream]}) != as_json({stream: second[stream]}), stream
    serials = {d.serial_number for d in first["devices"]}
    assert serials.isdisjoint(d.serial_number for d in second["devices"])


async def test_without_now_syncs_on_one_day_agree_and_the_next_day_moves_on() -> None:
    config = DemoConfig(**SMALL)
    morning = await collect(config, datetime(2026, 3, 2, 7, 5, tzinfo=UTC))
    evening = await collect(config, datetime(2026, 3, 2, 22, 40, tzinfo=UTC))
    tomorrow = await collect(config, datetime(2026, 3, 3, 7, 5, tzinfo=UTC))
    assert as_json(morning) == as_json(evening)
    assert as_json(morning) != as_json(tomorrow)
    shifted = morning["devices"][0].last_seen + timedelta(days=1)
    assert tomorrow["devices"][0].last_seen == shifted


async def test_one_stream_count_does_not_disturb_the_others() -> None:
    base = await collect(DemoConfig(**SMALL, now=NOW))
    more_devices = await collect(DemoConfig(**{**SMALL, "audit_events": 900}, now=NOW))
    assert as_json({"d": base["devices"]}) == as_json({"d": more_devices["devices"]})
    assert len(more_devices["audit_events"]) == 900


async def test_counts_are_parameters_and_pages_stay_small() -> None:
    config = DemoConfig(**{**SMALL, "devices": 2_345, "page_size": 500}, now=NOW)
    connector = DemoConnector(config)
    counts = stream_counts(config)
    for stream in connector.get_streams():
        sizes = [len(p.records) async for p in stream.pages(SyncContext(started_at=NOW))]
        assert sum(sizes) == counts[stream.name], stream.name
        assert max(sizes) <= 500
    assert counts["devices"] == 2_345


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("devices", -1),
        ("users", 3),
        ("seed", "abc"),
        ("domain", "not a domain"),
        ("now", "2026-01-06T00:00:00"),
        ("colour", "blue"),
    ],
)
def test_bad_config_is_refused_naming_the_field(field: str, value: object) -> None:
    with pytest.raises(ValidationError) as caught:
        DemoConfig.model_validate({field: value})
    assert field in str(caught.value)


def test_the_default_config_is_the_seed_plans_full_dataset() -> None:
    counts = stream_counts(DemoConfig())
    assert counts == {
        "users": 1_000,
        "groups": 12,
        "devices": 50_000,
        "applications": 5_000,
        "deployments": 10_000,
        "changes": 500,
        "audit_events": 100_000,
    }


def test_the_connector_is_registered_as_a_demo_source_without_secrets() -> None:
    assert registry.get_connector_class("demo") is DemoConnector
    assert DemoConnector.is_demo and DemoConnector.category == Category.DEMO
    assert DemoConnector.secret_fields() == []
    assert "devices" in DemoConnector.config_schema()["properties"]


async def test_discover_lists_every_stream_with_entity_and_sensitivity() -> None:
    streams = {s.name: s for s in await DemoConnector(DemoConfig()).discover()}
    assert list(streams) == [
        "users",
        "groups",
        "devices",
        "applications",
        "deployments",
        "changes",
        "audit_events",
    ]
    assert streams["devices"].entity == "device"
    owner = next(f for f in streams["devices"].fields if f.name == "owner")
    assert owner.sensitivity.label == "confidential"


async def test_test_connection_succeeds_without_any_network() -> None:
    result = await DemoConnector(DemoConfig(seed=7)).test_connection()
    assert result.ok and "seed 7" in result.message
