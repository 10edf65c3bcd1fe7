"""The RoomStore contract (rooms/stores/room_store.py) on every backend."""

from __future__ import annotations

import asyncio
import time

import pytest

from rooms import Room, RoomState
from rooms.stores.events import RoomSaved
from tests.backend.conftest import NodeFactory


async def test_rooms_are_seeded_once_listed_in_order_and_saved(node):
    configured = (Room("plenary", "Plenary"), Room("climate", "Climate", forum="Sub"))
    await node.stores.rooms.seed_rooms(configured)
    assert [room.id for room in await node.stores.rooms.list_rooms()] == ["plenary", "climate"]
    closed = configured[0].updated(state=RoomState.CLOSED, title="Plenary (over)")
    await node.stores.rooms.save_room(closed)
    await node.stores.rooms.save_room(Room("health", "Health"))
    await node.stores.rooms.seed_rooms(configured)  # a restart: saved state wins over the config
    assert await node.stores.rooms.get_room("plenary") == closed
    assert await node.stores.rooms.get_room("climate") == configured[1]
    assert await node.stores.rooms.get_room("nowhere") is None
    assert [room.id for room in await node.stores.rooms.list_rooms()] == ["plenary", "climate", "health"]


async def test_the_glossary_is_none_until_set_and_the_last_set_wins(make_node):
    node = await make_node()
    assert await node.stores.rooms.get_glossary() is None  # never set: the configured list applies
    await node.stores.rooms.set_glossary(["Cargotec", "BMH Technologies", "Zürich AG"])
    await node.stores.rooms.set_glossary(["Hiab", "Kalmar"])
    assert await node.stores.rooms.get_glossary() == ["Hiab", "Kalmar"]
    await node.stores.rooms.set_glossary([])  # a host emptied it: that is a glossary too, not "never set"
    assert await node.stores.rooms.get_glossary() == []
    terms = ["Kone", "株式会社"]
    await node.stores.rooms.set_glossary(terms)
    terms.append("changed after the call")
    assert await node.stores.rooms.get_glossary() == ["Kone", "株式会社"]


async def test_the_glossary_is_shared_by_the_nodes_of_a_cluster(backend_kind, make_node):
    if not backend_kind.startswith("redis"):
        pytest.skip("a memory or sqlite node is a cluster of one (tests/test_sqlite_store.py: the restart)")
    first, second = await make_node(), await make_node()
    await first.stores.rooms.set_glossary(["Cargotec"])
    assert await second.stores.rooms.get_glossary() == ["Cargotec"]


@pytest.mark.parametrize("backend_kind", [pytest.param("redis", marks=pytest.mark.redis)])
async def test_a_save_on_one_node_reaches_every_node_that_read_the_room_before(make_node: NodeFactory) -> None:
    a, b = await make_node(), await make_node()
    plenary = Room("plenary", "Plenary")
    await a.stores.rooms.seed_rooms((plenary,))
    await b.stores.rooms.seed_rooms((plenary,))
    assert await b.stores.rooms.get_room("plenary") == plenary  # b holds a copy now
    closed = plenary.updated(state=RoomState.CLOSED)
    await a.stores.rooms.save_room(closed)
    assert await a.stores.rooms.get_room("plenary") == closed, "a node reads its own save at once"
    deadline = time.monotonic() + 2
    while await b.stores.rooms.get_room("plenary") != closed:  # once b's pub/sub has brought the notice
        assert time.monotonic() < deadline, "node b still reads the room as it was before the save"
        await asyncio.sleep(0.005)
    await b.stores.rooms.save_room(plenary)
    assert await b.stores.rooms.get_room("plenary") == plenary
    assert [event for _, event in a.events + b.events if isinstance(event, RoomSaved)] == [], (
        "the notice is the backend's own business: no event for the hub"
    )
