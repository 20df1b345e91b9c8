"""Stable bytes for documents: sorted keys, no whitespace, gzip without a timestamp, ETag."""

from __future__ import annotations

import gzip
import hashlib
from dataclasses import dataclass
from typing import Any

import orjson

GZIP_LEVEL = 6


@dataclass(frozen=True)
class EncodedBody:
    """A document body as served: its JSON, its gzip form and its ETag."""

    json: bytes
    gz: bytes
    etag: str


def dumps(body: Any) -> bytes:
    """Canonical JSON: keys sorted at every level, no insignificant whitespace."""
    return orjson.dumps(body, option=orjson.OPT_SORT_KEYS)


def compress(data: bytes) -> bytes:
    """gzip with a zero mtime, so equal input gives equal bytes."""
    return gzip.compress(data, compresslevel=GZIP_LEVEL, mtime=0)


def etag_of(data: bytes) -> str:
    """The quoted first 32 hex characters of the SHA-256 of the uncompressed body."""
    return '"' + hashlib.sha256(data).hexdigest()[:32] + '"'


def encode(body: Any) -> EncodedBody:
    """Serialize, compress and hash a document body."""
    data = dumps(body)
    return EncodedBody(json=data, gz=compress(data), etag=etag_of(data))
