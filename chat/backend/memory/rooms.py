"""The room store (rooms/stores/room_store.py) in one process: the rooms and the glossary, lost on exit."""

from __future__ import annotations

from rooms import Room
from rooms.stores import RoomStore


class MemoryRooms(RoomStore):
    def __init__(self) -> None:
        self._rooms: dict[str, Room] = {}
        self._glossary: list[str] | None = None  # None: never set, the configured list applies

    async def seed_rooms(self, rooms: tuple[Room, ...]) -> None:
        for room in rooms:
            self._rooms.setdefault(room.id, room)

    async def list_rooms(self) -> list[Room]:
        return list(self._rooms.values())

    async def get_room(self, room: str) -> Room | None:
        return self._rooms.get(room)

    async def save_room(self, room: Room) -> None:
        self._rooms[room.id] = room

    async def get_glossary(self) -> list[str] | None:
        return None if self._glossary is None else list(self._glossary)

    async def set_glossary(self, terms: list[str]) -> None:
        self._glossary = list(terms)  # a copy: the caller's list may change
