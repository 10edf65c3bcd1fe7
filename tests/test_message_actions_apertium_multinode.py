"""Issue 25's translation parts across two `babelroom serve` nodes on one Redis (a redis-server of the
test's own), with real Apertium (Debian's eng-spa): an edit, a reply's quote and a mention, each sent on
one node and read in Spanish on the other."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.client import Client
from tests.nodes import NodeProcess, RedisServer, start_together
from translation.apertium import discover

pytestmark = [
    pytest.mark.redis,
    pytest.mark.skipif(not discover(), reason="no Apertium pair installed (.ci/system-deps)"),
]

ROOM = "plenary"
NODE_ENV = {
    "BABELROOM_TRANSLATION_ENGINES": "apertium",
    "BABELROOM_LIMITS_RATE_PER_SECOND": "1000",
    "BABELROOM_LIMITS_RATE_BURST": "1000",
}


@pytest.fixture
async def nodes(tmp_path: Path) -> AsyncIterator[tuple[NodeProcess, NodeProcess]]:
    redis_server = RedisServer(tmp_path / "redis")
    redis_server.start()
    started = [NodeProcess(name, tmp_path, redis_url=redis_server.url, env=NODE_ENV) for name in ("a", "b")]
    try:
        await asyncio.to_thread(start_together, *started)
        yield started[0], started[1]
    finally:
        for node in started:
            node.stop()
        redis_server.stop()


async def connect(node: NodeProcess, name: str, lang: str, room: str | None = ROOM) -> Client:
    client = await Client.connect(node.ws_url)
    await client.auth(node.token(name, user_id=f"u_{name.lower().replace(' ', '_')}", lang=lang))
    if room is not None:
        await client.join(room)
    return client


async def test_edit_quote_and_mention_reach_a_spanish_reader_on_the_other_node(nodes):
    a, b = nodes
    ada, bob = await connect(a, "Ada", "en"), await connect(a, "Bob", "en")
    sofia = await connect(b, "Sofia", "es")
    # an edited English message reaches the Spanish reader as the new Spanish text
    sent = await ada.say(ROOM, "Good morning everyone, the session starts in ten minutes")
    assert "diez minutos" in (await sofia.expect("translation", id=sent["id"]))["text"]
    await ada.send(
        {
            "type": "edit",
            "room": ROOM,
            "id": sent["id"],
            "ref": "e",
            "text": "Good morning everyone, the session starts in twenty minutes",
        }
    )
    await ada.expect("ack", ref="e")
    assert (await sofia.expect("edited", id=sent["id"]))["translating"] == ["es"]
    spanish = (await sofia.expect("translation", id=sent["id"]))["text"]
    assert "veinte minutos" in spanish and "diez" not in spanish
    # a reply's quote reaches the Spanish reader in Spanish, live
    question = await ada.say(ROOM, "Where is the coffee?")
    assert (await sofia.expect("translation", id=question["id"]))["text"] == "Dónde es el café?"
    answer = await bob.say(ROOM, "Downstairs, next to the door", reply_to=question["id"])
    live = await sofia.expect("message", id=answer["id"])
    assert live["reply_to"]["tr"] == {"lang": "es", "text": "Dónde es el café?"}
    assert live["reply_to"]["text"] == "Where is the coffee?"
    assert "tr" not in (await ada.expect("message", id=answer["id"]))["reply_to"]
    # a mention: the name verbatim in the Spanish translation, and the person told on the other node
    bill = await connect(b, "Bill Baker", "en", room=None)  # in no room: on the other node, in the lobby
    li = await connect(b, "Li", "zh", room="climate")  # a Chinese reader, in another room
    for person in (bill, li):  # mentionable: members of the room (another connection of theirs is in it)
        await connect(a, "Bill Baker" if person is bill else "Li", "en" if person is bill else "zh")
    mentioned = await ada.say(ROOM, "@Bill Baker and @Li will open the session", mentions=["u_bill_baker", "u_li"])
    for person in (bill, li):
        assert (await person.expect("mention", id=mentioned["id"]))["by"] == {"id": "u_ada", "name": "Ada"}
    spanish = (await sofia.expect("translation", id=mentioned["id"]))["text"]
    assert spanish.startswith("@Bill Baker ") and "@Li " in spanish and "Panadero" not in spanish
