"""The RoomStore contract (rooms/stores/room_store.py) on every backend."""
from __future__ import annotations

import pytest

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


async def test_the_glossary_is_none_until_set_and_the_last_set_wins(make_node):
    node = await make_node()
    assert await node.backend.get_glossary() is None  # never set: the configured list applies
    await node.backend.set_glossary(["Cargotec", "BMH Technologies", "Zürich AG"])
    await node.backend.set_glossary(["Hiab", "Kalmar"])
    assert await node.backend.get_glossary() == ["Hiab", "Kalmar"]
    await node.backend.set_glossary([])  # a host emptied it: that is a glossary too, not "never set"
    assert await node.backend.get_glossary() == []
    terms = ["Kone", "株式会社"]
    await node.backend.set_glossary(terms)
    terms.append("changed after the call")
    assert await node.backend.get_glossary() == ["Kone", "株式会社"]


async def test_the_glossary_is_shared_by_the_nodes_of_a_cluster(backend_kind, make_node):
    if backend_kind != "redis":
        pytest.skip("a memory or sqlite node is a cluster of one (tests/test_sqlite_store.py: the restart)")
    first, second = await make_node(), await make_node()
    await first.backend.set_glossary(["Cargotec"])
    assert await second.backend.get_glossary() == ["Cargotec"]
