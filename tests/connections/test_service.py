"""Connections: validated config, encrypted write-only secrets, audit, nothing stored on errors."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select, text

from pip_service.audit.models import AuditEvent
from pip_service.connections.models import Connection
from pip_service.connections.schemas import ConnectionRead, ConnectionUpdate
from pip_service.connections.service import (
    create_connection,
    delete_connection,
    get_connection,
    list_connections,
    load_connector,
    update_connection,
)
from pip_service.errors import ConfigError, ConflictError, NotFoundError
from pip_service.records.models import Record
from pip_service.secrets.crypto import KeyRing, generate_key
from tests.conftest import Database
from tests.sync.conftest import TOKEN, Sync
from tests.sync.source import FakeSource


async def _create(db: Database, keyring: KeyRing, **overrides: Any) -> Connection:
    values: dict[str, Any] = {
        "name": "cmdb",
        "connector_type": "memory",
        "config": {"source": "s", "api_token": TOKEN, "page_size": 50},
        "actor": "alice",
        "keyring": keyring,
    }
    async with db.sessions.begin() as session:
        return await create_connection(session, **{**values, **overrides})


async def _count(db: Database, model: type[Any]) -> int:
    async with db.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def _audit(db: Database) -> list[tuple[str, str, dict[str, Any]]]:
    async with db.sessions() as session:
        rows = await session.scalars(select(AuditEvent).order_by(AuditEvent.id))
        return [(row.actor, row.action, row.details) for row in rows]


async def test_secrets_are_encrypted_at_rest_and_never_shown(
    db: Database, keyring: KeyRing
) -> None:
    created = await _create(db, keyring)

    async with db.engine.connect() as conn:
        raw = (await conn.execute(text("SELECT * FROM connections"))).mappings().one()
    assert TOKEN.encode() not in bytes(raw["secrets"])
    assert TOKEN not in str(dict(raw))
    assert raw["secret_key_id"] == "test1"
    shown = ConnectionRead.from_connection(created)
    assert (shown.has_secrets, shown.secret_fields) == (True, ["api_token"])
    assert shown.config == {"source": "s", "page_size": 50, "region": None}
    assert TOKEN not in shown.model_dump_json()
    connector = load_connector(created, keyring=keyring, http_client=None)
    assert connector.config.api_token.get_secret_value() == TOKEN
    assert await _audit(db) == [
        ("alice", "connection.create", {
            "name": "cmdb", "connector_type": "memory",
            "config_fields": ["page_size", "region", "source"], "secret_fields": ["api_token"],
        }),
    ]  # fmt: skip


async def test_a_wrong_key_is_a_clear_error_naming_the_key_id(
    db: Database, keyring: KeyRing
) -> None:
    created = await _create(db, keyring)
    other = KeyRing.parse(f"test1:{generate_key()}")

    with pytest.raises(ConfigError, match="key id 'test1' cannot be decrypted"):
        load_connector(created, keyring=other, http_client=None)


async def test_unknown_connector_type_stores_nothing(db: Database, keyring: KeyRing) -> None:
    with pytest.raises(ConfigError, match="Unknown connector type 'nope'"):
        await _create(db, keyring, connector_type="nope")

    assert (await _count(db, Connection), await _count(db, AuditEvent)) == (0, 0)


async def test_invalid_config_names_every_bad_field_and_stores_nothing(
    db: Database, keyring: KeyRing
) -> None:
    config = {"api_token": 12345, "page_size": "many", "colour": "blue-secretish"}

    with pytest.raises(ConfigError) as caught:
        await _create(db, keyring, config=config)

    err = caught.value
    fields = {(e["field"], e["type"]) for e in err.details["errors"]}
    assert fields == {
        ("config.source", "missing"),
        ("config.api_token", "string_type"),
        ("config.page_size", "int_parsing"),
        ("config.colour", "extra_forbidden"),
    }
    assert "config.page_size" in err.message and "config.colour" in err.message
    assert "blue-secretish" not in str(err.details) + err.message
    assert "12345" not in str(err.details) + err.message
    assert (await _count(db, Connection), await _count(db, AuditEvent)) == (0, 0)


@pytest.mark.parametrize(
    ("overrides", "field"),
    [({"name": "  "}, "name"), ({"interval_seconds": 5}, "interval_seconds")],
)
async def test_invalid_connection_fields_are_named(
    db: Database, keyring: KeyRing, overrides: dict[str, Any], field: str
) -> None:
    with pytest.raises(ConfigError, match=field) as caught:
        await _create(db, keyring, **overrides)

    assert [e["field"] for e in caught.value.details["errors"]] == [field]
    assert await _count(db, Connection) == 0


async def test_a_duplicate_name_is_a_conflict(db: Database, keyring: KeyRing) -> None:
    await _create(db, keyring)

    with pytest.raises(ConflictError, match="'cmdb' already exists"):
        await _create(db, keyring)

    assert await _count(db, Connection) == 1


async def test_update_replaces_secrets_without_reading_them_back(
    db: Database, keyring: KeyRing
) -> None:
    created = await _create(db, keyring)
    new_token = "rotated-T0KEN-value"
    changes = ConnectionUpdate(config={"api_token": new_token, "page_size": 7}, enabled=False)

    async with db.sessions.begin() as session:
        updated = await update_connection(
            session, connection_id=created.id, changes=changes, actor="bob", keyring=keyring
        )

    connector = load_connector(updated, keyring=keyring, http_client=None)
    assert connector.config.api_token.get_secret_value() == new_token
    assert (connector.config.page_size, connector.config.source, updated.enabled) == (7, "s", False)
    assert TOKEN.encode() not in (updated.secrets or b"")
    assert (await _audit(db))[-1] == (
        "bob", "connection.update",
        {"changed": ["config.page_size", "secret:api_token", "enabled"]},
    )  # fmt: skip


async def test_update_keeps_secrets_it_was_not_sent(db: Database, keyring: KeyRing) -> None:
    created = await _create(db, keyring)

    async with db.sessions.begin() as session:
        updated = await update_connection(
            session,
            connection_id=created.id,
            changes=ConnectionUpdate(config={"region": "eu"}, interval_seconds=600),
            actor="bob",
            keyring=keyring,
        )

    connector = load_connector(updated, keyring=keyring, http_client=None)
    assert (connector.config.api_token.get_secret_value(), connector.config.region) == (TOKEN, "eu")
    assert updated.interval_seconds == 600


async def test_an_invalid_update_changes_nothing(db: Database, keyring: KeyRing) -> None:
    created = await _create(db, keyring)
    other = await _create(db, keyring, name="other")

    for changes, error in [
        (ConnectionUpdate(config={"page_size": 0}), ConfigError),
        (ConnectionUpdate(name="other", enabled=False), ConflictError),
    ]:
        with pytest.raises(error):
            async with db.sessions.begin() as session:
                await update_connection(
                    session, connection_id=created.id, changes=changes, actor="x", keyring=keyring
                )

    async with db.sessions() as session:
        stored = await get_connection(session, created.id)
        assert (stored.name, stored.config["page_size"], stored.enabled) == ("cmdb", 50, True)
    assert other.id != created.id


async def test_new_credentials_clear_needs_reconnect(db: Database, keyring: KeyRing) -> None:
    created = await _create(db, keyring)
    async with db.sessions.begin() as session:
        stored = await get_connection(session, created.id)
        stored.state, stored.state_reason = "needs_reconnect", "token revoked"

    async with db.sessions.begin() as session:
        updated = await update_connection(
            session,
            connection_id=created.id,
            changes=ConnectionUpdate(config={"api_token": "fresh"}),
            actor="bob",
            keyring=keyring,
        )

    assert (updated.state, updated.state_reason) == ("active", None)


async def test_delete_removes_the_connection_and_its_records(
    db: Database, fake_source: FakeSource, connect: Any, sync: Sync
) -> None:
    fake_source.fill(5)
    created = await connect()
    await sync(created.id)
    assert await _count(db, Record) == 5

    async with db.sessions.begin() as session:
        await delete_connection(session, connection_id=created.id, actor="carol")

    assert (await _count(db, Connection), await _count(db, Record)) == (0, 0)
    assert (await _audit(db))[-1][:2] == ("carol", "connection.delete")
    async with db.sessions() as session:
        with pytest.raises(NotFoundError):
            await get_connection(session, created.id)
        assert await list_connections(session) == []
