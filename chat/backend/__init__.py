"""Backends: each a package of small store objects, one per interface of rooms/stores, handed out
as `Backend.stores` (base.py): `sqlite` (the embedded default: one node, one file), `memory` (tests
and throwaway demos) and `redis` (many nodes)."""

from __future__ import annotations

from pathlib import Path

from chat.backend.base import (
    Appended,
    Backend,
    BackendUnavailable,
    Encoded,
    Event,
    EventHandler,
    Member,
    Mute,
    Replay,
    SharedCache,
    StoreError,
)
from chat.backend.memory import MemoryBackend
from chat.config import BackendSettings

__all__ = [
    "Appended",
    "Backend",
    "BackendUnavailable",
    "Encoded",
    "Event",
    "EventHandler",
    "Member",
    "MemoryBackend",
    "Mute",
    "Replay",
    "SharedCache",
    "StoreError",
    "make_backend",
    "sqlite_path",
]

SQLITE_FILE = "babelroom.sqlite3"


def sqlite_path(settings: BackendSettings, data_dir: str) -> Path:
    """The sqlite file: [backend] path, or babelroom.sqlite3 in the data directory."""
    return Path(settings.path) if settings.path else Path(data_dir) / SQLITE_FILE


def make_backend(settings: BackendSettings, node_id: str, data_dir: str = "data") -> Backend:
    """The backend the config names. Raises StoreError when the sqlite file cannot be used."""
    if settings.kind == "redis":
        from chat.backend.redis import RedisBackend

        return RedisBackend(settings, node_id=node_id)
    if settings.kind == "sqlite":
        from chat.backend.sqlite import SqliteBackend

        return SqliteBackend(
            sqlite_path(settings, data_dir),
            node_id=node_id,
            history_max=settings.history_max,
            idempotency_ttl=settings.idempotency_ttl,
            synchronous=settings.synchronous,
            create=settings.create,
        )
    return MemoryBackend(node_id=node_id, history_max=settings.history_max, idempotency_ttl=settings.idempotency_ttl)
