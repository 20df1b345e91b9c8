"""AES-256-GCM encryption of secrets at rest, with the key id stored in every ciphertext.

A ciphertext is an *envelope*::

    version (1 byte) | key id length (1 byte) | key id (ASCII) | nonce (12 bytes) | ciphertext+tag

The version byte and key id are authenticated as associated data, so neither can
be swapped without decryption failing. A ``KeyRing`` holds several keys: the last
one configured encrypts, every one decrypts, so keys rotate without downtime.
"""

from __future__ import annotations

import base64
import binascii
import logging
import os
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from pip_service.config import Settings
from pip_service.db.session import is_sqlite
from pip_service.errors import ConfigError

logger = logging.getLogger(__name__)

ENVELOPE_VERSION = 1
NONCE_BYTES = 12
KEY_BYTES = 32
KEY_FILE_NAME = "encryption.key"
GENERATED_KEY_ID = "local1"
_KEY_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


@dataclass(frozen=True)
class Envelope:
    """One encrypted value: which key sealed it, the nonce and the ciphertext (tag included)."""

    key_id: str
    nonce: bytes
    ciphertext: bytes
    version: int = ENVELOPE_VERSION

    def header(self) -> bytes:
        """The authenticated header: version, key id length and key id."""
        kid = self.key_id.encode("ascii")
        return bytes([self.version, len(kid)]) + kid

    def to_bytes(self) -> bytes:
        """The envelope as stored in the database."""
        return self.header() + self.nonce + self.ciphertext

    @classmethod
    def from_bytes(cls, blob: bytes) -> Envelope:
        """Read an envelope; anything malformed is a ConfigError."""
        if len(blob) < 2 or blob[0] != ENVELOPE_VERSION:
            raise ConfigError("encrypted secrets are in an unknown format", code="secrets_corrupt")
        kid_end = 2 + blob[1]
        if len(blob) < kid_end + NONCE_BYTES + 16:
            raise ConfigError("encrypted secrets are truncated", code="secrets_corrupt")
        key_id = blob[2:kid_end].decode("ascii", errors="replace")
        nonce = blob[kid_end : kid_end + NONCE_BYTES]
        return cls(key_id=key_id, nonce=nonce, ciphertext=blob[kid_end + NONCE_BYTES :])


def generate_key() -> str:
    """A new random AES-256 key, base64-encoded as ``PIP_ENCRYPTION_KEYS`` expects it."""
    return base64.b64encode(secrets.token_bytes(KEY_BYTES)).decode("ascii")


class KeyRing:
    """Keys by id; the primary (last configured) encrypts, all of them decrypt."""

    def __init__(self, keys: Mapping[str, bytes], *, primary: str | None = None) -> None:
        if not keys:
            raise ConfigError("no encryption key is configured", code="encryption_key_missing")
        for key_id, key in keys.items():
            _check_key(key_id, key)
        self._aead = {key_id: AESGCM(key) for key_id, key in keys.items()}
        self._keys = dict(keys)
        self.primary_key_id = primary or list(keys)[-1]
        if self.primary_key_id not in self._aead:
            raise ConfigError(
                f"primary encryption key id {self.primary_key_id!r} is not in the key ring",
                code="encryption_key_missing",
            )

    def __repr__(self) -> str:
        return f"KeyRing(key_ids={self.key_ids!r}, primary={self.primary_key_id!r})"

    @property
    def key_ids(self) -> list[str]:
        """Ids of every key in the ring, in configuration order."""
        return list(self._aead)

    @classmethod
    def parse(cls, spec: str, *, primary: str | None = None) -> KeyRing:
        """A ring from ``"kid:base64key,kid2:base64key"``; the last (or ``primary``) encrypts."""
        keys: dict[str, bytes] = {}
        for position, item in enumerate(filter(None, (p.strip() for p in spec.split(","))), 1):
            key_id, key = _parse_item(item, position)
            if key_id in keys:
                raise ConfigError(f"encryption key id {key_id!r} is configured twice")
            keys[key_id] = key
        return cls(keys, primary=primary)

    @classmethod
    def from_settings(cls, settings: Settings) -> KeyRing:
        """The ring from ``PIP_ENCRYPTION_KEYS``, else the embedded key file (made when absent)."""
        if settings.encryption_keys is not None:
            primary = settings.encryption_primary_key_id or None
            return cls.parse(settings.encryption_keys.get_secret_value(), primary=primary)
        key_file = settings.data_dir / KEY_FILE_NAME
        if key_file.exists():
            return cls.parse(_read_key_file(key_file))
        if not is_sqlite(settings.database_url):
            raise ConfigError(
                "PIP_ENCRYPTION_KEYS must be set when the database is not the embedded SQLite: "
                "every replica needs the same keys",
                code="encryption_key_missing",
            )
        return cls.parse(_create_key_file(key_file))

    def encrypt(self, plaintext: bytes, *, context: bytes = b"") -> bytes:
        """Seal ``plaintext`` with the primary key; ``context`` must be given again to open it."""
        envelope = Envelope(self.primary_key_id, secrets.token_bytes(NONCE_BYTES), b"")
        sealed = self._aead[self.primary_key_id].encrypt(
            envelope.nonce, plaintext, envelope.header() + context
        )
        return Envelope(envelope.key_id, envelope.nonce, sealed).to_bytes()

    def decrypt(self, blob: bytes, *, context: bytes = b"") -> bytes:
        """Open an envelope with the key it names; a missing or wrong key is a ConfigError."""
        envelope = Envelope.from_bytes(blob)
        aead = self._aead.get(envelope.key_id)
        if aead is None:
            raise ConfigError(
                f"secrets were encrypted with key id {envelope.key_id!r}, "
                "which is not in PIP_ENCRYPTION_KEYS",
                code="encryption_key_missing",
                key_id=envelope.key_id,
            )
        try:
            return aead.decrypt(envelope.nonce, envelope.ciphertext, envelope.header() + context)
        except InvalidTag as err:
            raise ConfigError(
                f"secrets encrypted with key id {envelope.key_id!r} cannot be decrypted: "
                "the configured key differs from the one that sealed them, or they were altered",
                code="encryption_key_wrong",
                key_id=envelope.key_id,
            ) from err

    def encrypt_json(self, value: Mapping[str, Any], *, context: bytes = b"") -> bytes:
        """Seal a JSON object."""
        return self.encrypt(orjson.dumps(dict(value)), context=context)

    def decrypt_json(self, blob: bytes, *, context: bytes = b"") -> dict[str, Any]:
        """Open an envelope holding a JSON object."""
        value = orjson.loads(self.decrypt(blob, context=context))
        if not isinstance(value, dict):
            raise ConfigError("encrypted secrets do not hold an object", code="secrets_corrupt")
        return value

    def derive_key(self, purpose: str, *, key_id: str | None = None) -> bytes:
        """A 32-byte subkey of one ring key (the primary by default) for ``purpose`` (HKDF)."""
        kid = key_id or self.primary_key_id
        if kid not in self._keys:
            message = f"key id {kid!r} is not in the key ring"
            raise ConfigError(message, code="encryption_key_missing")
        hkdf = HKDF(algorithm=hashes.SHA256(), length=KEY_BYTES, salt=None, info=purpose.encode())
        return hkdf.derive(self._keys[kid])

    def needs_rotation(self, blob: bytes) -> bool:
        """Whether an envelope was sealed with a key other than the primary one."""
        return Envelope.from_bytes(blob).key_id != self.primary_key_id


def key_id_of(blob: bytes) -> str:
    """The id of the key that sealed an envelope (no key needed)."""
    return Envelope.from_bytes(blob).key_id


def _parse_item(item: str, position: int) -> tuple[str, bytes]:
    key_id, sep, encoded = item.partition(":")
    key_id = key_id.strip()
    if not sep or not _KEY_ID.match(key_id):
        raise ConfigError(
            f"encryption key #{position} must look like 'kid:base64key' with a key id of "
            "letters, digits, '.', '_' or '-'",
            code="encryption_key_invalid",
        )
    try:
        key = base64.b64decode(encoded.strip(), validate=True)
    except (binascii.Error, ValueError) as err:
        raise ConfigError(
            f"encryption key {key_id!r} is not valid base64", code="encryption_key_invalid"
        ) from err
    return key_id, key


def _check_key(key_id: str, key: bytes) -> None:
    if not _KEY_ID.match(key_id):
        raise ConfigError(f"encryption key id {key_id!r} is not a valid key id")
    if len(key) != KEY_BYTES:
        raise ConfigError(
            f"encryption key {key_id!r} must be {KEY_BYTES} bytes (AES-256), not {len(key)}",
            code="encryption_key_invalid",
        )


def _read_key_file(path: Path) -> str:
    if path.stat().st_mode & 0o077:
        logger.warning("encryption key file %s is readable by other users; chmod 600 it", path)
    return path.read_text(encoding="ascii").strip()


def _create_key_file(path: Path) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    spec = f"{GENERATED_KEY_ID}:{generate_key()}"
    draft = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(spec + "\n")
    try:
        os.link(draft, path)  # atomic: a concurrent start-up keeps the first key made
    except FileExistsError:
        return _read_key_file(path)
    finally:
        draft.unlink()
    logger.warning(
        "no PIP_ENCRYPTION_KEYS set: generated encryption key %r in %s (mode 0600); "
        "back it up, stored secrets cannot be read without it",
        GENERATED_KEY_ID,
        path,
    )
    return spec
