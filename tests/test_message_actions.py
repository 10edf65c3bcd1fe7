"""Reactions, edits and replies over the WebSocket (issue 25), on every backend: the frames every
reader gets, what history keeps, and each refusal."""

from __future__ import annotations

import pytest

from rooms import Role
from rooms.messages import REACTIONS

ROOM = "plenary"


@pytest.fixture
async def server(make_server):
    # the window of `reaction` frames is off here: each toggle's frame is asserted (tests/test_hub_reactions.py)
    return await make_server(limits={"reaction_window": 0})


async def test_reactions_toggle_reach_every_reader_and_stay_in_history(server):
    ada = await server.client("Ada", user_id="u_ada")
    bob = await server.client("Bob", lang="de", user_id="u_bob")
    for client in (ada, bob):
        await client.join(ROOM)
    sent = await ada.say(ROOM, "Coffee is served")
    await bob.send({"type": "react", "room": ROOM, "id": sent["id"], "emoji": "👍", "ref": "r1"})
    assert (await bob.expect("ack", ref="r1"))["id"] == sent["id"]
    for client in (ada, bob):
        reaction = await client.expect("reaction", id=sent["id"])
        assert reaction == {
            "type": "reaction",
            "room": ROOM,
            "id": sent["id"],
            "emoji": "👍",
            "count": 1,
            "user": "u_bob",
        }
    await ada.send({"type": "react", "room": ROOM, "id": sent["id"], "emoji": "👍", "ref": "r2"})
    await ada.send({"type": "react", "room": ROOM, "id": sent["id"], "emoji": "❤️", "ref": "r3"})
    assert (await bob.expect("reaction", emoji="👍", user="u_ada"))["count"] == 2
    assert (await bob.expect("reaction", emoji="❤️"))["count"] == 1
    await bob.send({"type": "react", "room": ROOM, "id": sent["id"], "emoji": "👍", "ref": "r4"})  # taken back
    assert (await ada.expect("reaction", emoji="👍", user="u_bob"))["count"] == 1
    carl = await server.client("Carl", user_id="u_carl")
    [shown] = (await carl.join(ROOM))["messages"]
    assert shown["reactions"] == {"👍": 1, "❤️": 1}
    await carl.send({"type": "history", "room": ROOM, "ref": "h"})
    assert (await carl.expect("history", ref="h"))["messages"][0]["reactions"] == {"👍": 1, "❤️": 1}
    later = await ada.say(ROOM, "and tea")
    await ada.send({"type": "react", "room": ROOM, "id": later["id"], "emoji": "😂", "ref": "r5"})
    await ada.expect("ack", ref="r5")
    dora = await server.client("Dora", user_id="u_dora")
    replay = await dora.join(ROOM, since=sent["id"])
    assert replay["recovered"] is True and [m["reactions"] for m in replay["messages"]] == [{"😂": 1}]


async def test_reaction_refusals(server):
    ada = await server.client("Ada", user_id="u_ada")
    mo = await server.client("Mo", role=Role.MODERATOR, user_id="u_mo")
    tim = await server.client("Tim", user_id="u_tim")
    await ada.join(ROOM)
    await mo.join(ROOM)
    sent = await ada.say(ROOM, "Vote now")
    await tim.send({"type": "react", "room": ROOM, "id": sent["id"], "emoji": "👍", "ref": "nj"})
    await tim.expect_error("not_joined", ref="nj")
    await tim.join(ROOM)
    await tim.send({"type": "react", "room": ROOM, "id": sent["id"], "emoji": "🤡", "ref": "bad"})
    error = await tim.expect_error("bad_frame", ref="bad")
    assert all(emoji in error["message"] for emoji in REACTIONS)
    await tim.send({"type": "react", "room": ROOM, "id": "nonsense", "emoji": "👍", "ref": "id"})
    await tim.expect_error("bad_frame", ref="id")
    await tim.send({"type": "react", "room": ROOM, "id": sent["id"].split(".")[0] + ".999", "emoji": "👍", "ref": "nf"})
    await tim.expect_error("not_found", ref="nf")
    await mo.send({"type": "mute", "room": ROOM, "user": "u_tim", "ref": "m"})
    await mo.expect("ack", ref="m")
    await tim.send({"type": "react", "room": ROOM, "id": sent["id"], "emoji": "👍", "ref": "muted"})
    await tim.expect_error("muted", ref="muted")
    await mo.send({"type": "delete", "room": ROOM, "id": sent["id"], "ref": "d"})
    await mo.expect("ack", ref="d")
    await ada.send({"type": "react", "room": ROOM, "id": sent["id"], "emoji": "👍", "ref": "gone"})
    await ada.expect_error("not_found", ref="gone")
    await ada.silent("reaction")


async def test_the_sender_edits_their_message_and_every_reader_gets_the_new_text(server):
    ada = await server.client("Ada", user_id="u_ada")
    bob = await server.client("Bob", user_id="u_bob")
    mo = await server.client("Mo", role=Role.MODERATOR, user_id="u_mo")
    for client in (ada, bob, mo):
        await client.join(ROOM)
    sent = await ada.say(ROOM, "The sesion starts at ten")
    await bob.send({"type": "react", "room": ROOM, "id": sent["id"], "emoji": "👏", "ref": "r"})
    await bob.expect("ack", ref="r")
    await ada.send({"type": "edit", "room": ROOM, "id": sent["id"], "text": "The session starts at ten", "ref": "e"})
    assert (await ada.expect("ack", ref="e"))["id"] == sent["id"]
    for client in (ada, bob, mo):
        edited = await client.expect("edited", id=sent["id"])
        assert edited["text"] == "The session starts at ten" and edited["lang"] == "en"
        assert edited["room"] == ROOM and isinstance(edited["translating"], list)
    for client in (bob, mo):  # moderators see it was edited, as everyone does
        await client.send({"type": "history", "room": ROOM, "ref": "h"})
        [shown] = (await client.expect("history", ref="h"))["messages"]
        assert shown["text"] == "The session starts at ten" and shown["edited"] is True
        assert shown["reactions"] == {"👏": 1}


async def test_edit_refusals(server):
    ada = await server.client("Ada", user_id="u_ada")
    bob = await server.client("Bob", user_id="u_bob")
    mo = await server.client("Mo", role=Role.MODERATOR, user_id="u_mo")
    for client in (ada, bob, mo):
        await client.join(ROOM)
    sent = await ada.say(ROOM, "Mine")
    await bob.send({"type": "edit", "room": ROOM, "id": sent["id"], "text": "Yours", "ref": "other"})
    assert "only the sender" in (await bob.expect_error("forbidden", ref="other"))["message"]
    await mo.send({"type": "edit", "room": ROOM, "id": sent["id"], "text": "Moderated", "ref": "mod"})
    await mo.expect_error("forbidden", ref="mod")  # moderators delete; they do not rewrite
    await ada.send({"type": "edit", "room": ROOM, "id": sent["id"], "text": "  ", "ref": "empty"})
    await ada.expect_error("bad_frame", ref="empty")
    await mo.send({"type": "delete", "room": ROOM, "id": sent["id"], "ref": "d"})
    await mo.expect("ack", ref="d")
    await ada.send({"type": "edit", "room": ROOM, "id": sent["id"], "text": "Mine again", "ref": "gone"})
    await ada.expect_error("not_found", ref="gone")
    await ada.silent("edited")


async def test_an_edit_after_the_window_is_refused(make_server):
    server = await make_server(limits={"edit_window": 0})  # 0: messages cannot be edited at all
    ada = await server.client("Ada", user_id="u_ada")
    await ada.join(ROOM)
    sent = await ada.say(ROOM, "Too late")
    await ada.send({"type": "edit", "room": ROOM, "id": sent["id"], "text": "Too late!", "ref": "late"})
    error = await ada.expect_error("forbidden", ref="late")
    assert "can be edited for 0 s" in error["message"]


async def test_a_reply_quotes_the_message_it_answers(server):
    ada = await server.client("Ada", user_id="u_ada")
    bob = await server.client("Bob", user_id="u_bob")
    for client in (ada, bob):
        await client.join(ROOM)
    long = "Where is the coffee? " * 10
    original = await ada.say(ROOM, long)
    reply = await bob.say(ROOM, "Downstairs", reply_to=original["id"])
    quote = {"id": original["id"], "user": {"id": "u_ada", "name": "Ada"}, "text": long[:99].rstrip() + "…"}
    for client in (ada, bob):
        message = await client.expect("message", id=reply["id"])
        assert message["reply_to"] == quote
    carl = await server.client("Carl", user_id="u_carl")
    shown = (await carl.join(ROOM))["messages"]
    assert shown[-1]["reply_to"] == quote and "reply_to" not in shown[0]
    await bob.send({"type": "send", "room": ROOM, "text": "?", "reply_to": "nonsense", "ref": "bad"})
    await bob.expect_error("bad_frame", ref="bad")
    await bob.send(
        {"type": "send", "room": ROOM, "text": "?", "reply_to": original["id"].split(".")[0] + ".999", "ref": "nf"}
    )
    await bob.expect_error("not_found", ref="nf")


async def test_a_mention_reaches_every_connection_of_the_person_in_another_room(server):
    ada = await server.client("Ada", user_id="u_ada")
    li = await server.client("Li", lang="zh", user_id="u_li")  # in the room: Li is one of its members
    li_climate = await server.client("Li", lang="zh", user_id="u_li")  # Li's other tab, in another room
    li_phone = await server.client("Li", lang="zh", user_id="u_li")  # in no room
    await ada.join(ROOM)
    await li.join(ROOM)
    await li_climate.join("climate")
    eve = await server.client("Eve", user_id="u_eve")  # in no room: cannot be mentioned in this one
    sent = await ada.say(ROOM, "@Li what do you think?", mentions=["u_li", "u_eve", "u_li", "u_nobody"])
    for client in (li, li_climate, li_phone):
        mention = await client.expect("mention", id=sent["id"])
        assert mention == {"type": "mention", "room": ROOM, "id": sent["id"], "by": {"id": "u_ada", "name": "Ada"}}
    message = await ada.expect("message", id=sent["id"])
    assert message["mentions"] == ["u_li"]  # Eve and an unknown id are not members: left out, once each
    await li_climate.silent("message")  # the mention tells; the message itself stays in its room
    await eve.silent("mention")
    await ada.silent("mention")
    carl = await server.client("Carl", user_id="u_carl")
    assert (await carl.join(ROOM))["messages"][-1]["mentions"] == ["u_li"]
    await ada.send(
        {"type": "send", "room": ROOM, "text": "x", "mentions": [f"u_{i}" for i in range(21)], "ref": "many"}
    )
    await ada.expect_error("bad_frame", ref="many")


async def test_typing_is_shown_in_private_conversations_only_and_at_most_once_a_moment(make_server):
    server = await make_server(conversations={"policy": "open"}, limits={"typing_interval": 3600})
    ada = await server.client("Ada", user_id="u_ada")
    bo = await server.client("Bo", user_id="u_bo")
    async with server.http() as http:
        created = await http.post(
            "/api/conversations",
            json={"with": ["u_bo"]},
            headers={"Authorization": f"Bearer {server.token('Ada', user_id='u_ada')}"},
        )
    room = created.json()["room"]["id"]
    await ada.join(room)
    await bo.join(room)
    for _ in range(5):  # one per keystroke: announced once
        await ada.send({"type": "typing", "room": room})
    typing = await bo.expect("typing", room=room)
    assert typing == {"type": "typing", "room": room, "user": {"id": "u_ada", "name": "Ada"}}
    await bo.silent("typing", within=0.5)
    await ada.silent("typing")  # never back to the typist
    await ada.join(ROOM)
    await ada.send({"type": "typing", "room": ROOM, "ref": "t"})
    assert "private conversations only" in (await ada.expect_error("forbidden", ref="t"))["message"]
    await ada.send({"type": "typing", "room": "climate", "ref": "nj"})
    await ada.expect_error("not_joined", ref="nj")


async def test_a_rooms_read_position_and_unread_count_are_kept_for_every_device(server):
    ada = await server.client("Ada", user_id="u_ada")
    laptop = await server.client("Bob", user_id="u_bob")
    await ada.join(ROOM)
    assert "read" not in (await laptop.join(ROOM))["you"]  # never marked: no line, no count
    first = await ada.say(ROOM, "one")
    await laptop.send({"type": "read", "room": ROOM, "id": first["id"], "ref": "r"})
    await laptop.expect("ack", ref="r")
    for text in ("two", "three"):
        await ada.say(ROOM, text)
    own = await laptop.say(ROOM, "mine")  # one's own messages are never unread
    phone = await server.client("Bob", user_id="u_bob")
    you = (await phone.join(ROOM))["you"]
    assert you["read"] == first["id"] and you["unread"] == 2
    await phone.send({"type": "read", "room": ROOM, "id": own["id"], "ref": "r2"})
    await phone.expect("ack", ref="r2")
    assert (await laptop.join(ROOM))["you"] == {"role": "delegate", "read": own["id"], "unread": 0}
    await phone.send({"type": "read", "room": "climate", "id": own["id"], "ref": "nj"})
    await phone.expect_error("not_joined", ref="nj")


async def test_an_edit_spends_a_send_token(make_server):
    server = await make_server(limits={"rate_burst": 1, "rate_per_second": 0.001})
    ada = await server.client("Ada", user_id="u_ada")
    await ada.join(ROOM)
    sent = await ada.say(ROOM, "The only token")
    await ada.send({"type": "edit", "room": ROOM, "id": sent["id"], "text": "Again and again", "ref": "e"})
    error = await ada.expect_error("rate_limited", ref="e")
    assert error["retry_after"] > 0


async def test_reactors_names_who_reacted_with_each_emoji_leaving_out_whom_one_blocks(server):
    ada = await server.client("Ada", user_id="u_ada")
    zoe = await server.client("Zoe", user_id="u_zoe")
    bob = await server.client("Bob", user_id="u_bob")
    dora = await server.client("Dora", user_id="u_dora")
    for client in (ada, zoe, bob, dora):
        await client.join(ROOM)
    sent = await ada.say(ROOM, "Coffee is served")
    quiet = await ada.say(ROOM, "Nobody reacts to this")
    for client, emoji in ((zoe, "👍"), (bob, "👍"), (bob, "❤️"), (ada, "👍")):
        ref = f"{id(client)}{emoji}"
        await client.send({"type": "react", "room": ROOM, "id": sent["id"], "emoji": emoji, "ref": ref})
        await client.expect("ack", ref=ref)
    await dora.send({"type": "reactors", "room": ROOM, "id": sent["id"], "ref": "w"})
    answer = await dora.expect("reactors", ref="w")
    assert answer == {
        "type": "reactors",
        "room": ROOM,
        "id": sent["id"],
        "ref": "w",
        "reactors": {
            "👍": [{"id": "u_ada", "name": "Ada"}, {"id": "u_bob", "name": "Bob"}, {"id": "u_zoe", "name": "Zoe"}],
            "❤️": [{"id": "u_bob", "name": "Bob"}],
        },
    }  # by name, whatever order they reacted in
    async with server.http() as http:
        blocked = await http.post(
            "/api/blocks",
            json={"user": "u_bob"},
            headers={"Authorization": f"Bearer {server.token('Dora', user_id='u_dora')}"},
        )
    assert blocked.status_code == 201
    await dora.send({"type": "reactors", "room": ROOM, "id": sent["id"], "ref": "w2"})
    assert (await dora.expect("reactors", ref="w2"))["reactors"] == {
        "👍": [{"id": "u_ada", "name": "Ada"}, {"id": "u_zoe", "name": "Zoe"}]
    }  # Bob, whom Dora blocks, left out
    await ada.send({"type": "reactors", "room": ROOM, "id": sent["id"], "ref": "w3"})
    assert len((await ada.expect("reactors", ref="w3"))["reactors"]["👍"]) == 3  # Ada blocks nobody
    await dora.send({"type": "reactors", "room": ROOM, "id": quiet["id"], "ref": "none"})
    assert (await dora.expect("reactors", ref="none"))["reactors"] == {}
    # refusals: outside the room, an id of another shape, a message the room does not hold or deleted
    eve = await server.client("Eve", user_id="u_eve")
    await eve.send({"type": "reactors", "room": ROOM, "id": sent["id"], "ref": "nj"})
    await eve.expect_error("not_joined", ref="nj")
    await dora.send({"type": "reactors", "room": ROOM, "id": "nonsense", "ref": "bad"})
    await dora.expect_error("bad_frame", ref="bad")
    await dora.send({"type": "reactors", "room": ROOM, "id": sent["id"].split(".")[0] + ".999", "ref": "nf"})
    await dora.expect_error("not_found", ref="nf")
    await ada.send({"type": "delete", "room": ROOM, "id": sent["id"], "ref": "d"})
    await ada.expect("ack", ref="d")
    await dora.send({"type": "reactors", "room": ROOM, "id": sent["id"], "ref": "gone"})
    await dora.expect_error("not_found", ref="gone")


async def test_reactors_of_a_private_conversation_are_its_members_only(make_server):
    server = await make_server(conversations={"policy": "open"})
    ada = await server.client("Ada", user_id="u_ada")
    bo = await server.client("Bo", user_id="u_bo")
    eve = await server.client("Eve", user_id="u_eve")
    async with server.http() as http:
        created = await http.post(
            "/api/conversations",
            json={"with": ["u_bo"]},
            headers={"Authorization": f"Bearer {server.token('Ada', user_id='u_ada')}"},
        )
    room = created.json()["room"]["id"]
    await ada.join(room)
    await bo.join(room)
    sent = await ada.say(room, "Just between us")
    await bo.send({"type": "react", "room": room, "id": sent["id"], "emoji": "🙏", "ref": "r"})
    await bo.expect("ack", ref="r")
    await ada.send({"type": "reactors", "room": room, "id": sent["id"], "ref": "w"})
    assert (await ada.expect("reactors", ref="w"))["reactors"] == {"🙏": [{"id": "u_bo", "name": "Bo"}]}
    await eve.send({"type": "join", "room": room, "ref": "j"})
    await eve.expect_error("not_found", ref="j")
    await eve.send({"type": "reactors", "room": room, "id": sent["id"], "ref": "w"})
    await eve.expect_error("not_joined", ref="w")


async def test_the_sender_deletes_their_own_message_and_no_one_elses(server):
    ada = await server.client("Ada", user_id="u_ada")
    bob = await server.client("Bob", user_id="u_bob")
    for client in (ada, bob):
        await client.join(ROOM)
    mine, theirs = await ada.say(ROOM, "Wrong room, sorry"), await bob.say(ROOM, "Hello")
    await ada.send({"type": "delete", "room": ROOM, "id": mine["id"], "ref": "d"})
    await ada.expect("ack", ref="d")
    for client in (ada, bob):
        deleted = await client.expect("deleted", id=mine["id"])
        assert deleted["by"] == {"id": "u_ada", "name": "Ada"}
    await ada.send({"type": "delete", "room": ROOM, "id": theirs["id"], "ref": "other"})
    await ada.expect_error("forbidden", ref="other")
    carl = await server.client("Carl", user_id="u_carl")
    first, second = (await carl.join(ROOM))["messages"]
    assert (first["id"], first["deleted"], first["text"]) == (mine["id"], True, "")
    assert second["text"] == "Hello"
