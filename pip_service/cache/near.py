"""A process-local copy of small cache values, kept for a short while (a near cache).

A shared cache (Redis) costs a network round trip per read. A ``NearStore`` keeps
what was just read or written for at most ``seconds``, and never past the
entry's own expiry in the shared cache, so a value another replica writes is
seen here within ``seconds`` and nothing outlives its shared TTL. Only values of
at most ``max_value_bytes`` are kept; ``max_entries`` bounds the store. A read
that was under way while this process wrote or deleted anything is not kept
(it may carry the value from before the write).
"""

from __future__ import annotations

import time
from collections.abc import Callable


class NearStore:
    """Short-lived in-process copies of small values; ``seconds`` 0 keeps nothing."""

    def __init__(
        self,
        seconds: float = 0.0,
        *,
        max_value_bytes: int = 64 * 1024,
        max_entries: int = 1024,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.seconds = seconds
        self.max_value_bytes = max_value_bytes
        self.max_entries = max_entries
        self._clock = clock
        self._items: dict[str, tuple[float, bytes]] = {}
        self._writes = 0

    @property
    def enabled(self) -> bool:
        """Whether anything is ever kept."""
        return self.seconds > 0

    def get(self, key: str) -> bytes | None:
        """The kept value, None when missing or past its time."""
        item = self._items.get(key)
        if item is None:
            return None
        if item[0] <= self._clock():
            self._items.pop(key, None)
            return None
        return item[1]

    def stamp(self) -> int:
        """A mark to take before a read, for ``keep_read``."""
        return self._writes

    def keep_read(self, key: str, value: bytes, ttl_left: float | None, stamp: int) -> None:
        """Keep a value read from the shared cache, unless anything was written since ``stamp``."""
        if stamp == self._writes:
            self._store(key, value, ttl_left)

    def keep(self, key: str, value: bytes, ttl_left: float | None) -> None:
        """Keep a value just written, for ``seconds``, at most ``ttl_left`` (None: no expiry)."""
        self._writes += 1
        self._store(key, value, ttl_left)

    def drop(self, key: str) -> None:
        """Forget ``key`` (it was deleted or its write failed)."""
        self._writes += 1
        self._items.pop(key, None)

    def clear(self) -> None:
        """Forget everything."""
        self._writes += 1
        self._items.clear()

    def _store(self, key: str, value: bytes, ttl_left: float | None) -> None:
        lifetime = self.seconds if ttl_left is None else min(self.seconds, ttl_left)
        if lifetime <= 0 or len(value) > self.max_value_bytes:
            self._items.pop(key, None)
            return
        if len(self._items) >= self.max_entries and key not in self._items:
            self._items.clear()
        self._items[key] = (self._clock() + lifetime, value)
