"""The Broker contract for who reacts to a message (`reactors`, issue 25: the names a reaction chip
shows on hover), on every backend: the people reacting now, per emoji, gone with the message."""
from __future__ import annotations

from tests.backend.support import ADA, BOB, ROOM


async def test_reactors_are_the_people_reacting_now(node):
    sent = await node.say("Lunch at one?")
    backend = node.backend
    assert await backend.reactors(ROOM, sent.id) == {}
    await backend.toggle_reaction(ROOM, sent.id, "👍", BOB["id"])
    await backend.toggle_reaction(ROOM, sent.id, "👍", ADA["id"])
    await backend.toggle_reaction(ROOM, sent.id, "❤️", BOB["id"])
    assert await backend.reactors(ROOM, sent.id) == {"👍": sorted([ADA["id"], BOB["id"]]), "❤️": [BOB["id"]]}
    await backend.toggle_reaction(ROOM, sent.id, "❤️", BOB["id"])  # taken back: the emoji is gone
    assert await backend.reactors(ROOM, sent.id) == {"👍": sorted([ADA["id"], BOB["id"]])}


async def test_reactors_need_a_live_message(node):
    sent = await node.say("Soon gone")
    await node.backend.toggle_reaction(ROOM, sent.id, "👍", ADA["id"])
    assert await node.backend.reactors(ROOM, "deadbeef.1") is None
    assert await node.backend.delete_message(ROOM, sent.id) is True
    assert await node.backend.reactors(ROOM, sent.id) is None
