"""Backends: each implements every store interface of rooms/stores through `Backend` (base.py):
`memory` (embedded default) and `redis` (many nodes, the redis/ package)."""
from __future__ import annotations

from chat.backend.base import (Appended, Backend, BackendUnavailable, Event, EventHandler, Member, Mute,
                               Replay, SharedCache)
from chat.backend.memory import MemoryBackend
from chat.config import BackendSettings

__all__ = ["Appended", "Backend", "BackendUnavailable", "Event", "EventHandler", "Member", "MemoryBackend",
           "Mute", "Replay", "SharedCache", "make_backend"]


def make_backend(settings: BackendSettings, node_id: str) -> Backend:
    """The backend the config names."""
    if settings.kind == "redis":
        from chat.backend.redis import RedisBackend

        return RedisBackend(settings, node_id=node_id)
    return MemoryBackend(node_id=node_id, history_max=settings.history_max,
                         idempotency_ttl=settings.idempotency_ttl)
