"""Recent document bodies kept in process, by name and ETag.

A body never changes for a given ETag (the ETag is the hash of the body), so a
copy kept here is as good as the one in the cache: a read that has just learnt
the current ETag from the document's metadata takes the body from here instead
of pulling megabytes from Redis. Each body is kept for its document's TTL at
most; the store is bounded by total bytes, least recently used evicted first.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable

DEFAULT_MAX_BYTES = 128 * 1024 * 1024


class LocalBodies:
    """A bounded, expiring map of (document name, ETag) to its gzip body."""

    def __init__(
        self, *, max_bytes: int = DEFAULT_MAX_BYTES, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.max_bytes = max_bytes
        self._clock = clock
        self._items: OrderedDict[tuple[str, str], tuple[float, bytes]] = OrderedDict()
        self._bytes = 0

    @property
    def size_bytes(self) -> int:
        """Bytes held right now."""
        return self._bytes

    def get(self, name: str, etag: str) -> bytes | None:
        """The body of this version, None when not kept or past its TTL."""
        key = (name, etag)
        item = self._items.get(key)
        if item is None:
            return None
        if item[0] <= self._clock():
            self._remove(key)
            return None
        self._items.move_to_end(key)
        return item[1]

    def keep(self, name: str, etag: str, body: bytes, ttl: float) -> None:
        """Keep a version's body for ``ttl`` seconds (not at all when larger than the bound)."""
        key = (name, etag)
        self._remove(key)
        if ttl <= 0 or len(body) > self.max_bytes:
            return
        self._items[key] = (self._clock() + ttl, body)
        self._bytes += len(body)
        self._evict()

    def drop(self, name: str, etag: str) -> None:
        """Forget one version's body."""
        self._remove((name, etag))

    def _remove(self, key: tuple[str, str]) -> None:
        item = self._items.pop(key, None)
        if item is not None:
            self._bytes -= len(item[1])

    def _evict(self) -> None:
        now = self._clock()
        for key in [k for k, (expires, _) in self._items.items() if expires <= now]:
            self._remove(key)
        while self._bytes > self.max_bytes:
            self._remove(next(iter(self._items)))
