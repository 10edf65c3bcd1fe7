"""The RoomStore contract (rooms/stores/room_store.py) on every backend."""
from __future__ import annotations

from rooms import Room, RoomState


async def test_rooms_are_seeded_once_listed_in_order_and_saved(node):
    configured = (Room("plenary", "Plenary"), Room("climate", "Climate", forum="Sub"))
    await node.backend.seed_rooms(configured)
    assert [room.id for room in await node.backend.list_rooms()] == ["plenary", "climate"]
    closed = configured[0].updated(state=RoomState.CLOSED, title="Plenary (over)")
    await node.backend.save_room(closed)
    await node.backend.save_room(Room("health", "Health"))
    await node.backend.seed_rooms(configured)  # a restart: saved state wins over the config
    assert await node.backend.get_room("plenary") == closed
    assert await node.backend.get_room("climate") == configured[1]
    assert await node.backend.get_room("nowhere") is None
    assert [room.id for room in await node.backend.list_rooms()] == ["plenary", "climate", "health"]
