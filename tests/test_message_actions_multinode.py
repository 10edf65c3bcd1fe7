"""Reactions, edits, replies and mentions across two `babelroom serve` nodes on one Redis (a redis-server of
the test's own): each reaches the readers of the other node, and history on either node keeps it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.client import Client, http_client
from tests.nodes import NodeProcess, RedisServer, start_together

pytestmark = pytest.mark.redis

ROOM = "plenary"
NODE_ENV = {
    "BABELROOM_LIMITS_RATE_PER_SECOND": "1000",
    "BABELROOM_LIMITS_RATE_BURST": "1000",
    "BABELROOM_CONVERSATIONS_POLICY": "open",
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


async def connect(node: NodeProcess, name: str) -> Client:
    client = await Client.connect(node.ws_url)
    await client.auth(node.token(name, user_id=f"u_{name.lower()}"))
    await client.join(ROOM)
    return client


async def test_reactions_edits_and_replies_cross_nodes(nodes):
    a, b = nodes
    ada, bob = await connect(a, "Ada"), await connect(b, "Bob")
    carl = await connect(a, "Carl")
    sent = await ada.say(ROOM, "Lunch at one")
    await bob.expect("message", id=sent["id"])
    # Bob on node b and Carl on node a react at once: both count, every reader ends at 2
    await bob.send({"type": "react", "room": ROOM, "id": sent["id"], "emoji": "👍", "ref": "rb"})
    await carl.send({"type": "react", "room": ROOM, "id": sent["id"], "emoji": "👍", "ref": "rc"})
    await bob.expect("ack", ref="rb")
    await carl.expect("ack", ref="rc")
    for client in (ada, bob, carl):
        await client.expect("reaction", id=sent["id"], emoji="👍", count=2)
    await ada.send({"type": "edit", "room": ROOM, "id": sent["id"], "text": "Lunch at half past one", "ref": "e"})
    await ada.expect("ack", ref="e")
    assert (await bob.expect("edited", id=sent["id"]))["text"] == "Lunch at half past one"
    reply = await bob.say(ROOM, "See you there", reply_to=sent["id"])
    assert (await ada.expect("message", id=reply["id"]))["reply_to"]["text"] == "Lunch at half past one"
    await ada.send({"type": "reactors", "room": ROOM, "id": sent["id"], "ref": "who"})  # asked on the other node
    assert (await ada.expect("reactors", ref="who"))["reactors"] == {
        "👍": [{"id": "u_bob", "name": "Bob"}, {"id": "u_carl", "name": "Carl"}]
    }
    for node in (a, b):  # history on either node: the edit, the reactions, the reply's quote
        dora = await Client.connect(node.ws_url)
        await dora.auth(node.token("Dora", user_id="u_dora"))
        original, answer = (await dora.join(ROOM))["messages"][-2:]
        assert (original["text"], original["edited"], original["reactions"]) == (
            "Lunch at half past one",
            True,
            {"👍": 2},
        )
        assert answer["reply_to"]["id"] == sent["id"]
        await dora.close()


async def test_a_mention_reaches_the_person_on_the_other_node_in_another_room(nodes):
    a, b = nodes
    ada = await connect(a, "Ada")
    li = await connect(b, "Li")  # a member of the room, on node b
    li_elsewhere = await Client.connect(b.ws_url)  # Li's other tab, in another room
    await li_elsewhere.auth(b.token("Li", user_id="u_li", lang="zh"))
    await li_elsewhere.join("climate")
    li_on_a = await Client.connect(a.ws_url)  # and a phone on node a, in no room
    await li_on_a.auth(a.token("Li", user_id="u_li", lang="zh"))
    sent = await ada.say(ROOM, "@Li your view?", mentions=["u_li"])
    for client in (li, li_elsewhere, li_on_a):
        mention = await client.expect("mention", id=sent["id"])
        assert mention["room"] == ROOM and mention["by"] == {"id": "u_ada", "name": "Ada"}
    assert (await li.expect("message", id=sent["id"]))["mentions"] == ["u_li"]


async def test_delete_own_unread_and_typing_cross_nodes(nodes):
    a, b = nodes
    ada, bob = await connect(a, "Ada"), await connect(b, "Bob")
    oops = await ada.say(ROOM, "Wrong room, sorry")
    await ada.send({"type": "delete", "room": ROOM, "id": oops["id"], "ref": "d"})
    await ada.expect("ack", ref="d")
    assert (await bob.expect("deleted", id=oops["id"]))["by"] == {"id": "u_ada", "name": "Ada"}
    # Bob reads on node b; his phone on node a finds the same read position and count
    first = await ada.say(ROOM, "one")
    await bob.expect("message", id=first["id"])
    await bob.send({"type": "read", "room": ROOM, "id": first["id"], "ref": "r"})
    await bob.expect("ack", ref="r")
    for text in ("two", "three"):
        await ada.say(ROOM, text)
    phone = await Client.connect(a.ws_url)
    await phone.auth(a.token("Bob", user_id="u_bob"))
    you = (await phone.join(ROOM))["you"]
    assert (you["read"], you["unread"]) == (first["id"], 2)
    # typing in a private conversation reaches the other member on the other node
    async with http_client(a.url) as http:
        created = await http.post(
            "/api/conversations",
            json={"with": ["u_bob"]},
            headers={"Authorization": f"Bearer {a.token('Ada', user_id='u_ada')}"},
        )
    room = created.json()["room"]["id"]
    await ada.join(room)
    await bob.join(room)
    await ada.send({"type": "typing", "room": room})
    assert (await bob.expect("typing", room=room))["user"] == {"id": "u_ada", "name": "Ada"}


async def test_a_persons_devices_on_two_nodes_agree_live(nodes):
    """Bob reads on node b: his phone on node a learns the new position and count at once; a private
    message reaches his device on node a that joined no conversation, with its count and author."""
    a, b = nodes
    ada, laptop = await connect(a, "Ada"), await connect(b, "Bob")
    phone = await Client.connect(a.ws_url)  # in no room
    await phone.auth(a.token("Bob", user_id="u_bob"))
    said = [(await ada.say(ROOM, text))["id"] for text in ("one", "two")]
    await laptop.send({"type": "read", "room": ROOM, "id": said[0], "ref": "r"})
    await laptop.expect("ack", ref="r")
    assert await phone.expect("unread", room=ROOM) == {"type": "unread", "room": ROOM, "read": said[0], "unread": 1}
    async with http_client(a.url) as http:
        created = await http.post(
            "/api/conversations",
            json={"with": ["u_bob"]},
            headers={"Authorization": f"Bearer {a.token('Ada', user_id='u_ada')}"},
        )
    room = created.json()["room"]["id"]
    await ada.join(room)
    sent = await ada.say(room, "A word in private?")
    for device in (phone, laptop):  # neither joined the conversation
        told = await device.expect("unread", room=room, id=sent["id"])
        assert (told["unread"], told["by"]) == (1, {"id": "u_ada", "name": "Ada"})
    await laptop.send({"type": "read", "room": room, "id": sent["id"], "ref": "r2"})
    assert (await phone.expect("unread", room=room, read=sent["id"]))["unread"] == 0
