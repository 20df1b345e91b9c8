"""A hash of everything a document is built from, so an unchanged input skips the build.

It covers the live records of the document's entity kinds (id, connection and
content hash, in id order: any upsert, content change or deletion changes it)
and a fingerprint of what else shapes the output: the connections (names,
connector, category, opt-ins, precedence rank), the merge settings and the
builder version.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

import orjson
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from pip_service.config import Settings
from pip_service.documents.sources import Source
from pip_service.records.models import Record

BUILDER_VERSION = "1"
BATCH = 20_000


def fingerprint(sources: dict[int, Source], settings: Settings) -> bytes:
    """What besides the records decides a document's body."""
    connections = [
        (s.id, s.name, s.connector, s.category, s.include_restricted, s.rank)
        for s in sorted(sources.values(), key=lambda s: s.id)
    ]
    context = [BUILDER_VERSION, settings.device_compliance_rule, connections]
    return orjson.dumps(context)


async def inputs_hash(session: AsyncSession, entities: Iterable[str], context: bytes) -> str:
    """SHA-256 over ``context`` and the live records of ``entities``."""
    digest = hashlib.sha256(context)
    stmt = (
        select(Record.id, Record.connection_id, Record.content_hash)
        .where(Record.entity.in_(sorted(entities)), Record.deleted_at.is_(None))
        .order_by(Record.id)
        .execution_options(yield_per=BATCH)
    )
    connection = await session.connection()
    result = await connection.stream(stmt)
    async for partition in result.partitions():
        digest.update("".join(f"{i}:{c}:{h};" for i, c, h in partition).encode())
    return digest.hexdigest()
