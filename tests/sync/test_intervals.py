"""Sync intervals: seed defaults per source type, capped to refresh ahead of the TTL; back-off."""

from __future__ import annotations

from datetime import timedelta
from typing import Any, ClassVar

from connectors.base.canonical import CanonicalGroup, CanonicalUser
from connectors.base.stream import Stream
from connectors.base.types import Sensitivity
from pip_service.config import Settings
from pip_service.connections.models import Connection
from pip_service.sync.breaker import BreakerPolicy
from pip_service.sync.intervals import default_interval, effective_interval
from tests.sync.source import MemoryConnector


class GroupStream(Stream):
    name = "groups"
    record_model = CanonicalGroup

    async def pages(self, context: Any) -> Any:  # pragma: no cover - never read here
        raise NotImplementedError
        yield


class PublicGroupStream(GroupStream):
    field_sensitivity: ClassVar[dict[str, Sensitivity]] = {
        name: Sensitivity.PUBLIC for name in CanonicalGroup.model_fields
    }


class UsersStream(GroupStream):
    name = "users"
    record_model = CanonicalUser


class Jamf(MemoryConnector):
    slug = "jamf"
    streams: ClassVar[tuple[type[Stream], ...]] = (PublicGroupStream,)


class Ldap(MemoryConnector):
    slug = "ldap"
    streams: ClassVar[tuple[type[Stream], ...]] = (GroupStream,)


class Directory(MemoryConnector):
    slug = "directory"
    streams: ClassVar[tuple[type[Stream], ...]] = (UsersStream,)


def _connection(**values: Any) -> Connection:
    return Connection(**{"interval_seconds": None, "include_restricted": False, **values})


def test_defaults_come_from_the_integration_plan() -> None:
    assert default_interval(Jamf) == timedelta(minutes=15)
    assert default_interval(Ldap) == timedelta(hours=4)
    assert default_interval(Directory) == timedelta(hours=1)  # the class's own default


def test_the_interval_refreshes_ahead_of_the_most_sensitive_ttl() -> None:
    settings = Settings(ttl_public=86400, ttl_internal=3600, ttl_confidential=900)

    assert effective_interval(_connection(), Jamf, settings) == timedelta(minutes=15)
    assert effective_interval(_connection(), Ldap, settings) == timedelta(seconds=2880)
    assert effective_interval(_connection(), Directory, settings) == timedelta(seconds=720)
    assert effective_interval(_connection(interval_seconds=60), Ldap, settings) == timedelta(
        seconds=60
    )


def test_restricted_fields_count_only_when_included() -> None:
    settings = Settings(ttl_restricted=300, ttl_confidential=900, refresh_ahead_ratio=0.5)

    assert effective_interval(_connection(), Directory, settings) == timedelta(seconds=450)
    opted_in = _connection(include_restricted=True)
    assert effective_interval(opted_in, Directory, settings) == timedelta(seconds=150)


def test_backoff_doubles_from_the_threshold_and_is_capped() -> None:
    policy = BreakerPolicy(threshold=3, base_seconds=60, max_seconds=200)

    assert [policy.backoff(n).total_seconds() for n in (3, 4, 5, 9)] == [60, 120, 200, 200]
