"""The Broker contract (rooms/stores/broker.py): ordered history, positions and epochs, `since`,
idempotent append, translations, deletes and pub/sub, on every backend."""

from __future__ import annotations

import asyncio
import time

import pytest

from chat.frames import encode_bytes, live_message
from rooms.stores.events import Deleted, NewMessage, PresenceChanged, RoomChanged, Translation
from rooms.stores.messages import Author
from tests.backend.support import ADA, BOB, ROOM


async def test_append_assigns_ordered_ids_and_history_returns_oldest_first(node):
    sent = [await node.say(f"m{i}") for i in range(5)]
    assert len({m.id for m in sent}) == 5
    history = await node.stores.broker.history(ROOM, before=None, limit=50)
    assert [m.id for m in history] == [m.id for m in sent]
    first = history[0]
    assert first.room == ROOM and first.user == Author(**ADA) and first.lang == "en" and first.text == "m0"
    assert isinstance(first.ts, int) and abs(first.ts - time.time() * 1000) < 60_000
    assert first.tr == {}


async def test_history_pages_backwards(node):
    ids = [(await node.say(f"m{i}")).id for i in range(6)]
    assert [m.id for m in await node.stores.broker.history(ROOM, before=None, limit=2)] == ids[4:]
    assert [m.id for m in await node.stores.broker.history(ROOM, before=ids[4], limit=2)] == ids[2:4]
    assert [m.id for m in await node.stores.broker.history(ROOM, before=ids[1], limit=5)] == ids[:1]
    assert await node.stores.broker.history(ROOM, before=None, limit=0) == []
    assert await node.stores.broker.history(ROOM, before="nonsense", limit=5) == []
    assert await node.stores.broker.history("empty-room", before=None, limit=5) == []


async def test_since_replays_exactly_what_came_after(node):
    ids = [(await node.say(f"m{i}")).id for i in range(4)]
    replay = await node.stores.broker.since(ROOM, ids[1], limit=50)
    assert replay.recovered is True
    assert [m.id for m in replay.messages] == ids[2:]
    newest = await node.stores.broker.since(ROOM, ids[-1], limit=50)
    assert newest.recovered is True and newest.messages == []


async def test_since_with_most_reads_the_oldest_that_many_placeholders_included(node):
    ids = [(await node.say(f"m{i}")).id for i in range(8)]
    await node.stores.broker.delete_message(ROOM, ids[2])
    await node.stores.broker.delete_message(ROOM, ids[6])
    pages = [await node.stores.broker.since(ROOM, ids[0], limit=50, most=most) for most in (0, 1, 2, 3, 6, 7, 50)]
    assert all(page.recovered for page in pages)
    assert [[m.id for m in page.messages] for page in pages] == [
        [],
        ids[1:2],
        ids[1:3],
        ids[1:4],
        ids[1:7],
        ids[1:8],
        ids[1:8],
    ]
    assert [m.deleted for m in pages[4].messages] == [False, True, False, False, False, True]
    # past the kept history `most` changes nothing: the latest `limit`, not recovered
    lost = await node.stores.broker.since(ROOM, "deadbeef.1", limit=2, most=1)
    assert lost.recovered is False and [m.id for m in lost.messages] == ids[6:]


async def test_since_an_unknown_id_is_not_recovered_and_gives_the_latest(node):
    ids = [(await node.say(f"m{i}")).id for i in range(4)]
    for since in ("deadbeef.7", "garbage", "deadbeef.1-0"):
        replay = await node.stores.broker.since(ROOM, since, limit=2)
        assert replay.recovered is False
        assert [m.id for m in replay.messages] == ids[2:]


async def test_since_beyond_the_newest_message_is_not_recovered(node):
    newest = (await node.say("only")).id
    epoch, position = newest.split(".")
    future = (
        f"{epoch}.{int(position) + 5}" if position.isdigit() else f"{epoch}.{int(position.split('-')[0]) + 60_000}-0"
    )
    replay = await node.stores.broker.since(ROOM, future, limit=5)
    assert replay.recovered is False and [m.id for m in replay.messages] == [newest]


async def test_since_older_than_the_kept_history_is_not_recovered(make_node):
    node = await make_node(history_max=3)
    ids = [(await node.say(f"m{i}")).id for i in range(5)]
    assert [m.text for m in await node.stores.broker.history(ROOM, before=None, limit=50)] == ["m2", "m3", "m4"]
    trimmed = await node.stores.broker.since(ROOM, ids[0], limit=50)
    assert trimmed.recovered is False and [m.text for m in trimmed.messages] == ["m2", "m3", "m4"]
    # the newest trimmed message is still a good `since`: everything after it is kept
    edge = await node.stores.broker.since(ROOM, ids[1], limit=50)
    assert edge.recovered is True and [m.text for m in edge.messages] == ["m2", "m3", "m4"]


async def test_since_from_a_lost_history_is_not_recovered(node, lose_history):
    before = (await node.say("before the loss")).id
    node = await lose_history(node)
    after = await node.say("after the loss")
    assert after.id.split(".")[0] != before.split(".")[0], "a lost history starts a new epoch"
    replay = await node.stores.broker.since(ROOM, before, limit=50)
    assert replay.recovered is False
    assert [m.text for m in replay.messages] == ["after the loss"]


async def test_a_retried_cid_is_stored_once_and_answers_the_original(node):
    first = await node.stores.broker.append_message(ROOM, user=ADA, text="once", lang="en", cid="c1")
    retry = await node.stores.broker.append_message(ROOM, user=ADA, text="once", lang="en", cid="c1")
    assert first.created is True and retry.created is False
    assert retry.message.id == first.message.id and retry.message.text == "once"
    assert [m.text for m in await node.stores.broker.history(ROOM, before=None, limit=50)] == ["once"]


async def test_cids_are_per_user_and_per_room(node):
    ada = await node.say("a", user=ADA, cid="same")
    bob = await node.say("b", user=BOB, cid="same")
    elsewhere = await node.say("c", user=ADA, cid="same", room="climate")
    assert len({ada.id, bob.id, elsewhere.id}) == 3
    no_cid = [await node.say("x") for _ in range(2)]
    assert no_cid[0].id != no_cid[1].id


async def test_the_idempotency_window_expires(make_node):
    node = await make_node(idempotency_ttl=1)
    first = await node.say("once", cid="c1")
    await asyncio.sleep(1.2)
    assert (await node.say("again", cid="c1")).id != first.id


async def test_translations_are_stored_with_the_message_and_published(node):
    await node.stores.broker.subscribe(ROOM)
    message = await node.say("good morning")
    await node.stores.broker.add_translation(ROOM, message.id, "de", "guten Morgen")
    await node.stores.broker.add_translation(ROOM, message.id, "fr", "bonjour")
    [stored] = await node.stores.broker.history(ROOM, before=None, limit=5)
    assert stored.tr == {"de": "guten Morgen", "fr": "bonjour"}
    assert stored.text == "good morning"
    events = await node.wait_for("translation", 2)
    assert events[0] == {"type": "translation", "room": ROOM, "id": message.id, "lang": "de", "text": "guten Morgen"}
    replay = await node.stores.broker.since(ROOM, "deadbeef.1", limit=5)
    assert replay.messages[0].tr["fr"] == "bonjour"


async def test_a_translation_is_stored_and_published_once_however_often_it_is_added(node):
    """A translation job retried after its worker died (or two nodes racing) adds nothing more."""
    await node.stores.broker.subscribe(ROOM)
    message = await node.say("good morning")
    await node.stores.broker.add_translation(ROOM, message.id, "de", "guten Morgen")
    await node.stores.broker.add_translation(ROOM, message.id, "de", "Guten Morgen!")  # the retry
    await node.stores.broker.add_translation(ROOM, message.id, "fr", "bonjour")
    [stored] = await node.stores.broker.history(ROOM, before=None, limit=5)
    assert stored.tr == {"de": "guten Morgen", "fr": "bonjour"}
    events = await node.wait_for("translation", 2)
    assert [(e["lang"], e["text"]) for e in events] == [("de", "guten Morgen"), ("fr", "bonjour")]
    await asyncio.sleep(0.2)
    assert len(node.of_type("translation")) == 2


async def test_a_translations_confidence_is_kept_with_it_and_published(node):
    await node.stores.broker.subscribe(ROOM)
    message = await node.say("good morning")
    await node.stores.broker.add_translation(ROOM, message.id, "de", "guten Morgen", confidence=0.25)
    await node.stores.broker.add_translation(ROOM, message.id, "fr", "bonjour")  # an engine that gives none
    events = await node.wait_for("translation", 2)
    assert events[0]["confidence"] == 0.25 and "confidence" not in events[1]
    [stored] = await node.stores.broker.history(ROOM, before=None, limit=5)
    assert stored.tr == {"de": "guten Morgen", "fr": "bonjour"} and stored.confidence == {"de": 0.25}
    await node.stores.broker.add_translation(
        ROOM, message.id, "de", "Guten Morgen!", confidence=0.875
    )  # a retry: no-op
    replay = await node.stores.broker.since(ROOM, "deadbeef.1", limit=5)
    assert replay.messages[0].tr["de"] == "guten Morgen" and replay.messages[0].confidence == {"de": 0.25}
    relabelled = await node.stores.broker.relabel_message(ROOM, message.id, "es", author=ADA["id"])
    assert relabelled is not None and relabelled.confidence == {}
    assert (await node.stores.broker.history(ROOM, before=None, limit=5))[0].confidence == {}
    await node.stores.broker.add_translation(ROOM, message.id, "en", "good morning", confidence=1.0)
    assert await node.stores.broker.delete_message(ROOM, message.id) is True
    gone = (await node.stores.broker.history(ROOM, before=None, limit=5))[0]
    assert gone.tr == {} and gone.confidence == {}


async def test_what_a_backend_passes_through_is_byte_for_byte_the_frame_readers_get(node):
    # the hub hands an Encoded payload to readers as is (chat/hub.py), so it must be the very frame
    await node.stores.broker.subscribe(ROOM)
    stored = (
        await node.stores.broker.append_message(
            ROOM, user=ADA, text="Grüße, 世界", lang="de", cid="c1", translating=["en", "zh"]
        )
    ).message
    await node.stores.broker.add_translation(ROOM, stored.id, "en", "Greetings, world")
    await node.wait_for("translation", 1)
    if not node.passed_through:
        pytest.skip("this backend hands over typed events, which the hub encodes itself")
    message, translation = node.passed_through
    frame = live_message(
        NewMessage(
            room=ROOM,
            id=stored.id,
            ts=stored.ts,
            user=stored.user,
            lang="de",
            text="Grüße, 世界",
            translating=["en", "zh"],
        )
    )
    assert (message.type, message.id, message.author, message.payload) == (
        "message",
        stored.id,
        "u_ada",
        encode_bytes(frame),
    )
    assert (translation.type, translation.lang, translation.payload) == (
        "translation",
        "en",
        encode_bytes(Translation(room=ROOM, id=stored.id, lang="en", text="Greetings, world")),
    )


async def test_translating_an_unknown_message_does_nothing(node):
    await node.stores.broker.subscribe(ROOM)
    await node.say("hello")
    await node.stores.broker.add_translation(ROOM, "deadbeef.1", "de", "hallo")
    await node.wait_for("message", 1)
    await asyncio.sleep(0.1)
    assert node.of_type("translation") == []


async def test_delete_blanks_text_and_translations_and_keeps_the_place(node):
    ids = [(await node.say(f"m{i}")).id for i in range(3)]
    await node.stores.broker.add_translation(ROOM, ids[1], "de", "geheim")
    assert await node.stores.broker.delete_message(ROOM, ids[1]) is True
    assert await node.stores.broker.delete_message(ROOM, ids[1]) is False
    assert await node.stores.broker.delete_message(ROOM, "deadbeef.1") is False
    history = await node.stores.broker.history(ROOM, before=None, limit=50)
    assert [m.id for m in history] == ids
    gone = history[1]
    assert gone.deleted is True and gone.text == "" and gone.tr == {} and gone.user == Author(**ADA)
    assert [m.id for m in await node.stores.broker.history(ROOM, before=None, limit=2)] == ids[1:]
    assert [m.id for m in (await node.stores.broker.since(ROOM, ids[0], limit=50)).messages] == ids[1:]
    await node.stores.broker.add_translation(ROOM, ids[1], "fr", "secret")
    assert (await node.stores.broker.history(ROOM, before=None, limit=50))[1].tr == {}


async def test_message_reads_one_live_message_with_its_author_and_translations(node):
    first, second = await node.say("hello"), await node.say("hi", user=BOB)
    await node.stores.broker.add_translation(ROOM, first.id, "de", "hallo")
    found = await node.stores.broker.message(ROOM, first.id)
    assert found is not None and found.id == first.id and found.user == Author(**ADA) and found.text == "hello"
    assert found.tr == {"de": "hallo"} and found.lang == "en" and not found.deleted
    found = await node.stores.broker.message(ROOM, second.id)
    assert found is not None and found.user == Author(**BOB) and found.tr == {}
    await node.stores.broker.delete_message(ROOM, first.id)
    assert await node.stores.broker.message(ROOM, first.id) is None  # deleted: nothing to act on
    assert await node.stores.broker.message(ROOM, "deadbeef.1") is None  # another epoch
    assert await node.stores.broker.message(ROOM, f"{first.id.partition('.')[0]}.999") is None  # never stored
    assert await node.stores.broker.message("climate", second.id) is None  # another room


async def test_a_retry_of_a_deleted_message_answers_the_placeholder(node):
    first = await node.say("oops", cid="c1")
    await node.stores.broker.delete_message(ROOM, first.id)
    retry = await node.stores.broker.append_message(ROOM, user=ADA, text="oops", lang="en", cid="c1")
    assert retry.created is False and retry.message.id == first.id and retry.message.deleted is True


async def test_subscribers_see_messages_in_history_order_with_concurrent_senders(node):
    await node.stores.broker.subscribe(ROOM)

    async def sender(user: dict[str, str]) -> None:
        for i in range(20):
            await node.say(f"{user['name']} {i}", user=user)

    await asyncio.gather(sender(ADA), sender(BOB))
    delivered = await node.wait_for("message", 40)
    history = await node.stores.broker.history(ROOM, before=None, limit=50)
    assert [event["id"] for event in delivered] == [m.id for m in history]
    assert all(room == ROOM for room, event in node.events if event["type"] == "message")
    assert delivered[0].keys() >= {"type", "room", "id", "ts", "user", "lang", "text"}


async def test_only_subscribed_rooms_are_delivered_and_broadcast_reaches_the_node(node, backend_kind):
    await node.stores.broker.subscribe(ROOM)
    await node.say("not for us", room="climate")
    await node.stores.broker.publish(
        "climate", PresenceChanged(room="climate", event="join", user={"id": "u", "name": "U", "lang": "en"})
    )
    await node.stores.broker.broadcast(RoomChanged(event="opened", room={"id": "new"}))
    await node.stores.broker.publish(ROOM, Deleted(room=ROOM, id="x", by={"id": "u_mod", "name": "Mo"}))
    await node.wait_for("deleted", 1)
    await node.wait_for("room", 1)
    if backend_kind == "redis-cluster":  # the node-wide channel and a room's shard channel are two connections
        assert sorted([room or "" for room, _ in node.events]) == ["", ROOM]
    else:
        assert [room for room, _ in node.events] == [None, ROOM]
    await node.stores.broker.unsubscribe(ROOM)
    await node.say("after unsubscribing")
    await asyncio.sleep(0.1)
    assert node.of_type("message") == []


async def test_relabel_corrects_the_language_drops_translations_and_is_kept(node):
    sent = await node.say("Hola a todos")
    await node.stores.broker.add_translation(ROOM, sent.id, "de", "Hallo zusammen")
    assert await node.stores.broker.relabel_message(ROOM, sent.id, "es", author=BOB["id"]) is None  # not Bob's
    relabelled = await node.stores.broker.relabel_message(ROOM, sent.id, "es", author=ADA["id"])
    assert relabelled is not None and relabelled.lang == "es" and relabelled.tr == {}
    assert relabelled.text == "Hola a todos" and relabelled.id == sent.id
    await node.stores.broker.add_translation(ROOM, sent.id, "en", "Hello everyone")
    [stored] = await node.stores.broker.history(ROOM, before=None, limit=1)
    assert stored.lang == "es" and stored.tr == {"en": "Hello everyone"}
    await node.stores.broker.delete_message(ROOM, sent.id)
    assert await node.stores.broker.relabel_message(ROOM, sent.id, "fr", author=ADA["id"]) is None
