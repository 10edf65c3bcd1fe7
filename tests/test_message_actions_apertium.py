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
    quote = {"id": question["id"], "user": {"id": "u_ada", "name": "Ada"}, "text": "Where is the coffee?"}
    live = await sofia.expect("message", id=answer["id"])  # live, in Sofia's language
    assert live["reply_to"] == {**quote, "tr": {"lang": "es", "text": "Dónde es el café?"}}
    for reader in (ada, bob):  # readers of the quoted message's own language get it as written
        assert (await reader.expect("message", id=answer["id"]))["reply_to"] == quote
    await sofia.send({"type": "history", "room": ROOM, "ref": "h"})
    shown = (await sofia.expect("history", ref="h"))["messages"][-1]
    assert shown["id"] == answer["id"] and shown["reply_to"] == live["reply_to"]
    await bob.send({"type": "history", "room": ROOM, "ref": "h"})
    assert (await bob.expect("history", ref="h"))["messages"][-1]["reply_to"] == quote


async def test_a_quote_follows_its_original_translated_later_edited_and_deleted(server):
    ada = await server.client("Ada", lang="en", user_id="u_ada")
    bob = await server.client("Bob", lang="en", user_id="u_bob")
    for client in (ada, bob):
        await client.join(ROOM)
    question = await ada.say(ROOM, "Where is the coffee?")  # nobody reads Spanish yet: no translation
    answer = await bob.say(ROOM, "Downstairs", reply_to=question["id"])
    assert "tr" not in (await ada.expect("message", id=answer["id"]))["reply_to"]
    sofia = await server.client("Sofia", lang="es", user_id="u_sofia")
    joined = (await sofia.join(ROOM))["messages"]
    assert joined[-2]["translating"] == ["es"]  # the quoted message's translation is on its way ...
    assert (await sofia.expect("translation", id=question["id"]))["text"] == "Dónde es el café?"
    # ... and the quote, stored without it, shows it from then on (Sofia's client applied that frame)
    carmen = await server.client("Carmen", lang="es", user_id="u_carmen")
    reply = (await carmen.join(ROOM))["messages"][-1]
    assert reply["reply_to"]["tr"] == {"lang": "es", "text": "Dónde es el café?"}
    # the original is edited: the quote shows the new text and its new translation, not the old ones
    await ada.send({"type": "edit", "room": ROOM, "id": question["id"], "text": "Where is the tea?", "ref": "e"})
    await ada.expect("ack", ref="e")
    assert (await sofia.expect("edited", id=question["id"]))["text"] == "Where is the tea?"
    assert (await sofia.expect("translation", id=question["id"]))["text"] == "Dónde es el té?"
    await carmen.send({"type": "history", "room": ROOM, "ref": "h"})
    reply = (await carmen.expect("history", ref="h"))["messages"][-1]
    assert reply["reply_to"]["text"] == "Where is the tea?"
    assert reply["reply_to"]["tr"] == {"lang": "es", "text": "Dónde es el té?"}
    # the original is deleted: no reader keeps a quote of it, whether it is in the page or not
    await ada.send({"type": "delete", "room": ROOM, "id": question["id"], "ref": "d"})
    await ada.expect("ack", ref="d")
    gone = {"id": question["id"], "user": {"id": "u_ada", "name": "Ada"}, "text": "", "deleted": True}
    await carmen.send({"type": "history", "room": ROOM, "ref": "h2"})
    assert (await carmen.expect("history", ref="h2"))["messages"][-1]["reply_to"] == gone
    await carmen.send({"type": "history", "room": ROOM, "limit": 1, "ref": "h3"})  # the quoted one not in the page
    [alone] = (await carmen.expect("history", ref="h3"))["messages"]
    assert alone["id"] == answer["id"] and alone["reply_to"] == gone


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
