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
    Outgoing,
    Replay,
    SendGate,
    SendStore,
    SendWait,
    Sent,
    Standing,
    StoreError,
    Stores,
    clear,
    now_ms,
    translation_targets,
)
from translation import SharedCache

__all__ = ["Appended", "Backend", "BackendUnavailable", "Encoded", "Event", "EventHandler", "Member", "Message",
           "ModerationEntry", "Mute", "Replay", "SendWait", "SharedCache", "Standing", "StoreError",
           "now_ms"]


class Backend(Broker, SendStore, abc.ABC):
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

    async def send(self, room: str, message: Outgoing, gate: SendGate | None) -> Sent:
        """SendStore.send as the calls it stands for, in a row (one Redis overrides it with one script)."""
        if gate is not None:
            standing = await self.stores.moderation.standing(room, gate.user)
            if not clear(standing):
                return Sent(standing=standing)
            wait = await self.stores.limits.take_send(gate.user, gate.rate, gate.burst, room, gate.slow_seconds)
            if not wait.allowed:
                return Sent(wait=wait)
        census = await self.stores.presence.census(room)
        translating = translation_targets(census, message.candidates, message.sender_lang)
        appended = await self.append_message(room, user={"id": message.user.id, "name": message.user.name},
                                             text=message.text, lang=message.lang, cid=message.cid,
                                             translating=translating)
        return Sent(appended=appended, translating=translating)
