"""The Broker contract for what chat users expect of a message (issue 25): reactions
(`toggle_reaction`), edits (`edit_message`) and replies (`append_message(reply_to=...)`), kept in
history and recovered with `since`, on every backend."""

from __future__ import annotations

import asyncio

from rooms.stores.messages import Author, MeetingStep, Quote, StepSlot
from tests.backend.support import ADA, BOB, ROOM

CAROL = {"id": "u_carol", "name": "Carol"}


async def test_a_reaction_toggles_once_per_person_and_history_counts_them(node):
    sent = await node.say("Good morning")
    broker = node.stores.broker
    ada = await broker.toggle_reaction(ROOM, sent.id, "👍", ADA["id"])
    assert ada is not None and (ada.added, ada.count) == (True, 1)
    bob = await broker.toggle_reaction(ROOM, sent.id, "👍", BOB["id"])
    assert bob is not None and (bob.added, bob.count) == (True, 2)
    heart = await broker.toggle_reaction(ROOM, sent.id, "❤️", BOB["id"])
    assert heart is not None and (heart.added, heart.count) == (True, 1)
    [stored] = await broker.history(ROOM, before=None, limit=5)
    assert stored.reactions == {"👍": 2, "❤️": 1}
    again = await broker.toggle_reaction(ROOM, sent.id, "👍", ADA["id"])  # Ada takes hers back
    assert again is not None and (again.added, again.count) == (False, 1)
    gone = await broker.toggle_reaction(ROOM, sent.id, "❤️", BOB["id"])
    assert gone is not None and (gone.added, gone.count) == (False, 0)
    replay = await broker.since(ROOM, "deadbeef.1", limit=5)  # an unknown id: the latest instead
    assert replay.messages[0].reactions == {"👍": 1}  # an emoji nobody reacts with any more is absent
    found = await broker.message(ROOM, sent.id)
    assert found is not None and found.reactions == {"👍": 1}


async def test_concurrent_reactions_are_all_counted(node):
    sent = await node.say("Vote")
    users = [f"u_{i}" for i in range(20)]
    results = await asyncio.gather(*(node.stores.broker.toggle_reaction(ROOM, sent.id, "👏", user) for user in users))
    assert sorted(r.count for r in results if r is not None) == list(range(1, 21))
    [stored] = await node.stores.broker.history(ROOM, before=None, limit=1)
    assert stored.reactions == {"👏": 20}


async def test_reactions_need_a_live_message_and_go_with_it(node):
    sent = await node.say("Soon gone")
    assert await node.stores.broker.toggle_reaction(ROOM, "deadbeef.1", "👍", ADA["id"]) is None
    await node.stores.broker.toggle_reaction(ROOM, sent.id, "👍", ADA["id"])
    assert await node.stores.broker.delete_message(ROOM, sent.id) is True
    assert await node.stores.broker.toggle_reaction(ROOM, sent.id, "👍", BOB["id"]) is None
    [placeholder] = await node.stores.broker.history(ROOM, before=None, limit=1)
    assert placeholder.deleted and placeholder.reactions == {}


async def test_reactions_of_trimmed_messages_go_with_them(make_node):
    node = await make_node(history_max=2)
    first = await node.say("m0")
    await node.stores.broker.toggle_reaction(ROOM, first.id, "😂", ADA["id"])
    second = await node.say("m1")
    await node.stores.broker.toggle_reaction(ROOM, second.id, "😂", BOB["id"])
    await node.say("m2")  # trims m0
    assert await node.stores.broker.toggle_reaction(ROOM, first.id, "😂", BOB["id"]) is None
    assert [m.reactions for m in await node.stores.broker.history(ROOM, before=None, limit=5)] == [{"😂": 1}, {}]


async def test_an_edit_replaces_the_text_drops_translations_keeps_reactions_and_is_kept(node):
    sent = await node.say("Helo everyone")
    broker = node.stores.broker
    await broker.add_translation(ROOM, sent.id, "de", "Hallo alle", confidence=0.5)
    await broker.toggle_reaction(ROOM, sent.id, "🙏", BOB["id"])
    assert await broker.edit_message(ROOM, sent.id, "Hello everyone", "en", author=BOB["id"]) is None  # not Bob's
    edited = await broker.edit_message(ROOM, sent.id, "Hello everyone", "en", author=ADA["id"])
    assert edited is not None and edited.id == sent.id and edited.edited is True
    assert (edited.text, edited.lang, edited.tr, edited.confidence) == ("Hello everyone", "en", {}, {})
    assert edited.reactions == {"🙏": 1}
    await broker.add_translation(ROOM, sent.id, "de", "Hallo zusammen")
    [stored] = await broker.history(ROOM, before=None, limit=1)
    assert (stored.text, stored.edited, stored.tr, stored.reactions) == (
        "Hello everyone",
        True,
        {"de": "Hallo zusammen"},
        {"🙏": 1},
    )
    # a language correction afterwards keeps the edit and the reactions
    relabelled = await broker.relabel_message(ROOM, sent.id, "fr", author=ADA["id"])
    assert relabelled is not None and (relabelled.text, relabelled.edited, relabelled.reactions) == (
        "Hello everyone",
        True,
        {"🙏": 1},
    )
    [stored] = await broker.history(ROOM, before=None, limit=1)
    assert (stored.text, stored.lang, stored.edited, stored.reactions) == ("Hello everyone", "fr", True, {"🙏": 1})
    await broker.delete_message(ROOM, sent.id)
    assert await broker.edit_message(ROOM, sent.id, "again", "en", author=ADA["id"]) is None


async def test_a_reply_keeps_its_quote_in_history_and_publishes_it_with_its_translations(node):
    await node.stores.broker.subscribe(ROOM)
    original = await node.say("Where is the coffee?")
    quote = Quote(original.id, Author(**ADA), "Where is the coffee?", tr={"es": "¿Dónde está el café?"})
    reply = (
        await node.stores.broker.append_message(ROOM, user=BOB, text="Downstairs", lang="en", cid="r1", reply_to=quote)
    ).message
    assert reply.reply_to == quote
    [_, stored] = await node.stores.broker.history(ROOM, before=None, limit=2)
    assert stored.reply_to == quote
    assert (await node.stores.broker.since(ROOM, original.id, limit=5)).messages[0].reply_to == quote
    retried = await node.stores.broker.append_message(
        ROOM, user=BOB, text="Downstairs", lang="en", cid="r1", reply_to=quote
    )
    assert retried.created is False and retried.message.reply_to == quote
    [_, published] = await node.wait_for("message", 2)  # each node gives each reader its language's (chat/hub.py)
    assert published["reply_to"] == {
        "id": original.id,
        "user": ADA,
        "text": "Where is the coffee?",
        "tr": {"es": "¿Dónde está el café?"},
    }
    assert reply.id not in {event.id for event in node.passed_through}  # not one frame for every reader
    assert "reply_to" not in (await node.wait_for("message", 2))[0]


async def test_mentions_are_kept_in_history_and_published(node):
    await node.stores.broker.subscribe(ROOM)
    sent = (
        await node.stores.broker.append_message(
            ROOM, user=ADA, text="@Bob @Carol look", lang="en", cid=None, mentions=[BOB["id"], CAROL["id"]]
        )
    ).message
    assert sent.mentions == [BOB["id"], CAROL["id"]]
    plain = await node.say("no one")
    assert [m.mentions for m in await node.stores.broker.history(ROOM, before=None, limit=5)] == [
        [BOB["id"], CAROL["id"]],
        [],
    ]
    assert (await node.stores.broker.message(ROOM, sent.id)).mentions == [BOB["id"], CAROL["id"]]
    [published, _] = await node.wait_for("message", 2)
    assert published["mentions"] == [BOB["id"], CAROL["id"]]
    assert "mentions" not in (await node.wait_for("message", 2))[1]
    await node.stores.broker.delete_message(ROOM, sent.id)
    [placeholder, kept] = await node.stores.broker.history(ROOM, before=None, limit=5)
    assert placeholder.mentions == [] and kept.id == plain.id


async def test_reactors_name_who_reacts_with_each_emoji_now(node):
    sent = await node.say("Good morning")
    broker = node.stores.broker
    assert await broker.reactors(ROOM, sent.id) == {}
    for emoji, user in (("👍", CAROL), ("👍", ADA), ("❤️", BOB), ("👍", BOB)):
        await broker.toggle_reaction(ROOM, sent.id, emoji, user["id"])
    assert await broker.reactors(ROOM, sent.id) == {"👍": ["u_ada", "u_bob", "u_carol"], "❤️": ["u_bob"]}
    await broker.toggle_reaction(ROOM, sent.id, "❤️", BOB["id"])  # taken back: the emoji is gone
    assert await broker.reactors(ROOM, sent.id) == {"👍": ["u_ada", "u_bob", "u_carol"]}
    assert await broker.reactors(ROOM, "deadbeef.1") is None  # another epoch
    assert await broker.reactors(ROOM, f"{sent.id.partition('.')[0]}.999") is None  # never stored
    await broker.delete_message(ROOM, sent.id)
    assert await broker.reactors(ROOM, sent.id) is None


async def test_a_meeting_step_is_kept_in_history_recovered_and_published(node):
    """A message recording a meeting step (issue 26) keeps it in history, `since` and the live event;
    a deleted one loses it with its text."""
    await node.stores.broker.subscribe(ROOM)
    step = MeetingStep(
        id="m-1",
        step="proposed",
        slots=[StepSlot("s-1", "2026-12-08T14:00+02:00", "2026-12-08T14:20+02:00")],
        place="p-1",
        place_name="Table 14",
        timezone="Europe/Helsinki",
    )
    before = await node.say("before")
    sent = (
        await node.stores.broker.append_message(ROOM, user=ADA, text="Cranes", lang="en", cid="k1", meeting=step)
    ).message
    booked = (
        await node.stores.broker.append_message(
            ROOM,
            user=BOB,
            text="",
            lang="en",
            cid=None,
            meeting=MeetingStep(id="m-1", step="booked", start="2026-12-08T14:00+02:00", end="2026-12-08T14:20+02:00"),
        )
    ).message
    assert sent.meeting == step
    stored = await node.stores.broker.history(ROOM, before=None, limit=5)
    assert [m.meeting for m in stored] == [None, step, booked.meeting] and stored[2].text == ""
    assert [m.meeting for m in (await node.stores.broker.since(ROOM, before.id, limit=5)).messages] == [
        step,
        booked.meeting,
    ]
    retried = await node.stores.broker.append_message(ROOM, user=ADA, text="Cranes", lang="en", cid="k1", meeting=step)
    assert retried.created is False and retried.message.meeting == step
    [_, published, live_booked] = await node.wait_for("message", 3)
    assert published["meeting"] == {
        "id": "m-1",
        "step": "proposed",
        "slots": [{"id": "s-1", "start": "2026-12-08T14:00+02:00", "end": "2026-12-08T14:20+02:00"}],
        "place": "p-1",
        "place_name": "Table 14",
        "timezone": "Europe/Helsinki",
    }
    assert live_booked["meeting"]["step"] == "booked" and "meeting" not in (await node.wait_for("message", 3))[0]
    await node.stores.broker.delete_message(ROOM, sent.id)
    assert (await node.stores.broker.history(ROOM, before=None, limit=5))[1].meeting is None
