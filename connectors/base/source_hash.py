"""Source hashes: recognise a record the source returns exactly as it did last time.

A stream whose normalization is a pure function of the raw record and the
connection's config (``Stream.pure_normalize``) hashes every raw record it
reads. When the hash equals the one stored with the record, the record is
reported unchanged and not normalized, hashed canonically or staged again: a
second full run over an unchanged source does little more than read it.

The hash is salted with a fingerprint of everything else the canonical form
depends on: the package version, the connector and stream, the stream's
``normalizer_version``, the canonical model's JSON schema and the connection's
config (secrets masked). Changing any of them makes every record normalize
anew. A hash mismatch only costs time: the record is normalized and compared by
its canonical content hash as before. Raw JSON is hashed in the order the
source sent it; a source that reorders keys only loses the shortcut.
"""

from __future__ import annotations

import hashlib
from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING, Any

import orjson

if TYPE_CHECKING:
    from connectors.base.stream import Stream

DISTRIBUTION = "pip-service"


def _package_version() -> str:
    try:
        return version(DISTRIBUTION)
    except PackageNotFoundError:
        return "unknown"


def fingerprint(stream: Stream) -> bytes:
    """What a stream's canonical records depend on besides the raw records."""
    connector = stream.connector
    parts = [
        _package_version(),
        connector.slug,
        stream.name,
        stream.normalizer_version,
        stream.record_model.model_json_schema(),
        connector.config.model_dump(mode="json"),
    ]
    return hashlib.sha256(orjson.dumps(parts, option=orjson.OPT_SORT_KEYS)).digest()


class SourceHasher:
    """Hashes raw records of one stream (salted with its fingerprint)."""

    def __init__(self, salt: bytes) -> None:
        self._seed = hashlib.sha256(salt)

    def digest(self, raw: dict[str, Any]) -> str:
        """Hex SHA-256 of the salt and the raw record's JSON."""
        digest = self._seed.copy()
        digest.update(orjson.dumps(raw))
        return digest.hexdigest()


__all__ = ["SourceHasher", "fingerprint"]
