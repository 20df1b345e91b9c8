"""An in-process cache: TTL per key, bounded by total bytes, least recently used evicted first."""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable


class MemoryCache:
    """The cache of the embedded mode (no Redis); one per process."""

    def __init__(
        self, *, max_bytes: int = 512 * 1024 * 1024, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.max_bytes = max_bytes
        self._clock = clock
        self._items: OrderedDict[str, tuple[float, bytes]] = OrderedDict()
        self._bytes = 0

    @property
    def size_bytes(self) -> int:
        """Bytes held right now."""
        return self._bytes

    async def get(self, key: str) -> bytes | None:
        """The value, or None when missing or expired."""
        item = self._items.get(key)
        if item is None:
            return None
        if item[0] <= self._clock():
            self._remove(key)
            return None
        self._items.move_to_end(key)
        return item[1]

    async def set(self, key: str, value: bytes, *, ttl: float) -> bool:
        """Store ``value``; False when it alone is larger than the whole cache."""
        self._remove(key)
        if len(value) > self.max_bytes or ttl <= 0:
            return False
        self._items[key] = (self._clock() + ttl, value)
        self._bytes += len(value)
        self._evict()
        return True

    async def delete(self, key: str) -> None:
        """Forget ``key``."""
        self._remove(key)

    async def ping(self) -> bool:
        """Always up."""
        return True

    async def close(self) -> None:
        """Drop everything."""
        self.clear()

    def clear(self) -> None:
        """Drop everything (what a restart does)."""
        self._items.clear()
        self._bytes = 0

    def _remove(self, key: str) -> None:
        item = self._items.pop(key, None)
        if item is not None:
            self._bytes -= len(item[1])

    def _evict(self) -> None:
        now = self._clock()
        for key in [k for k, (expires, _) in self._items.items() if expires <= now]:
            self._remove(key)
        while self._bytes > self.max_bytes:
            self._remove(next(iter(self._items)))
