"""Edits and replies across languages, with real Apertium output (Debian's eng-spa), on every backend:
an edited English message reaches a Spanish reader as the new Spanish text; a reply's quote reaches
a Spanish reader in Spanish."""
from __future__ import annotations

import pytest

from translation.apertium import discover

pytestmark = pytest.mark.skipif(not discover(), reason="no Apertium pair installed (.ci/system-deps)")

ROOM = "plenary"
BEFORE = "Good morning everyone, the session starts in ten minutes"
AFTER = "Good morning everyone, the session starts in twenty minutes"


@pytest.fixture
async def server(make_server):
    return await make_server(translation={"engines": ("apertium",)})


async def test_an_edited_english_message_reaches_a_spanish_reader_as_the_new_spanish_text(server):
    ada = await server.client("Ada", lang="en", user_id="u_ada")
    sofia = await server.client("Sofia", lang="es", user_id="u_sofia")
    for client in (ada, sofia):
        await client.join(ROOM)
    sent = await ada.say(ROOM, BEFORE)
    assert "diez minutos" in (await sofia.expect("translation", id=sent["id"]))["text"]
    await ada.send({"type": "edit", "room": ROOM, "id": sent["id"], "text": AFTER, "ref": "e"})
    await ada.expect("ack", ref="e")
    edited = await sofia.expect("edited", id=sent["id"])
    assert (edited["text"], edited["lang"], edited["translating"]) == (AFTER, "en", ["es"])
    spanish = await sofia.expect("translation", id=sent["id"])
    assert spanish["lang"] == "es" and "veinte minutos" in spanish["text"] and "diez" not in spanish["text"]
    await ada.silent("translation")  # the sender never gets their own message translated back
    carmen = await server.client("Carmen", lang="es", user_id="u_carmen")
    [shown] = (await carmen.join(ROOM))["messages"]
    assert shown["text"] == AFTER and shown["edited"] is True
    assert shown["tr"]["lang"] == "es" and "veinte minutos" in shown["tr"]["text"]


async def test_a_replys_quote_reaches_a_spanish_reader_in_spanish(server):
    ada = await server.client("Ada", lang="en", user_id="u_ada")
    bob = await server.client("Bob", lang="en", user_id="u_bob")
    sofia = await server.client("Sofia", lang="es", user_id="u_sofia")
    for client in (ada, bob, sofia):
        await client.join(ROOM)
    question = await ada.say(ROOM, "Where is the coffee?")
    assert (await sofia.expect("translation", id=question["id"]))["text"] == "Dónde es el café?"
    answer = await bob.say(ROOM, "Downstairs, next to the door", reply_to=question["id"])
    live = await sofia.expect("message", id=answer["id"])
    # live: the original quote (one frame for every reader); Sofia's client already holds its translation
    assert live["reply_to"] == {"id": question["id"], "user": {"id": "u_ada", "name": "Ada"},
                                "text": "Where is the coffee?"}
    await sofia.send({"type": "history", "room": ROOM, "ref": "h"})
    shown = (await sofia.expect("history", ref="h"))["messages"][-1]
    assert shown["id"] == answer["id"]
    assert shown["reply_to"]["tr"] == {"lang": "es", "text": "Dónde es el café?"}
    assert shown["reply_to"]["text"] == "Where is the coffee?"
    await bob.send({"type": "history", "room": ROOM, "ref": "h"})
    assert "tr" not in (await bob.expect("history", ref="h"))["messages"][-1]["reply_to"]  # reads the original


async def test_mentioned_names_reach_a_spanish_reader_verbatim(server):
    ada = await server.client("Ada", lang="en", user_id="u_ada")
    sofia = await server.client("Sofia", lang="es", user_id="u_sofia")
    bill = await server.client("Bill Baker", lang="en", user_id="u_bill")
    wang = await server.client("王伟", lang="zh", user_id="u_wang")
    for client in (ada, sofia, bill, wang):
        await client.join(ROOM)
    text = "@Bill Baker and @王伟 will open the session"
    sent = await ada.say(ROOM, text, mentions=["u_bill", "u_wang"])
    spanish = (await sofia.expect("translation", id=sent["id"]))["text"]
    # Without the mentions kept whole, Apertium makes "@Bill Panadero": the name is not a word to translate
    assert spanish.startswith("@Bill Baker ") and "@王伟" in spanish and "Panadero" not in spanish
    assert "sesión" in spanish  # the rest is translated
    carmen = await server.client("Carmen", lang="es", user_id="u_carmen")
    [shown] = (await carmen.join(ROOM))["messages"]  # history keeps the same translation
    assert shown["mentions"] == ["u_bill", "u_wang"] and shown["tr"]["text"] == spanish
