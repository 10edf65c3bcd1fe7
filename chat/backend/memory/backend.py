"""The throwaway backend: one process, nothing to install, state lost on exit (tests, demos)."""

from __future__ import annotations

from chat.backend.base import Backend, EventHandler
from chat.backend.local import LocalLimits, LocalPresence
from chat.backend.memory.broker import MemoryBroker
from chat.backend.memory.conversations import MemoryConversations
from chat.backend.memory.meetings import MemoryMeetings
from chat.backend.memory.moderation import MemoryModeration
from chat.backend.memory.rooms import MemoryRooms
from chat.backend.memory.sessions import MemorySessions
from chat.backend.sends import SendsInARow
from rooms.stores import Stores


class MemoryBackend(Backend):
    def __init__(self, *, node_id: str, history_max: int = 1000, idempotency_ttl: int = 86400) -> None:
        self.node_id = node_id
        self._broker = broker = MemoryBroker(history_max=history_max, idempotency_ttl=idempotency_ttl)
        presence, moderation, limits = LocalPresence(), MemoryModeration(), LocalLimits()
        self.stores = Stores(
            broker=broker,
            presence=presence,
            rooms=MemoryRooms(),
            moderation=moderation,
            limits=limits,
            conversations=MemoryConversations(broker.histories),
            meetings=MemoryMeetings(),
            sessions=MemorySessions(),
            sends=SendsInARow(moderation, limits, presence, broker=broker),
        )

    async def start(self, on_event: EventHandler) -> None:
        self._broker.start(on_event)

    async def close(self) -> None:
        self._broker.close()
