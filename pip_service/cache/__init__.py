"""Cache of served documents: Redis when configured, in-process otherwise, one interface."""

from pip_service.cache.base import Cache
from pip_service.cache.factory import create_cache
from pip_service.cache.memory import MemoryCache
from pip_service.cache.redis_cache import RedisCache

__all__ = ["Cache", "MemoryCache", "RedisCache", "create_cache"]
