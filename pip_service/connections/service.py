"""Connections: create, read, update, delete, and turn a stored row into a working Connector.

The caller owns the transaction: these functions flush but never commit, so
an error raised here (bad config, a taken name) leaves nothing written once
the caller's transaction rolls back. Secrets are validated with the rest of the
config, then stored encrypted and never read back out through the API.
"""

from __future__ import annotations

import logging
from typing import Any

import httpx
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from connectors.base import registry
from connectors.base.auth import OAuthConnectable, TokenProvider
from connectors.base.connector import Connector
from pip_service.audit.service import record_event
from pip_service.connections.config import config_error_from, split_config, validate_config
from pip_service.connections.models import Connection
from pip_service.connections.schemas import ConnectionCreate, ConnectionUpdate
from pip_service.errors import ConflictError, NotFoundError
from pip_service.secrets.crypto import KeyRing
from pip_service.secrets.refs import resolve as resolve_secret_refs

logger = logging.getLogger(__name__)

__all__ = [
    "connection_secrets",
    "create_connection",
    "delete_connection",
    "get_connection",
    "get_connection_by_name",
    "list_connections",
    "load_connector",
    "update_connection",
]


async def create_connection(
    session: AsyncSession,
    *,
    name: str,
    connector_type: str,
    config: dict[str, Any],
    interval_seconds: int | None = None,
    enabled: bool = True,
    include_restricted: bool = False,
    is_demo: bool = False,
    actor: str,
    keyring: KeyRing,
) -> Connection:
    """Validate and add a connection; ConfigError/ConflictError leave nothing written."""
    request = _parse(
        ConnectionCreate,
        name=name,
        connector_type=connector_type,
        config=config,
        interval_seconds=interval_seconds,
        enabled=enabled,
        include_restricted=include_restricted,
    )
    connector_class = registry.get_connector_class(request.connector_type)
    plain, secrets = split_config(connector_class, validate_config(connector_class, config))
    await _ensure_name_free(session, request.name)
    connection = Connection(
        name=request.name,
        connector_type=request.connector_type,
        config=plain,
        interval_seconds=request.interval_seconds,
        enabled=request.enabled,
        include_restricted=request.include_restricted,
        is_demo=is_demo,
        created_by=actor,
    )
    _store_secrets(connection, secrets, keyring)
    await _flush(session, connection)
    await _audit(session, actor, "connection.create", connection, _create_details(connection))
    return connection


async def get_connection(session: AsyncSession, connection_id: int) -> Connection:
    """The connection with this id, or NotFoundError."""
    connection = await session.get(Connection, connection_id)
    if connection is None:
        raise NotFoundError(
            f"connection {connection_id} does not exist", connection_id=connection_id
        )
    return connection


async def get_connection_by_name(session: AsyncSession, name: str) -> Connection:
    """The connection with this name, or NotFoundError."""
    found = await session.scalar(select(Connection).where(Connection.name == name))
    if found is None:
        raise NotFoundError(f"connection {name!r} does not exist")
    return found


async def list_connections(
    session: AsyncSession, *, include_demo: bool = True, enabled: bool | None = None
) -> list[Connection]:
    """Every connection, by id; optionally without demo ones or by enabled flag."""
    query = select(Connection).order_by(Connection.id)
    if not include_demo:
        query = query.where(Connection.is_demo.is_(False))
    if enabled is not None:
        query = query.where(Connection.enabled.is_(enabled))
    return list(await session.scalars(query))


async def update_connection(
    session: AsyncSession,
    *,
    connection_id: int,
    changes: ConnectionUpdate,
    actor: str,
    keyring: KeyRing,
) -> Connection:
    """Apply the fields set in ``changes``; the whole resulting config is validated again."""
    connection = await get_connection(session, connection_id)
    sent = changes.model_fields_set
    changed = [*await _rename(session, connection, changes), *_reschedule(connection, changes)]
    if "config" in sent and changes.config is not None:
        changed += _reconfigure(connection, changes.config, keyring)
    for field in ("enabled", "include_restricted", "state"):
        value = getattr(changes, field)
        if field in sent and value is not None and getattr(connection, field) != value:
            setattr(connection, field, value)
            changed.append(field)
    await _flush(session, connection)
    await _audit(session, actor, "connection.update", connection, {"changed": changed})
    return connection


async def delete_connection(session: AsyncSession, *, connection_id: int, actor: str) -> None:
    """Delete a connection with its records, cursors and sync runs."""
    connection = await get_connection(session, connection_id)
    details = _create_details(connection)
    await session.delete(connection)
    await session.flush()
    await _audit(session, actor, "connection.delete", connection, details)


def connection_secrets(connection: Connection, keyring: KeyRing) -> dict[str, str]:
    """The decrypted secrets of a connection (for the engine; never for a response)."""
    if connection.secrets is None:
        return {}
    return {str(k): str(v) for k, v in keyring.decrypt_json(connection.secrets).items()}


def load_connector(
    connection: Connection,
    *,
    keyring: KeyRing,
    http_client: httpx.AsyncClient | None,
    sessions: async_sessionmaker[AsyncSession] | None = None,
    token_provider: TokenProvider | None = None,
) -> Connector[Any]:
    """A configured connector for a stored connection: stored secrets, then external refs.

    A connector that can use OAuth tokens gets ``token_provider`` (or, given
    ``sessions``, the stored tokens of the connection when it was connected).
    """
    connector_class = registry.get_connector_class(connection.connector_type)
    merged = {**connection.config, **connection_secrets(connection, keyring)}
    if connection.secret_ref:
        merged.update(resolve_secret_refs(connection.secret_ref))
    config = validate_config(connector_class, merged)
    connector = connector_class(config, http_client=http_client)
    if isinstance(connector, OAuthConnectable):
        connector.token_provider = token_provider or _stored_tokens(connection, keyring, sessions)
    return connector


def _stored_tokens(
    connection: Connection, keyring: KeyRing, sessions: async_sessionmaker[AsyncSession] | None
) -> TokenProvider | None:
    from pip_service.oauth.service import token_provider_for

    return None if sessions is None else token_provider_for(sessions, keyring, connection.id)


def _parse(model: type[ConnectionCreate], **values: Any) -> ConnectionCreate:
    try:
        return model.model_validate(values)
    except ValidationError as err:
        raise config_error_from(err, prefix="", what="connection") from err


async def _ensure_name_free(session: AsyncSession, name: str) -> None:
    taken = await session.scalar(select(Connection.id).where(Connection.name == name))
    if taken is not None:
        raise ConflictError(f"a connection named {name!r} already exists", field="name")


async def _flush(session: AsyncSession, connection: Connection) -> None:
    session.add(connection)
    try:
        await session.flush()
    except IntegrityError as err:
        raise ConflictError(
            f"a connection named {connection.name!r} already exists", field="name"
        ) from err


def _store_secrets(connection: Connection, secrets: dict[str, str], keyring: KeyRing) -> None:
    connection.secret_fields = sorted(secrets)
    if not secrets:
        connection.secrets = None
        connection.secret_key_id = None
        return
    connection.secrets = keyring.encrypt_json(secrets)
    connection.secret_key_id = keyring.primary_key_id


async def _rename(
    session: AsyncSession, connection: Connection, changes: ConnectionUpdate
) -> list[str]:
    if "name" not in changes.model_fields_set or changes.name in (None, connection.name):
        return []
    assert changes.name is not None
    await _ensure_name_free(session, changes.name)
    connection.name = changes.name
    return ["name"]


def _reschedule(connection: Connection, changes: ConnectionUpdate) -> list[str]:
    if "interval_seconds" not in changes.model_fields_set:
        return []
    if connection.interval_seconds == changes.interval_seconds:
        return []
    connection.interval_seconds = changes.interval_seconds
    return ["interval_seconds"]


def _reconfigure(connection: Connection, patch: dict[str, Any], keyring: KeyRing) -> list[str]:
    connector_class = registry.get_connector_class(connection.connector_type)
    current = {**connection.config, **connection_secrets(connection, keyring)}
    plain, secrets = split_config(
        connector_class, validate_config(connector_class, {**current, **patch})
    )
    secret_names = set(connector_class.secret_fields())
    changed = sorted(f"config.{key}" for key in patch if key not in secret_names)
    changed += sorted(f"secret:{key}" for key in patch if key in secret_names)
    connection.config = plain
    _store_secrets(connection, secrets, keyring)
    if secret_names & set(patch) and connection.state == "needs_reconnect":
        connection.state, connection.state_reason = "active", None
    return changed


async def _audit(
    session: AsyncSession, actor: str, action: str, connection: Connection, details: dict[str, Any]
) -> None:
    await record_event(
        session,
        actor=actor,
        action=action,
        target_type="connection",
        target_id=connection.id,
        details=details,
    )


def _create_details(connection: Connection) -> dict[str, Any]:
    return {
        "name": connection.name,
        "connector_type": connection.connector_type,
        "config_fields": sorted(connection.config),
        "secret_fields": sorted(connection.secret_fields or []),
    }
