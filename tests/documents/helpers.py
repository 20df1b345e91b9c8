"""Factories and fakes for document tests: connections, records, connector classes, a clock."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

import orjson
from pydantic import BaseModel

from connectors.base.canonical import (
    CANONICAL_MODELS,
    CanonicalDevice,
    CanonicalGroup,
    CanonicalUser,
)
from connectors.base.connector import Connector
from connectors.base.stream import Page, Stream, SyncContext
from connectors.base.types import Category, EntityKind, Sensitivity
from pip_service.cache.base import Cache
from pip_service.cache.memory import MemoryCache
from pip_service.config import Settings
from pip_service.connections.models import Connection
from pip_service.documents.service import DocumentService
from pip_service.records.models import Record
from tests.conftest import Database

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


class FakeClock:
    """A clock tests move by hand."""

    def __init__(self, now: datetime = T0) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


class _Config(BaseModel):
    pass


class _Empty(Stream):
    async def pages(self, context: SyncContext) -> AsyncIterator[Page]:
        for _ in ():
            yield Page(records=[])


class DeviceStream(_Empty):
    name = "devices"
    record_model = CanonicalDevice


class UserStream(_Empty):
    name = "users"
    record_model = CanonicalUser


class GroupStream(_Empty):
    name = "groups"
    record_model = CanonicalGroup


class HrUserStream(_Empty):
    name = "workers"
    record_model = CanonicalUser
    field_sensitivity: ClassVar[dict[str, Sensitivity]] = {"job_title": Sensitivity.RESTRICTED}


def _connector(slug: str, category: Category, *streams: type[Stream]) -> type[Connector[Any]]:
    attrs = {
        "slug": slug,
        "title": slug,
        "category": category,
        "config_model": _Config,
        "streams": streams,
    }
    return type(f"Fake{slug.title()}", (Connector,), attrs)


CONNECTORS = {
    cls.slug: cls
    for cls in (
        _connector("servicenow", Category.CMDB, DeviceStream),
        _connector("intune", Category.MDM, DeviceStream),
        _connector("jamf", Category.MDM, DeviceStream),
        _connector("abm", Category.MDM, DeviceStream),
        _connector("okta", Category.IDENTITY, UserStream, GroupStream),
        _connector("entra", Category.IDENTITY, UserStream, GroupStream),
        _connector("workday", Category.IDENTITY, HrUserStream),
    )
}
CONNECTORS["abm"].assignment_only = True  # its records are assignments, not management


def lookup(slug: str) -> type[Connector[Any]] | None:
    """The fake registry."""
    return CONNECTORS.get(slug)


def settings(**overrides: Any) -> Settings:
    """Settings independent of the environment."""
    return Settings(_env_file=None, **{"redis_url": None, **overrides})


def make_service(
    db: Database, *, cache: Cache | None = None, clock: FakeClock | None = None, **overrides: Any
) -> DocumentService:
    """A DocumentService on the test database with the fake registry."""
    return DocumentService(
        db.sessions,
        cache if cache is not None else MemoryCache(),
        settings(**overrides),
        clock=clock or FakeClock(),
        connector_lookup=lookup,
    )


async def add_connection(
    db: Database,
    name: str,
    connector_type: str,
    *,
    include_restricted: bool = False,
    last_success_at: datetime | None = None,
) -> Connection:
    """Insert a connection row."""
    async with db.sessions() as session, session.begin():
        row = Connection(
            name=name,
            connector_type=connector_type,
            include_restricted=include_restricted,
            last_success_at=last_success_at,
        )
        session.add(row)
    return row


def make_record(
    connection: Connection,
    entity: str,
    source_id: str,
    *,
    stream: str | None = None,
    updated_at: datetime = T0,
    **fields: Any,
) -> Record:
    """A record row the way the sync engine stores one (through the canonical model)."""
    model = CANONICAL_MODELS[EntityKind(entity)](source_id=source_id, **fields)
    data = model.model_dump(mode="json", exclude_none=True)
    data.pop("source_id")
    digest = hashlib.sha256(orjson.dumps(data, option=orjson.OPT_SORT_KEYS)).hexdigest()
    return Record(
        connection_id=connection.id,
        stream=stream or _default_stream(entity),
        entity=entity,
        external_id=source_id,
        entity_key=model.key,
        data=data,
        content_hash=digest,
        updated_at=updated_at,
    )


def _default_stream(entity: str) -> str:
    return {"device": "devices", "user": "users", "group": "groups"}.get(entity, f"{entity}s")


async def add_records(db: Database, *records: Record) -> None:
    """Insert record rows in one transaction."""
    async with db.sessions() as session, session.begin():
        session.add_all(records)


async def body(service: DocumentService, name: str) -> dict[str, Any]:
    """The parsed body of a served document."""
    served = await service.get(name)
    data: dict[str, Any] = served.data()
    return data
