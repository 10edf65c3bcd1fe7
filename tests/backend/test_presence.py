"""The Presence contract (rooms/stores/presence.py) on every backend."""

from __future__ import annotations

import asyncio
import time

import pytest

import chat.backend.redis.backend
from chat.backend.redis.presence import RedisPresence
from tests.backend.support import BOB, ROOM, member


async def test_presence_counts_users_not_connections(node):
    presence = node.stores.presence
    assert await presence.add_member(ROOM, member("c1")) is True
    assert await presence.add_member(ROOM, member("c2")) is False  # Ada's second tab
    assert await presence.add_member(ROOM, member("c3", BOB)) is True
    assert sorted(m.conn for m in await presence.members(ROOM)) == ["c1", "c2", "c3"]
    assert await presence.remove_member(ROOM, member("c1")) is False  # c2 is still there
    assert await presence.remove_member(ROOM, member("c2")) is True
    assert await presence.remove_member(ROOM, member("c2")) is False  # already gone
    assert [m.id for m in await presence.members(ROOM)] == [BOB["id"]]
    assert await presence.members("climate") == []


async def test_presence_update_replaces_the_connection_record(node):
    await node.stores.presence.add_member(ROOM, member("c1", lang="en"))
    assert await node.stores.presence.add_member(ROOM, member("c1", lang="pt")) is False
    assert [(m.conn, m.lang) for m in await node.stores.presence.members(ROOM)] == [("c1", "pt")]


async def test_census_counts_users_per_reading_language(node):
    presence = node.stores.presence
    await presence.add_member(ROOM, member("c1", lang="en"))
    await presence.add_member(ROOM, member("c2", lang="en"))  # Ada's second tab: still one reader
    await presence.add_member(ROOM, member("c3", BOB, lang="zh"))
    assert await presence.census(ROOM) == {"en": 1, "zh": 1}
    await presence.add_member(ROOM, member("c2", lang="de"))  # one tab changes language
    assert await presence.census(ROOM) == {"de": 1, "en": 1, "zh": 1}
    await presence.remove_member(ROOM, member("c1", lang="en"))
    assert await presence.census(ROOM) == {"de": 1, "zh": 1}
    await presence.remove_member(ROOM, member("c2", lang="de"))
    await presence.remove_member(ROOM, member("c2", lang="de"))  # twice: counted once
    assert await presence.census(ROOM) == {"zh": 1}
    assert await presence.census("climate") == {}


async def test_open_connection_counts_a_users_connections_up_to_most(node):
    presence = node.stores.presence
    assert [await presence.open_connection("u_ada", conn, 2) for conn in ("c1", "c2", "c3")] == [True, True, False]
    assert await presence.open_connection("u_bob", "c4", 2) is True, "one count per user"
    assert await presence.open_connection("u_ada", "c2", 2) is True, "counted once, however often asked"
    await presence.close_connection("u_ada", "c1")
    await presence.close_connection("u_ada", "c1")  # twice: forgotten once
    assert await presence.open_connection("u_ada", "c3", 2) is True
    assert await presence.open_connection("u_ada", "c5", 2) is False
    await presence.close_connection("u_ada", "never-counted")
    assert await presence.open_connection("u_ada", "c5", 2) is False


@pytest.mark.parametrize("backend_kind", [pytest.param("redis", marks=pytest.mark.redis)])
async def test_connections_count_on_every_node_and_a_dead_nodes_stop_counting(make_node):
    a, b = await make_node(presence_ttl=1), await make_node(presence_ttl=1)
    assert await a.stores.presence.open_connection("u_ada", "a1", 3) is True
    assert await b.stores.presence.open_connection("u_ada", "b1", 3) is True
    assert await b.stores.presence.open_connection("u_ada", "b2", 3) is True
    assert await a.stores.presence.open_connection("u_ada", "a2", 3) is False, "three open on two nodes"
    # node b dies without a word: its heartbeat stops and expires, its connections stop counting
    b_presence = b.stores.presence
    assert isinstance(b_presence, RedisPresence)
    await b_presence.stop()  # simulating a crash: the heartbeat stops
    deadline = time.monotonic() + 5
    while not await a.stores.presence.open_connection("u_ada", "a2", 3):
        assert time.monotonic() < deadline, "node b's connections still counted 5 s after it died"
        await asyncio.sleep(0.1)
    assert await a.stores.presence.open_connection("u_ada", "a3", 3) is True
    assert await a.stores.presence.open_connection("u_ada", "a4", 3) is False


@pytest.mark.parametrize("backend_kind", [pytest.param("redis", marks=pytest.mark.redis)])
async def test_a_dead_nodes_members_leave_every_room_its_peers_reap_in_chunks(make_node, monkeypatch):
    """The heartbeat reaps a node's rooms several to a script call on one Redis (reap_rooms.lua):
    every room of a chunk and of the last, shorter one loses the dead node's members and census."""
    monkeypatch.setattr(chat.backend.redis.backend, "REAP_CHUNK", 2)  # three rooms: a call of two, one of one
    a, b = await make_node(presence_ttl=1), await make_node(presence_ttl=1)
    rooms = ["room-1", "room-2", "room-3"]
    for room in rooms:
        await a.stores.presence.add_member(room, member(f"a-{room}", lang="en"))
        await b.stores.presence.add_member(room, member(f"b-{room}", BOB, lang="zh"))
        assert await a.stores.presence.census(room) == {"en": 1, "zh": 1}
    b_presence = b.stores.presence
    assert isinstance(b_presence, RedisPresence)
    await b_presence.stop()  # node b dies without a word: its heartbeat stops and expires
    deadline = time.monotonic() + 10
    for room in rooms:
        # `members` stops listing a dead node's connections when its heartbeat expires; the census
        # forgets their languages only when a live node's heartbeat reaps them: wait for that
        while await a.stores.presence.census(room) != {"en": 1}:
            assert time.monotonic() < deadline, f"node b's reader still counted in {room} 10 s after it died"
            await asyncio.sleep(0.1)
        assert [m.conn for m in await a.stores.presence.members(room)] == [f"a-{room}"]
