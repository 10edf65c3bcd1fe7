"""SendStore.send as the calls it stands for, in a row: the standing, the limits, the census and
the append, each asked of its own store. The memory and sqlite backends send this way (one process:
nothing runs between the calls that could matter), and so does Redis Cluster, where the room's,
the user's and the event-wide keys live in three slots; one Redis does it in one script
(redis/sends.py)."""

from __future__ import annotations

from rooms.stores import (
    Broker,
    LimitStore,
    ModerationStore,
    Outgoing,
    Presence,
    SendGate,
    SendStore,
    Sent,
    clear,
    translation_targets,
)


class SendsInARow(SendStore):
    def __init__(self, moderation: ModerationStore, limits: LimitStore, presence: Presence, broker: Broker) -> None:
        self._moderation, self._limits, self._presence, self._broker = moderation, limits, presence, broker

    async def send(self, room: str, message: Outgoing, gate: SendGate | None) -> Sent:
        if gate is not None:
            standing = await self._moderation.standing(room, gate.user)
            if not clear(standing):
                return Sent(standing=standing)
            wait = await self._limits.take_send(gate.user, gate.rate, gate.burst, room, gate.slow_seconds)
            if not wait.allowed:
                return Sent(wait=wait)
        census = await self._presence.census(room)
        translating = translation_targets(census, message.candidates, message.sender_lang)
        appended = await self._broker.append_message(
            room,
            user={"id": message.user.id, "name": message.user.name},
            text=message.text,
            lang=message.lang,
            cid=message.cid,
            translating=translating,
        )
        return Sent(appended=appended, translating=translating)
