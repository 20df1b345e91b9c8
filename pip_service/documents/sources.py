"""The connections records come from: names, connector, category, precedence, opt-ins."""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from connectors.base.connector import Connector
from connectors.base.errors import PipError
from pip_service.connections.models import Connection
from pip_service.documents.timestamps import aware

logger = logging.getLogger(__name__)

ConnectorLookup = Callable[[str], "type[Connector[Any]] | None"]
"""Finds the connector class of a slug (None when unknown)."""

UNRANKED = 1_000_000


@dataclass(frozen=True, slots=True)
class Source:
    """A connection as the builder sees it; ``rank`` 0 is the highest precedence."""

    id: int
    name: str
    connector: str
    category: str | None
    include_restricted: bool
    rank: int
    last_success_at: datetime | None
    assignment_only: bool = False


def registry_lookup(slug: str) -> type[Connector[Any]] | None:
    """The connector class from ``connectors.base.registry``, None when unknown or unavailable."""
    try:
        registry = importlib.import_module("connectors.base.registry")
    except ModuleNotFoundError as err:
        if err.name != "connectors.base.registry":
            raise
        return None
    try:
        found: type[Connector[Any]] | None = registry.get_connector_class(slug)
    except (PipError, LookupError) as err:
        logger.debug("No connector class for %s: %s", slug, err)
        return None
    return found


def precedence_ranks(setting: str) -> dict[str, int]:
    """Connector slug → rank from ``PIP_SOURCE_PRECEDENCE`` (highest first)."""
    slugs = [slug.strip() for slug in setting.split(",") if slug.strip()]
    ranks: dict[str, int] = {}
    for index, slug in enumerate(slugs):
        ranks.setdefault(slug, index)
    return ranks


async def load_sources(
    session: AsyncSession, *, lookup: ConnectorLookup, precedence: str
) -> dict[int, Source]:
    """Every connection as a ``Source``, by id."""
    ranks = precedence_ranks(precedence)
    rows = (await session.execute(select(Connection))).scalars().all()
    return {row.id: _source(row, ranks, lookup) for row in rows}


def _source(row: Connection, ranks: dict[str, int], lookup: ConnectorLookup) -> Source:
    connector_class = lookup(row.connector_type)
    category = getattr(connector_class, "category", None)
    return Source(
        id=row.id,
        name=row.name,
        connector=row.connector_type,
        category=str(category) if category is not None else None,
        include_restricted=row.include_restricted,
        rank=ranks.get(row.connector_type, UNRANKED),
        last_success_at=aware(row.last_success_at) if row.last_success_at else None,
        assignment_only=getattr(connector_class, "assignment_only", False) is True,
    )
