"""The registry: entry points, loud load failures, unknown types, config validation."""

from __future__ import annotations

from collections.abc import Iterator
from importlib.metadata import EntryPoint

import pytest

from connectors.base import registry
from connectors.base.errors import ConfigError
from connectors.base.registry import (
    ENTRY_POINT_GROUP,
    ConnectorLoadError,
    get_connector_class,
    load_connectors,
    load_entry_point,
    parse_config,
)
from connectors.servicenow import ServiceNowConnector


@pytest.fixture
def fresh_registry() -> Iterator[None]:
    registry.clear_cache()
    yield
    registry.clear_cache()


def entry(name: str, value: str) -> EntryPoint:
    return EntryPoint(name=name, value=value, group=ENTRY_POINT_GROUP)


def test_installed_servicenow_is_registered() -> None:
    assert load_connectors()["servicenow"] is ServiceNowConnector
    assert get_connector_class("servicenow") is ServiceNowConnector


def test_unknown_type_names_it_and_lists_the_known_ones() -> None:
    with pytest.raises(ConfigError) as caught:
        get_connector_class("servicenoww")
    assert "Unknown connector type 'servicenoww'" in caught.value.message
    assert "servicenow" in caught.value.message.split("known types:")[1]


def test_builtin_that_fails_to_import_names_entry_point_and_cause() -> None:
    with pytest.raises(ConnectorLoadError) as caught:
        load_entry_point(entry("okta", "connectors.okta_missing:OktaConnector"))
    message = caught.value.message
    assert message.startswith("Built-in connector 'okta' (connectors.okta_missing:OktaConnector)")
    assert "ModuleNotFoundError" in message and "connectors.okta_missing" in message


def test_entry_point_that_is_not_a_connector_is_refused() -> None:
    with pytest.raises(ConnectorLoadError, match="is not a Connector"):
        load_entry_point(entry("json", "json:dumps"))


def test_entry_point_name_must_equal_slug() -> None:
    with pytest.raises(ConnectorLoadError, match="declares slug 'servicenow'"):
        load_entry_point(entry("snow", "connectors.servicenow:ServiceNowConnector"))


def test_broken_entry_point_fails_the_whole_registry_load(
    fresh_registry: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    broken = [
        entry("servicenow", "connectors.servicenow:ServiceNowConnector"),
        entry("acme", "acme_connector:AcmeConnector"),
    ]
    monkeypatch.setattr(registry, "entry_points", lambda group: broken)
    with pytest.raises(ConnectorLoadError, match=r"connector 'acme' .* failed to load"):
        load_connectors()


def test_duplicate_slugs_fail_loudly(fresh_registry: None, monkeypatch: pytest.MonkeyPatch) -> None:
    twice = [entry("servicenow", "connectors.servicenow:ServiceNowConnector")] * 2
    monkeypatch.setattr(registry, "entry_points", lambda group: twice)
    with pytest.raises(ConnectorLoadError, match="Two connectors are registered as 'servicenow'"):
        load_connectors()


def test_invalid_config_names_fields_without_values() -> None:
    raw = {"instance_url": "ftp://x", "username": "", "password": ["hunter2-secret"]}
    with pytest.raises(ConfigError) as caught:
        parse_config(ServiceNowConnector, raw)
    assert caught.value.details["fields"] == ["instance_url", "username", "password"]
    assert "hunter2" not in caught.value.message
    assert caught.value.__cause__ is None and caught.value.__suppress_context__
