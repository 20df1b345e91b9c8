"""The cache interface every backend implements.

A cache never raises on a backend failure: ``get`` answers a miss and ``set``
answers ``False``, so a read can always fall back to the SQL snapshots.
"""

from __future__ import annotations

from typing import Protocol


class Cache(Protocol):
    """A byte store with per-key TTLs."""

    async def get(self, key: str) -> bytes | None:
        """The value, or None when missing, expired or the backend is down."""
        ...

    async def set(self, key: str, value: bytes, *, ttl: float) -> bool:
        """Store ``value`` for ``ttl`` seconds; False when the backend could not store it."""
        ...

    async def delete(self, key: str) -> None:
        """Forget ``key`` (best effort)."""
        ...

    async def ping(self) -> bool:
        """Whether the backend answers right now."""
        ...

    async def close(self) -> None:
        """Release connections."""
        ...
