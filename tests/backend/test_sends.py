"""The SendStore contract (rooms/stores/sends.py): a plain message's standing, limits, census and
append in one step, on every backend (one script on one Redis, the calls in a row elsewhere)."""

from __future__ import annotations

import msgspec

from rooms.conversations import EVENT_WIDE
from rooms.stores import Outgoing, SendGate, now_ms
from rooms.stores.messages import Author
from tests.backend.support import ADA, BOB, ROOM, Node, member

CAROL = {"id": "u_carol", "name": "Carol"}


def outgoing(
    text: str = "Good morning, everyone",
    *,
    cid: str | None = None,
    sender_lang: str = "en",
    candidates: frozenset[str] = frozenset({"es", "de", "fr"}),
) -> Outgoing:
    return Outgoing(user=Author(**ADA), text=text, lang="en", cid=cid, candidates=candidates, sender_lang=sender_lang)


def gate(rate: float = 5.0, burst: int = 10, slow: int = 0) -> SendGate:
    return SendGate(ADA["id"], rate, burst, slow)


async def test_a_clear_sender_s_message_is_stored_and_published_with_what_the_census_says(node: Node) -> None:
    stores = node.stores
    await node.stores.broker.subscribe(ROOM)
    await stores.presence.add_member(ROOM, member("c1", ADA, "en"))
    await stores.presence.add_member(ROOM, member("c2", BOB, "es"))
    await stores.presence.add_member(ROOM, member("c3", CAROL, "it"))  # no route into Italian
    sent = await stores.sends.send(ROOM, outgoing(), gate())
    assert sent.standing is None and sent.wait is None and sent.appended is not None
    assert sent.appended.created and sent.translating == ["es"]
    message = sent.appended.message
    assert (message.room, message.user, message.lang, message.text) == (
        ROOM,
        Author(**ADA),
        "en",
        "Good morning, everyone",
    )
    [published] = await node.wait_for("message", 1)
    assert published["id"] == message.id and published["ts"] == message.ts
    assert published["translating"] == ["es"] and published["user"] == ADA
    assert [m.id for m in await node.stores.broker.history(ROOM, before=None, limit=10)] == [message.id]


async def test_translating_leaves_out_a_language_only_the_sender_reads_and_an_empty_list_is_left_out(node):
    stores = node.stores
    await node.stores.broker.subscribe(ROOM)
    await stores.presence.add_member(ROOM, member("c1", ADA, "de"))
    await stores.presence.add_member(ROOM, member("c2", BOB, "en"))
    sent = await stores.sends.send(ROOM, outgoing(sender_lang="de"), gate())
    assert sent.translating == []
    [published] = await node.wait_for("message", 1)
    assert "translating" not in published, "as the Broker publishes a message nobody waits a translation for"
    await stores.presence.add_member(ROOM, member("c3", CAROL, "de"))
    assert (await stores.sends.send(ROOM, outgoing("Second line", sender_lang="de"), gate())).translating == ["de"]


async def test_a_standing_that_is_not_clear_stops_the_step_before_anything_is_spent_or_stored(node):
    stores = node.stores
    await stores.moderation.set_mute(ROOM, ADA["id"], now_ms() + 60_000)
    sent = await stores.sends.send(ROOM, outgoing(), gate(burst=1))
    assert sent.appended is None and sent.standing is not None and sent.standing.mute is not None
    await stores.moderation.set_mute(ROOM, ADA["id"], now_ms() - 1)  # expired: forgotten, clear again
    assert (await stores.sends.send(ROOM, outgoing(), gate(burst=1))).appended is not None, "no token was spent"
    await stores.moderation.set_ban(EVENT_WIDE, ADA["id"], True)
    refused = await stores.sends.send(ROOM, outgoing("again"), gate())
    assert refused.standing is not None and refused.standing.banned_event
    await stores.moderation.set_ban(EVENT_WIDE, ADA["id"], False)
    await stores.moderation.set_moderator(ROOM, ADA["id"], True)
    appointed = await stores.sends.send(ROOM, outgoing("again"), gate())
    assert appointed.standing is not None and appointed.standing.appointed
    assert len(await node.stores.broker.history(ROOM, before=None, limit=10)) == 1


async def test_send_limits_refuse_without_storing_and_without_a_gate_only_census_and_append(node):
    stores = node.stores
    await stores.presence.add_member(ROOM, member("c2", BOB, "es"))
    assert (await stores.sends.send(ROOM, outgoing("one"), gate(rate=0.01, burst=1))).appended is not None
    limited = await stores.sends.send(ROOM, outgoing("two"), gate(rate=0.01, burst=1))
    assert limited.appended is None and limited.wait is not None and limited.wait.token > 0
    slow = await stores.sends.send(ROOM, outgoing("three"), SendGate(BOB["id"], 5.0, 10, 60))
    assert slow.appended is not None
    slowed = await stores.sends.send(ROOM, outgoing("four"), SendGate(BOB["id"], 5.0, 10, 60))
    assert slowed.wait is not None and slowed.wait.token == 0 and 0 < slowed.wait.slow <= 60
    await stores.moderation.set_mute(ROOM, ADA["id"], None)
    ungated = await stores.sends.send(ROOM, outgoing("five"), None)  # the core checked already
    assert ungated.appended is not None and ungated.translating == ["es"]
    assert [m.text for m in await node.stores.broker.history(ROOM, before=None, limit=10)] == ["one", "three", "five"]


async def test_a_retried_cid_answers_the_stored_original_and_publishes_nothing(node):
    stores = node.stores
    await node.stores.broker.subscribe(ROOM)
    first = await stores.sends.send(ROOM, outgoing(cid="c-1"), gate())
    again = await stores.sends.send(ROOM, outgoing(cid="c-1"), gate())
    assert first.appended is not None and again.appended is not None
    assert first.appended.created and not again.appended.created
    assert again.appended.message.id == first.appended.message.id
    await node.wait_for("message", 1)
    assert len(node.of_type("message")) == 1
    assert msgspec.json.decode(msgspec.json.encode(again.appended.message.text)) == "Good morning, everyone"


async def test_a_send_trims_history_as_the_broker_does(make_node):
    node = await make_node(history_max=3)
    ids = []
    for i in range(5):
        sent = await node.stores.sends.send(ROOM, outgoing(f"m{i}"), gate())
        assert sent.appended is not None
        ids.append(sent.appended.message.id)
    assert [m.text for m in await node.stores.broker.history(ROOM, before=None, limit=50)] == ["m2", "m3", "m4"]
    assert (await node.stores.broker.since(ROOM, ids[0], limit=50)).recovered is False
    edge = await node.stores.broker.since(ROOM, ids[1], limit=50)
    assert edge.recovered is True and [m.text for m in edge.messages] == ["m2", "m3", "m4"]


async def test_a_send_after_every_message_was_deleted_goes_on_with_the_same_history(node):
    stores = node.stores
    first = await stores.sends.send(ROOM, outgoing("soon deleted"), gate())
    assert first.appended is not None
    assert await stores.broker.delete_message(ROOM, first.appended.message.id) is True
    second = await stores.sends.send(ROOM, outgoing("after it"), gate())
    assert second.appended is not None
    assert second.appended.message.id.split(".")[0] == first.appended.message.id.split(".")[0], "the same epoch"
    history = await stores.broker.history(ROOM, before=None, limit=10)
    assert [(m.deleted, m.text) for m in history] == [(True, ""), (False, "after it")]
    replay = await stores.broker.since(ROOM, first.appended.message.id, limit=10)
    assert replay.recovered is True and [m.text for m in replay.messages] == ["after it"]
