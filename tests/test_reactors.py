"""Who reacted, over the WebSocket (issue 25): `reactions {room, id}` answers the people reacting
with each emoji, with their names, on every backend; refused outside the room and for no message."""
from __future__ import annotations

import pytest

ROOM = "plenary"


@pytest.fixture
async def server(make_server):
    return await make_server(limits={"reaction_window": 0})


async def test_reactions_names_who_reacts_with_each_emoji(server):
    ada = await server.client("Ada", user_id="u_ada")
    wang = await server.client("王芳", lang="zh", user_id="u_wang")
    for client in (ada, wang):
        await client.join(ROOM)
    sent = await ada.say(ROOM, "Coffee is served")
    for client, emoji, ref in ((wang, "👍", "w1"), (ada, "👍", "a1"), (wang, "🙏", "w2")):
        await client.send({"type": "react", "room": ROOM, "id": sent["id"], "emoji": emoji, "ref": ref})
        await client.expect("ack", ref=ref)
    await ada.send({"type": "reactions", "room": ROOM, "id": sent["id"], "ref": "who"})
    answer = await ada.expect("reactions", ref="who")
    assert answer == {"type": "reactions", "room": ROOM, "id": sent["id"], "ref": "who",
                      "users": {"👍": [{"id": "u_ada", "name": "Ada"}, {"id": "u_wang", "name": "王芳"}],
                                "🙏": [{"id": "u_wang", "name": "王芳"}]}}


async def test_reactions_refusals(server):
    ada = await server.client("Ada", user_id="u_ada")
    tim = await server.client("Tim", user_id="u_tim")
    await ada.join(ROOM)
    sent = await ada.say(ROOM, "Vote now")
    await tim.send({"type": "reactions", "room": ROOM, "id": sent["id"], "ref": "nj"})
    await tim.expect_error("not_joined", ref="nj")
    await ada.send({"type": "reactions", "room": ROOM, "id": "0000beef.9", "ref": "nf"})
    await ada.expect_error("not_found", ref="nf")
    await ada.send({"type": "reactions", "room": ROOM, "id": "not an id", "ref": "bad"})
    await ada.expect_error("bad_frame", ref="bad")
