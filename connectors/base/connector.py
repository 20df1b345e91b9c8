"""The Connector base: one per source system, generic over its config model."""

from __future__ import annotations

import time
from abc import ABC
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, ClassVar, Generic, TypeVar

import httpx
from pydantic import BaseModel, SecretStr

from connectors.base.stream import Stream
from connectors.base.types import Category, EntityKind, Sensitivity

ConfigT = TypeVar("ConfigT", bound=BaseModel)


@dataclass(frozen=True)
class ConnectionTestResult:
    """What ``test_connection`` found, shown to the admin as is."""

    ok: bool
    message: str
    latency_ms: float | None = None
    checked: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    error_code: str | None = None


@dataclass(frozen=True)
class FieldInfo:
    """One field a stream emits."""

    name: str
    type: str
    sensitivity: Sensitivity
    description: str | None = None


@dataclass(frozen=True)
class StreamInfo:
    """A stream as ``discover`` reports it."""

    name: str
    entity: EntityKind
    primary_key: str
    replication_key: str | None
    fields: list[FieldInfo]


class Connector(ABC, Generic[ConfigT]):
    """Base of every connector. Subclasses declare the class attributes below."""

    slug: ClassVar[str]
    title: ClassVar[str]
    category: ClassVar[Category]
    config_model: ClassVar[type[BaseModel]]
    streams: ClassVar[tuple[type[Stream], ...]]
    default_interval: ClassVar[timedelta] = timedelta(hours=1)
    is_demo: ClassVar[bool] = False
    # Its device records say where a device should be managed (Apple Business Manager),
    # not that it is: the document builder does not count them in ``managed_by``.
    assignment_only: ClassVar[bool] = False

    def __init__(self, config: ConfigT, *, http_client: httpx.AsyncClient | None = None) -> None:
        self.config = config
        self.http_client = http_client

    @classmethod
    def secret_fields(cls) -> list[str]:
        """Names of the config fields that hold secrets (typed ``SecretStr``)."""
        return [
            name
            for name, info in cls.config_model.model_fields.items()
            if _is_secret(info.annotation)
        ]

    @classmethod
    def config_schema(cls) -> dict[str, Any]:
        """JSON Schema of the config model: the admin form and the docs are made from it."""
        return cls.config_model.model_json_schema()

    def get_streams(self) -> list[Stream]:
        """Instances of the declared streams, bound to this connector."""
        return [stream_class(self) for stream_class in self.streams]

    async def discover(self) -> list[StreamInfo]:
        """Streams with their fields, types and sensitivity."""
        return [_stream_info(stream_class) for stream_class in self.streams]

    async def test_connection(self) -> ConnectionTestResult:
        """Check that the source answers and the credentials carry the needed rights.

        The default reads the first page of the first stream; connectors override
        it to check scopes and permissions by name.
        """
        from connectors.base.errors import PipError
        from connectors.base.stream import SyncContext

        began = time.perf_counter()
        stream = self.get_streams()[0]
        try:
            async for _page in stream.pages(SyncContext(started_at=_utcnow())):
                break
        except PipError as err:
            return ConnectionTestResult(
                ok=False,
                message=err.message,
                error_code=err.code,
                latency_ms=_ms_since(began),
                checked=[stream.name],
            )
        return ConnectionTestResult(
            ok=True,
            message=f"Read {stream.name} successfully",
            latency_ms=_ms_since(began),
            checked=[stream.name],
        )

    async def aclose(self) -> None:
        """Release what the connector holds (sessions, tokens); the http client is not ours."""


def _is_secret(annotation: Any) -> bool:
    if annotation is SecretStr:
        return True
    return SecretStr in getattr(annotation, "__args__", ())


def _stream_info(stream_class: type[Stream]) -> StreamInfo:
    sensitivities = stream_class.sensitivities()
    fields = [
        FieldInfo(
            name=name,
            type=_type_name(info.annotation),
            sensitivity=sensitivities.get(name, Sensitivity.INTERNAL),
            description=info.description,
        )
        for name, info in stream_class.record_model.model_fields.items()
    ]
    return StreamInfo(
        name=stream_class.name,
        entity=stream_class.record_model.entity,
        primary_key=stream_class.primary_key,
        replication_key=stream_class.replication_key,
        fields=fields,
    )


def _type_name(annotation: Any) -> str:
    return str(annotation).replace("typing.", "") if annotation is not None else "any"


def _utcnow() -> Any:
    from datetime import UTC, datetime

    return datetime.now(UTC)


def _ms_since(began: float) -> float:
    return round((time.perf_counter() - began) * 1000, 2)
