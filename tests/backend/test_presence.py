"""The Presence contract (rooms/stores/presence.py) on every backend."""
from __future__ import annotations

from tests.backend.support import BOB, ROOM, member


async def test_presence_counts_users_not_connections(node):
    backend = node.backend
    assert await backend.add_member(ROOM, member("c1")) is True
    assert await backend.add_member(ROOM, member("c2")) is False  # Ada's second tab
    assert await backend.add_member(ROOM, member("c3", BOB)) is True
    assert sorted(m.conn for m in await backend.members(ROOM)) == ["c1", "c2", "c3"]
    assert await backend.remove_member(ROOM, member("c1")) is False  # c2 is still there
    assert await backend.remove_member(ROOM, member("c2")) is True
    assert await backend.remove_member(ROOM, member("c2")) is False  # already gone
    assert [m.id for m in await backend.members(ROOM)] == [BOB["id"]]
    assert await backend.members("climate") == []


async def test_presence_update_replaces_the_connection_record(node):
    await node.backend.add_member(ROOM, member("c1", lang="en"))
    assert await node.backend.add_member(ROOM, member("c1", lang="pt")) is False
    assert [(m.conn, m.lang) for m in await node.backend.members(ROOM)] == [("c1", "pt")]


async def test_census_counts_users_per_reading_language(node):
    backend = node.backend
    await backend.add_member(ROOM, member("c1", lang="en"))
    await backend.add_member(ROOM, member("c2", lang="en"))  # Ada's second tab: still one reader
    await backend.add_member(ROOM, member("c3", BOB, lang="zh"))
    assert await backend.census(ROOM) == {"en": 1, "zh": 1}
    await backend.add_member(ROOM, member("c2", lang="de"))  # one tab changes language
    assert await backend.census(ROOM) == {"de": 1, "en": 1, "zh": 1}
    await backend.remove_member(ROOM, member("c1", lang="en"))
    assert await backend.census(ROOM) == {"de": 1, "zh": 1}
    await backend.remove_member(ROOM, member("c2", lang="de"))
    await backend.remove_member(ROOM, member("c2", lang="de"))  # twice: counted once
    assert await backend.census(ROOM) == {"zh": 1}
    assert await backend.census("climate") == {}
