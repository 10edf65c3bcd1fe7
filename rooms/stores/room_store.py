"""The room store: the rooms that exist, their titles, forums, states and slow modes.

Guarantees (tests/backend/test_room_store.py):
- `seed_rooms` creates only the rooms that do not exist yet: a host's change survives a restart.
- `list_rooms` lists the configured rooms first, in config order, then the others by creation.
- `save_room` replaces the whole record; readers on every node see the last save: the saving
  node at once, the others once their live connection to the shared state brought the save's
  notice (redis: published in the save's own transaction, so before the save is answered).
- `set_glossary` replaces the glossary (the terms never translated): the last set wins, and it is as
  durable as the backend is (memory: until exit; sqlite: across restarts; redis: as Redis keeps its
  data, seen by every node). `get_glossary` is None until a glossary was ever set, so a node knows
  whether a host's list exists or the configured one applies.
"""

from __future__ import annotations

import abc

from rooms.models import Room


class RoomStore(abc.ABC):
    @abc.abstractmethod
    async def seed_rooms(self, rooms: tuple[Room, ...]) -> None:
        """Create the configured rooms that do not exist yet."""

    @abc.abstractmethod
    async def list_rooms(self) -> list[Room]:
        """Every room, configured ones first in config order, then the rest by creation."""

    @abc.abstractmethod
    async def get_room(self, room: str) -> Room | None:
        """The room, or None when there is no such room."""

    @abc.abstractmethod
    async def save_room(self, room: Room) -> None:
        """Create or replace a room."""

    @abc.abstractmethod
    async def get_glossary(self) -> list[str] | None:
        """The glossary last set, in its order ([] when a host emptied it), or None if none ever was."""

    @abc.abstractmethod
    async def set_glossary(self, terms: list[str]) -> None:
        """Replace the glossary (terms already cleaned by the caller); the last set wins."""
