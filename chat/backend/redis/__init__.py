"""The redis backend (many nodes on one Redis); backend.py is the place to start reading."""

from chat.backend.redis.backend import RedisBackend
from chat.backend.redis.cache import RedisSharedCache

__all__ = ["RedisBackend", "RedisSharedCache"]
