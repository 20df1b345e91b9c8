"""Create a change request from a deployment intent, exactly once per idempotency key.

1. Validate everything first (the connection exists and can create changes,
   every affected device key is known): bad input writes nothing.
2. Claim the key in its own short transaction: a new ``pending`` link, or the
   existing one. A ``created`` link is answered as is (a replay); a key sent
   again with a different request is a conflict; a pending link another
   request is working on (its attempt started less than ``LEASE`` ago) is a
   conflict too, so two requests never ask the ITSM system at once.
3. Ask the connector (outside any transaction). It looks the change up by the
   intent's marker before creating it, so a retry after a timeout finds the
   change the first attempt made.
4. Store the number and sys_id (``created``), or the error (still ``pending``,
   the lease released so a retry may go at once).
"""

from __future__ import annotations

import hashlib
import logging
import re
from datetime import timedelta
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from connectors.base import registry
from connectors.base.canonical import normalize_serial
from connectors.base.itsm import ChangeCreator, ChangeIntent, CreatedChange
from pip_service.audit.service import record_event
from pip_service.changes.models import ChangeRequestLink
from pip_service.changes.schemas import ChangeRequestCreate
from pip_service.connections.models import Connection
from pip_service.db.base import utcnow
from pip_service.errors import ConfigError, ConflictError, NotFoundError, PipError
from pip_service.records.models import Record
from pip_service.runtime import Runtime

logger = logging.getLogger(__name__)

LEASE = timedelta(seconds=120)
_SYS_ID = re.compile(r"^[0-9a-f]{32}$")
Sessions = async_sessionmaker[AsyncSession]


async def create_change_request(
    *, runtime: Runtime, request: ChangeRequestCreate, actor: str
) -> tuple[ChangeRequestLink, bool]:
    """The link for ``request`` and whether it was a replay of an earlier success."""
    connection, affected = await _validate(runtime.sessions, request)
    link = await _claim(runtime.sessions, request, actor)
    if link.status == "created":
        return link, True
    intent = _intent(request, affected)
    try:
        created = await _ask(runtime, connection, intent)
    except PipError as err:
        await _release(runtime.sessions, link.id, err)
        raise
    return await _store(runtime.sessions, link.id, created, actor), False


async def get_change_request(session: AsyncSession, key: str) -> ChangeRequestLink:
    """The link stored for an idempotency key, or NotFoundError."""
    found = await session.scalar(
        select(ChangeRequestLink).where(ChangeRequestLink.idempotency_key == key)
    )
    if found is None:
        raise NotFoundError(f"no change request was created with idempotency key {key!r}")
    return found


def marker(key: str) -> str:
    """The value stored on the change so a retry finds it (a hash: keys may be long)."""
    return "pip-" + hashlib.sha256(key.encode()).hexdigest()[:32]


def fingerprint(request: ChangeRequestCreate) -> str:
    """A hash of what was asked, to refuse a key reused for another request."""
    body = request.model_dump_json(exclude={"idempotency_key", "deployment_intent_id"})
    return hashlib.sha256(body.encode()).hexdigest()


# --- 1. validation ------------------------------------------------------------------


async def _validate(
    sessions: Sessions, request: ChangeRequestCreate
) -> tuple[Connection, list[str]]:
    async with sessions() as session:
        connection = await session.get(Connection, request.connection_id)
        if connection is None:
            raise ConfigError(
                f"connection {request.connection_id} does not exist", field="connection_id"
            )
        _check_capability(connection)
        affected = await _resolve(session, connection.id, request.affected)
    return connection, affected


def _check_capability(connection: Connection) -> None:
    connector_class = registry.get_connector_class(connection.connector_type)
    if not callable(getattr(connector_class, "create_change", None)):
        raise ConfigError(
            f"connection {connection.name!r} ({connection.connector_type}) cannot create "
            "change requests",
            field="connection_id",
        )


async def _resolve(session: AsyncSession, connection_id: int, items: list[str]) -> list[str]:
    """CI sys_ids for the affected items: sys_ids as given, device keys via stored records."""
    keys = {item: device_key(item) for item in items if not _SYS_ID.match(item)}
    found = await _device_ids(session, connection_id, list(keys.values()))
    unknown = [
        {"field": f"affected.{n}", "reason": "no device with this key in the connection"}
        for n, item in enumerate(items)
        if item in keys and keys[item] not in found
    ]
    if unknown:
        names = ", ".join(item["field"] for item in unknown)
        raise ConfigError(f"unknown affected devices: {names}", errors=_problems(unknown))
    return [found[keys[item]] if item in keys else item for item in items]


def device_key(item: str) -> str:
    """A device key as the devices document writes it (serial numbers upper-case)."""
    kind, colon, rest = item.partition(":")
    if colon and kind in ("tag", "host", "id"):
        shown = {"tag": rest.strip().upper(), "host": rest.strip().lower(), "id": rest}[kind]
        return f"{kind}:{shown}"
    return normalize_serial(item)


async def _device_ids(session: AsyncSession, connection_id: int, keys: list[str]) -> dict[str, str]:
    if not keys:
        return {}
    rows = await session.execute(
        select(Record.entity_key, Record.external_id).where(
            Record.connection_id == connection_id,
            Record.entity == "device",
            Record.entity_key.in_(keys),
            Record.deleted_at.is_(None),
        )
    )
    return {str(key): str(external_id) for key, external_id in rows}


def _problems(items: list[dict[str, str]]) -> list[dict[str, str]]:
    return [{"field": item["field"], "message": item["reason"]} for item in items]


# --- 2. claiming the key ------------------------------------------------------------


async def _claim(sessions: Sessions, request: ChangeRequestCreate, actor: str) -> ChangeRequestLink:
    wanted = fingerprint(request)
    link = await _existing(sessions, request.key)
    if link is None:
        link = await _insert(sessions, request, wanted, actor)
        if link is not None:
            return link
        link = await _existing(sessions, request.key)
        assert link is not None
    if link.request_hash != wanted:
        raise ConflictError(
            "this idempotency key was already used for a different request",
            field="idempotency_key",
        )
    if link.status != "created" and not await _take_lease(sessions, link.id):
        raise ConflictError(
            "a request with this idempotency key is in progress; retry shortly",
            field="idempotency_key",
        )
    return link


async def _existing(sessions: Sessions, key: str) -> ChangeRequestLink | None:
    async with sessions() as session:
        return await session.scalar(
            select(ChangeRequestLink).where(ChangeRequestLink.idempotency_key == key)
        )


async def _insert(
    sessions: Sessions, request: ChangeRequestCreate, wanted: str, actor: str
) -> ChangeRequestLink | None:
    link = ChangeRequestLink(
        idempotency_key=request.key,
        connection_id=request.connection_id,
        request_hash=wanted,
        correlation_id=request.correlation_id or request.key,
        status="pending",
        attempt_started_at=utcnow(),
        created_by=actor,
    )
    try:
        async with sessions.begin() as session:
            session.add(link)
    except IntegrityError:  # another request claimed the key first
        return None
    return link


async def _take_lease(sessions: Sessions, link_id: int) -> bool:
    now = utcnow()
    async with sessions.begin() as session:
        result: Any = await session.execute(
            update(ChangeRequestLink)
            .where(
                ChangeRequestLink.id == link_id,
                ChangeRequestLink.status == "pending",
                or_(
                    ChangeRequestLink.attempt_started_at.is_(None),
                    ChangeRequestLink.attempt_started_at < now - LEASE,
                ),
            )
            .values(attempt_started_at=now)
        )
    return bool(result.rowcount == 1)


# --- 3. asking the ITSM system, 4. storing the outcome -------------------------------


def _intent(request: ChangeRequestCreate, affected: list[str]) -> ChangeIntent:
    return ChangeIntent(
        summary=request.summary,
        description=request.description,
        risk_score=request.risk_score,
        start=request.window.start,
        end=request.window.end,
        affected=affected,
        marker=marker(request.key),
        correlation_id=request.correlation_id or request.key,
    )


async def _ask(runtime: Runtime, connection: Connection, intent: ChangeIntent) -> CreatedChange:
    async with runtime.connector_for(connection) as connector:
        if not isinstance(connector, ChangeCreator):
            raise ConfigError(
                "this connection cannot create change requests", field="connection_id"
            )
        return await connector.create_change(intent)


async def _release(sessions: Sessions, link_id: int, err: PipError) -> None:
    async with sessions.begin() as session:
        link = await session.get(ChangeRequestLink, link_id)
        if link is not None:
            link.attempt_started_at, link.error = None, f"[{err.code}] {err.message}"[:2000]
    logger.warning("creating change request %s failed: %s", link_id, err.code)


async def _store(
    sessions: Sessions, link_id: int, created: CreatedChange, actor: str
) -> ChangeRequestLink:
    async with sessions.begin() as session:
        link = await session.get(ChangeRequestLink, link_id)
        assert link is not None
        link.change_number, link.source_id = created.number, created.source_id
        link.status, link.error, link.attempt_started_at = "created", None, None
        await record_event(
            session, actor=actor, action="change_request.create", target_type="connection",
            target_id=link.connection_id,
            details={"change_number": created.number, "found_existing": created.existed},
            correlation_id=link.correlation_id,
        )  # fmt: skip
    logger.info("change request %s stored for link %s", created.number, link_id)
    return link
