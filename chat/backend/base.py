"""A backend: the store objects of one kind of shared state, started and stopped with the node.

The interfaces and their guarantees live in `rooms/stores/` (Broker, Presence, RoomStore,
ModerationStore, LimitStore, ConversationStore, MeetingStore, SessionStore, SendStore); the
translation cache interface in `translation` (SharedCache). A backend implements each interface as
one small object on the backend's shared connection or state, the Broker (pub/sub and history)
included, and hands them out as `Backend.stores` (a `Stores` bundle). `Backend` implements no
store interface: it owns what the store objects share (the connection, file or process state)
and its life: it builds them, starts and stops them together (`start` hands the broker the
node's event handler), says whether the shared state is healthy, and gives the translation
cache. Services get stores, never the backend; only the composition root (chat/node.py), the
health check and a few tests hold it.

A new backend is a package of such store objects and a `Backend` subclass that builds its `Stores`;
it is one entry in the `BACKENDS` registry of tests/backend/conftest.py, and passes the contract
tests there (one file per interface, run on every backend).
"""

from __future__ import annotations

import abc

from rooms.stores import (
    Appended,
    BackendUnavailable,
    Encoded,
    Event,
    EventHandler,
    Member,
    ModerationEntry,
    Mute,
    Replay,
    SendWait,
    Standing,
    StoredMessage,
    StoreError,
    Stores,
    now_ms,
)
from translation import SharedCache

__all__ = [
    "Appended",
    "Backend",
    "BackendUnavailable",
    "Encoded",
    "Event",
    "EventHandler",
    "Member",
    "ModerationEntry",
    "Mute",
    "Replay",
    "SendWait",
    "SharedCache",
    "Standing",
    "StoreError",
    "StoredMessage",
    "now_ms",
]


class Backend(abc.ABC):
    """The owner of one node's store objects: builds them on their shared state, starts and stops them."""

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
