"""Where documents live in the cache.

Two keys per document: ``doc:<name>:meta`` (small, ``SnapshotMeta``) and
``doc:<name>:body:<etag>`` (the gzip body, immutable for its ETag, so a reader
never pairs a new meta with an old body). Bodies are kept for the document's
TTL: SQL is the source of truth, so an expired body is simply read from the
snapshot again (and restricted data does not linger in Redis past its TTL).
Meta entries live a few seconds only, so every replica notices a new revision
quickly even when a cache write was lost while Redis was down.

Two in-process shortcuts, neither of which can serve anything the cache would
not: the parsed metadata is reused while the cached bytes are the same, and
bodies are kept by ETag (``LocalBodies``), so a read that learnt the current
ETag from the metadata does not pull the body from Redis again.
"""

from __future__ import annotations

import logging

from pip_service.cache.base import Cache
from pip_service.documents.bodies import LocalBodies
from pip_service.documents.schemas import SnapshotMeta

logger = logging.getLogger(__name__)


def meta_key(name: str) -> str:
    """The cache key of a document's metadata."""
    return f"doc:{name}:meta"


def body_key(name: str, etag: str) -> str:
    """The cache key of one version's gzip body."""
    return f"doc:{name}:body:{etag.strip(chr(34))}"


class DocumentCache:
    """Reads and writes documents in a ``Cache``; never raises on a cache failure."""

    def __init__(
        self, cache: Cache, *, meta_seconds: float, bodies: LocalBodies | None = None
    ) -> None:
        self.cache = cache
        self._meta_seconds = meta_seconds
        self._bodies = bodies if bodies is not None else LocalBodies()
        self._parsed: dict[str, tuple[bytes, SnapshotMeta]] = {}

    async def get_meta(self, name: str) -> SnapshotMeta | None:
        """Cached metadata, None on a miss or an unreadable entry."""
        raw = await self.cache.get(meta_key(name))
        if raw is None:
            return None
        last = self._parsed.get(name)
        if last is not None and (last[0] is raw or last[0] == raw):
            return last[1]
        return self._parse(name, raw)

    def _parse(self, name: str, raw: bytes) -> SnapshotMeta | None:
        """Parse a cached meta entry and remember it for the same bytes next time."""
        try:
            meta = SnapshotMeta.from_bytes(raw)
        except (ValueError, KeyError, TypeError) as err:
            logger.warning("Ignoring an unreadable cache entry for %s: %s", name, err)
            return None
        if len(self._parsed) >= _MAX_PARSED and name not in self._parsed:
            self._parsed.clear()
        self._parsed[name] = (raw, meta)
        return meta

    def local_body(self, name: str, etag: str) -> bytes | None:
        """The body of one version if it is kept in process."""
        return self._bodies.get(name, etag)

    async def get_body(self, name: str, etag: str, ttl: float) -> bytes | None:
        """The gzip body of one version: kept in process, else from the cache (then kept)."""
        body = self._bodies.get(name, etag)
        if body is None:
            body = await self.cache.get(body_key(name, etag))
            if body is not None:
                self._bodies.keep(name, etag, body, ttl)
        return body

    async def put(self, meta: SnapshotMeta, body_gz: bytes | None, ttl: float) -> bool:
        """Cache metadata (and the body when given); False if any write failed."""
        stored = True
        if body_gz is not None:
            self._bodies.keep(meta.name, meta.etag, body_gz, ttl)
            stored = await self.cache.set(body_key(meta.name, meta.etag), body_gz, ttl=ttl)
        meta_ttl = min(ttl, self._meta_seconds)
        return await self.cache.set(meta_key(meta.name), meta.to_bytes(), ttl=meta_ttl) and stored

    async def drop_body(self, name: str, etag: str) -> None:
        """Forget an old version's body."""
        self._bodies.drop(name, etag)
        await self.cache.delete(body_key(name, etag))


_MAX_PARSED = 256
