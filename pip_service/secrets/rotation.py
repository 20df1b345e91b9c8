"""Key rotation and the start-up key check, over every sealed column.

``rotate`` re-encrypts every value not sealed with the primary key, one row per
short transaction, with a compare-and-swap ``UPDATE ... WHERE blob = old`` so a
value rewritten meanwhile (a token refresh, a secret changed by an admin) is
never overwritten with an older one: it is read again and retried. Readers
are never blocked and always find a value some configured key opens. Running
it again finds nothing to do.

``check_stored_keys`` runs at start-up: every key id found in stored
ciphertexts must be configured, and one value per key id must open (a wrong
key under the right id is caught before the first sync fails).
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from pip_service.connections.models import Connection
from pip_service.db.session import transaction
from pip_service.errors import ConfigError
from pip_service.oauth.clients import client_context
from pip_service.oauth.models import OAuthClient, OAuthFlow, OAuthToken
from pip_service.oauth.tokens import token_context
from pip_service.secrets.crypto import KeyRing, key_id_of

logger = logging.getLogger(__name__)

RETRIES = 5


@dataclass(frozen=True)
class SealedColumn:
    """A column holding envelopes: its model, blob and key id attributes, and AEAD context."""

    model: type[Any]
    blob: str
    key_id: str
    pk: str
    context: Callable[[Any], bytes]

    @property
    def label(self) -> str:
        """``table.column``."""
        return f"{self.model.__tablename__}.{self.blob}"


SEALED: tuple[SealedColumn, ...] = (
    SealedColumn(Connection, "secrets", "secret_key_id", "id", lambda row: b""),
    SealedColumn(OAuthClient, "client_secret", "key_id", "connection_id",
                 lambda row: client_context(row.connection_id)),
    SealedColumn(OAuthToken, "token_blob", "key_id", "connection_id",
                 lambda row: token_context(row.connection_id)),
    SealedColumn(OAuthFlow, "verifier_blob", "key_id", "id", lambda row: row.id.encode()),
)  # fmt: skip


@dataclass
class RotationReport:
    """How many values were re-encrypted, already current, or changed under us."""

    rotated: Counter[str] = field(default_factory=Counter)
    current: Counter[str] = field(default_factory=Counter)
    retried: int = 0

    @property
    def total_rotated(self) -> int:
        """Values re-encrypted in this run."""
        return sum(self.rotated.values())


async def rotate(
    sessions: async_sessionmaker[AsyncSession], keyring: KeyRing, *, batch: int = 100
) -> RotationReport:
    """Re-encrypt every sealed value under the primary key, row by row."""
    report = RotationReport()
    for column in SEALED:
        for pk in await _pks(sessions, column):
            await _rotate_row(sessions, keyring, column, pk, report)
    logger.info("key rotation: %d values re-encrypted under %r", report.total_rotated,
                keyring.primary_key_id)  # fmt: skip
    return report


async def _pks(sessions: async_sessionmaker[AsyncSession], column: SealedColumn) -> list[Any]:
    model = column.model
    query = select(getattr(model, column.pk)).where(getattr(model, column.blob).is_not(None))
    async with sessions() as session:
        return list(await session.scalars(query.order_by(getattr(model, column.pk))))


async def _rotate_row(
    sessions: async_sessionmaker[AsyncSession], keyring: KeyRing, column: SealedColumn,
    pk: Any, report: RotationReport,
) -> None:  # fmt: skip
    for _ in range(RETRIES):
        async with transaction(sessions) as session:
            outcome = await _swap(session, keyring, column, pk)
        if outcome == "retry":
            report.retried += 1
            continue
        (report.rotated if outcome == "rotated" else report.current)[column.label] += 1
        return
    raise ConfigError(f"{column.label} row {pk} kept changing during rotation; run it again")


async def _swap(session: AsyncSession, keyring: KeyRing, column: SealedColumn, pk: Any) -> str:
    model = column.model
    row = await session.get(model, pk, populate_existing=True)
    old = None if row is None else getattr(row, column.blob)
    if old is None or not keyring.needs_rotation(old):
        return "current"
    context = column.context(row)
    new = keyring.encrypt(keyring.decrypt(old, context=context), context=context)
    values: dict[str, Any] = {column.blob: new, column.key_id: keyring.primary_key_id}
    if "updated_at" in model.__table__.c:
        values["updated_at"] = model.__table__.c.updated_at  # rotation is not an edit
    swap = update(model.__table__).where(
        model.__table__.c[column.pk] == pk, model.__table__.c[column.blob] == old
    )
    result = await session.execute(swap.values(**values))
    session.expunge(row)
    return "rotated" if getattr(result, "rowcount", 0) == 1 else "retry"


async def key_usage(sessions: async_sessionmaker[AsyncSession]) -> dict[str, Counter[str]]:
    """Per sealed column, how many values each key id sealed (from the key id columns)."""
    usage: dict[str, Counter[str]] = {}
    async with sessions() as session:
        for column in SEALED:
            key_col = getattr(column.model, column.key_id)
            query = select(key_col, func.count()).where(
                getattr(column.model, column.blob).is_not(None)
            )
            rows = (await session.execute(query.group_by(key_col))).all()
            usage[column.label] = Counter({str(kid): int(count) for kid, count in rows})
    return usage


async def check_stored_keys(sessions: async_sessionmaker[AsyncSession], keyring: KeyRing) -> None:
    """ConfigError at start-up when a stored value's key is missing or is not the right key."""
    usage = await key_usage(sessions)
    missing = {
        kid: label
        for label, counts in usage.items()
        for kid in counts
        if kid not in keyring.key_ids
    }
    if missing:
        listed = ", ".join(f"{kid!r} (in {label})" for kid, label in sorted(missing.items()))
        raise ConfigError(
            f"stored secrets were encrypted with key id(s) {listed}, which PIP_ENCRYPTION_KEYS "
            "does not configure: add the missing key(s) back (the last key listed encrypts)",
            code="encryption_key_missing",
        )
    for column in SEALED:
        for kid in usage[column.label]:
            await _trial_open(sessions, keyring, column, kid)


async def _trial_open(
    sessions: async_sessionmaker[AsyncSession], keyring: KeyRing, column: SealedColumn, kid: str
) -> None:
    model = column.model
    query = select(model).where(getattr(model, column.key_id) == kid).limit(1)
    async with sessions() as session:
        row = await session.scalar(query.where(getattr(model, column.blob).is_not(None)))
    if row is None:
        return
    blob = getattr(row, column.blob)
    if key_id_of(blob) not in keyring.key_ids:
        keyring.decrypt(blob)  # raises the missing-key error naming the id
    try:
        keyring.decrypt(blob, context=column.context(row))
    except ConfigError as err:
        raise ConfigError(
            f"the key configured as {kid!r} does not open the secrets stored under that id "
            f"({column.label}): PIP_ENCRYPTION_KEYS holds a different key for {kid!r}",
            code=err.code,
        ) from err
