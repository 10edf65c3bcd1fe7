"""A backend: one implementation of every store interface (rooms/stores), started and stopped
with the node.

The interfaces and their guarantees live in `rooms/stores/` (Broker, Presence, RoomStore,
ModerationStore, LimitStore, ConversationStore, MeetingStore,
SessionStore); the translation cache interface in
`translation` (SharedCache). `Backend` composes them and adds the lifecycle, so a new backend
subclasses this one class and passes the contract tests in tests/backend/
by adding one line to their `BACKENDS` registry.
"""
from __future__ import annotations

import abc

from rooms.stores import (
    Appended,
    BackendUnavailable,
    Broker,
    Encoded,
    Event,
    EventHandler,
    Member,
    Message,
    ModerationEntry,
    Mute,
    Replay,
    SendWait,
    Standing,
    StoreError,
    Stores,
    now_ms,
)
from translation import SharedCache

__all__ = ["Appended", "Backend", "BackendUnavailable", "Encoded", "Event", "EventHandler", "Member", "Message",
           "ModerationEntry", "Mute", "Replay", "SendWait", "SharedCache", "Standing", "StoreError",
           "now_ms"]


class Backend(Broker, abc.ABC):
    """Shared state and live fan-out for one node."""

    node_id: str
    stores: Stores  # every store of this backend, one object per interface (set by the backend's __init__)

    @abc.abstractmethod
    async def start(self, on_event: EventHandler) -> None:
        """Connect, and deliver every event of subscribed rooms and node-wide events to on_event."""

    @abc.abstractmethod
    async def close(self) -> None:
        """Disconnect; this node's presence records go (or expire with its heartbeat)."""

    def shared_cache(self) -> SharedCache | None:
        """A cache shared by every node, when the backend has one."""
        return None

    def healthy(self) -> bool:
        """False while the shared state cannot be reached or written (GET /healthz answers 503)."""
        return True

    def health_problem(self) -> str:
        """Why the backend is not healthy, for GET /healthz's `reason` ("" while it is)."""
        return "" if self.healthy() else "the backend cannot be reached"
