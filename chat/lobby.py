"""Live member counts for lobbies: rooms whose presence changed are announced as `room` `updated`.

Announcing every join to every connection would cost O(connections) frames per join; instead a
node collects the rooms that changed and announces each at most once per interval.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from chat.backend import BackendUnavailable
from rooms import Room
from rooms.policy import listed, writers
from rooms.stores import Broker, Presence, RoomStore, census_of
from rooms.stores.events import RoomChanged

log = logging.getLogger("babelroom.lobby")


class LobbyTicker:
    def __init__(self, rooms: RoomStore, presence: Presence, broker: Broker, interval: float) -> None:
        self._rooms, self._presence, self._broker = rooms, presence, broker
        self._interval = interval
        self._touched: set[str] = set()
        self._task: asyncio.Task[None] | None = None

    async def lobby_entry(self, room: Room) -> dict[str, Any]:
        """A room as lobbies show it: its fields, its member count (distinct users, every node), its
        census and the roles that may write in it now (rooms.policy.writers)."""
        present = await self._presence.members(room.id)
        return {
            **room.to_dict(),
            "members": len({member.id for member in present}),
            "languages": census_of(present),
            "writers": writers(room),
        }

    def touch(self, room: str) -> None:
        """A room's membership changed; lobbies hear of it within one interval."""
        self._touched.add(room)

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def close(self) -> None:
        if self._task:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self._interval)
            rooms, self._touched = self._touched, set()
            for room_id in sorted(rooms):
                try:
                    await self._announce(room_id)
                except BackendUnavailable:
                    self._touched.add(room_id)
                except Exception:
                    log.exception("could not announce room %s", room_id)

    async def _announce(self, room_id: str) -> None:
        room = await self._rooms.get_room(room_id)
        if room is not None and listed(room):  # conversations never reach lobbies
            await self._broker.broadcast(RoomChanged(event="updated", room=await self.lobby_entry(room)))
