"""Timestamps in documents: RFC 3339, UTC, whole seconds, ``Z`` (so strings compare in order)."""

from __future__ import annotations

import types
import typing
from datetime import UTC, datetime
from typing import Any

from connectors.base.canonical import CANONICAL_MODELS
from connectors.base.types import EntityKind

_NESTED: dict[str, dict[str, tuple[str, ...]]] = {"change": {"approvals": ("at",)}}


def to_utc(value: str) -> str:
    """``value`` as ``YYYY-MM-DDTHH:MM:SSZ``; naive times are taken as UTC."""
    if len(value) == 20 and value[-1] == "Z":
        return value
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return value
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def aware(moment: datetime) -> datetime:
    """A datetime read from the database as UTC-aware (SQLite hands back naive UTC values)."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def format_utc(moment: datetime) -> str:
    """A datetime in the documents' timestamp format."""
    return to_utc(moment.isoformat())


def timestamp_fields(entity: str) -> tuple[str, ...]:
    """Top-level fields of an entity kind's canonical model that hold datetimes."""
    model = CANONICAL_MODELS[EntityKind(entity)]
    return tuple(name for name, info in model.model_fields.items() if _is_datetime(info.annotation))


def normalize(data: dict[str, Any], fields: tuple[str, ...], entity: str) -> None:
    """Rewrite the timestamps of one record's data in place."""
    for name in fields:
        value = data.get(name)
        if isinstance(value, str):
            data[name] = to_utc(value)
    for name, inner in _NESTED.get(entity, {}).items():
        for item in data.get(name) or ():
            for field in inner:
                if isinstance(item.get(field), str):
                    item[field] = to_utc(item[field])


def _is_datetime(annotation: Any) -> bool:
    if annotation is datetime:
        return True
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        return datetime in typing.get_args(annotation)
    return False
