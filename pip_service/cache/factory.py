"""Choose the cache backend from the settings."""

from __future__ import annotations

from pip_service.cache.base import Cache
from pip_service.cache.memory import MemoryCache
from pip_service.cache.redis_cache import RedisCache
from pip_service.config import Settings

NEAR_SECONDS = 1.0
"""How long a replica keeps small Redis values (document metadata) in process.

Well inside the documents' meta window (5 s): every replica sees a new revision
within this time, and a kept value never outlives its entry in Redis.
"""


def create_cache(settings: Settings) -> Cache:
    """Redis (with a short near cache) when ``PIP_REDIS_URL`` is set, in-process otherwise."""
    if settings.redis_url:
        return RedisCache(settings.redis_url, near_seconds=NEAR_SECONDS)
    return MemoryCache(max_bytes=settings.memory_cache_max_bytes)
