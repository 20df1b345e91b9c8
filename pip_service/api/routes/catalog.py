"""Admin: the connector catalogue, with each connector's config JSON Schema and streams."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel

from connectors.base import registry
from connectors.base.connector import Connector
from pip_service.api.deps import STRICT_QUERY, CurrentViewer
from pip_service.api.problems import PROBLEM_RESPONSES

router = APIRouter(
    prefix="/api/v1/connectors",
    tags=["connectors"],
    responses=PROBLEM_RESPONSES,
    dependencies=[STRICT_QUERY],
)


class StreamSummary(BaseModel):
    """A stream a connector reads."""

    name: str
    entity: str
    incremental: bool


class ConnectorOut(BaseModel):
    """A connector type that connections can use."""

    slug: str
    title: str
    category: str
    config_schema: dict[str, Any]
    secret_fields: list[str]
    streams: list[StreamSummary]
    default_interval_seconds: int


@router.get("")
async def list_connectors(_: CurrentViewer) -> list[ConnectorOut]:
    """Every installed connector type, by slug."""
    classes = registry.load_connectors()
    return [_describe(classes[slug]) for slug in sorted(classes)]


def _describe(connector: type[Connector[Any]]) -> ConnectorOut:
    return ConnectorOut(
        slug=connector.slug,
        title=connector.title,
        category=str(connector.category),
        config_schema=connector.config_schema(),
        secret_fields=connector.secret_fields(),
        streams=[
            StreamSummary(
                name=stream.name,
                entity=str(stream.record_model.entity),
                incremental=stream.replication_key is not None,
            )
            for stream in connector.streams
        ],
        default_interval_seconds=int(connector.default_interval.total_seconds()),
    )
