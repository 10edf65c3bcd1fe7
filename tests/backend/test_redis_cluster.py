"""What only a shared backend has, on Redis: two nodes on one Redis, dead nodes, the shared cache,
and Redis going away (a private redis-server each test may kill and restart)."""

from __future__ import annotations

import asyncio
import json
import logging
import shutil
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import redis.asyncio

from chat.backend import BackendUnavailable
from chat.backend.redis import RedisBackend
from chat.backend.redis.presence import RedisPresence
from rooms import Room, RoomState
from tests.backend.conftest import redis_settings
from tests.backend.support import ADA, BOB, ROOM, Node, member, wait_until
from tests.backend.test_conversation_store import a_report
from tests.conftest import REDIS_TEST_DB, REDIS_URL
from tests.nodes import RedisServer

redis_only = pytest.mark.parametrize("backend_kind", [pytest.param("redis", marks=pytest.mark.redis)])


@redis_only
async def test_two_nodes_share_history_order_and_idempotency(make_node):
    a, b = await make_node(), await make_node()
    await a.stores.broker.subscribe(ROOM)
    await b.stores.broker.subscribe(ROOM)

    async def sender(node: Node, user: dict[str, str]) -> None:
        for i in range(25):
            await node.say(f"{user['name']} {i}", user=user)

    await asyncio.gather(sender(a, ADA), sender(b, BOB))
    history = [m.id for m in await a.stores.broker.history(ROOM, before=None, limit=100)]
    assert len(history) == 50
    assert [e["id"] for e in await a.wait_for("message", 50)] == history
    assert [e["id"] for e in await b.wait_for("message", 50)] == history
    # the same retry reaching both nodes at once is stored once
    racing = await asyncio.gather(
        *(node.stores.broker.append_message(ROOM, user=ADA, text="retry", lang="en", cid="r") for node in (a, b, a, b))
    )
    assert len({appended.message.id for appended in racing}) == 1
    assert sum(appended.created for appended in racing) == 1
    # room state written on one node is what the other reads
    await a.stores.rooms.save_room(Room("health", "Health", state=RoomState.READ_ONLY))
    assert await b.stores.rooms.get_room("health") == Room("health", "Health", state=RoomState.READ_ONLY)
    await b.stores.moderation.set_ban(ROOM, "u_x", True)
    assert await a.stores.moderation.is_banned(ROOM, "u_x") is True


@redis_only
async def test_presence_spans_nodes_and_a_dead_node_drops_out(make_node):
    a, b = await make_node(presence_ttl=1), await make_node(presence_ttl=1)
    await a.stores.broker.subscribe(ROOM)
    assert await a.stores.presence.add_member(ROOM, member("a1")) is True
    assert await b.stores.presence.add_member(ROOM, member("b1")) is False  # Ada is already here, on node a
    assert await b.stores.presence.add_member(ROOM, member("b2", BOB)) is True
    assert sorted(m.conn for m in await a.stores.presence.members(ROOM)) == ["a1", "b1", "b2"]
    # node b dies without a word: its heartbeat stops and expires
    b_presence = b.stores.presence
    assert isinstance(b_presence, RedisPresence)
    await b_presence.stop()  # simulating a crash: the heartbeat stops
    deadline = time.monotonic() + 5
    while sorted(m.conn for m in await a.stores.presence.members(ROOM)) != ["a1"]:
        assert time.monotonic() < deadline, "node b's members were still listed 5 s after it died"
        await asyncio.sleep(0.1)
    # node a notices Bob is gone for good and says so, once; Ada is still there through a1
    [leave] = await a.wait_for("presence", 1)
    assert leave["event"] == "leave" and leave["user"]["id"] == BOB["id"]
    await asyncio.sleep(0.8)
    assert len(a.of_type("presence")) == 1


@redis_only
async def test_the_shared_cache_is_shared(make_node):
    a, b = await make_node(), await make_node()
    cache_a, cache_b = a.backend.shared_cache(), b.backend.shared_cache()
    assert cache_a is not None and cache_b is not None
    await cache_a.set_many({"tr:en:de:x": "hallo", "tr:en:fr:x": "bonjour"})
    assert await cache_b.get_many(["tr:en:de:x", "missing", "tr:en:fr:x"]) == ["hallo", None, "bonjour"]
    assert await cache_b.get_many([]) == []


# redis only: Redis goes away ----------------------------------------------------------------
@pytest.fixture
async def private_redis(tmp_path: Path) -> AsyncIterator[RedisServer]:
    """A redis-server of this test's own, so it can be killed and started again."""
    server = RedisServer(tmp_path / "redis")
    server.start()
    yield server
    server.stop()


@pytest.mark.redis
async def test_redis_outage_unavailable_then_reconnect_resubscribe_and_replay(private_redis, caplog, redis_prefix):
    caplog.set_level(logging.INFO, logger="babelroom.backend.redis")
    settings = redis_settings(redis_prefix, url=private_redis.url, presence_ttl=3)
    nodes = [Node(RedisBackend(settings, "a")), Node(RedisBackend(settings, "b"))]
    for node in nodes:
        await node.backend.start(node.on_event)
    a, b = nodes
    try:
        for node, conn in ((a, "a1"), (b, "b1")):
            await node.stores.broker.subscribe(ROOM)
            await node.stores.presence.add_member(ROOM, member(conn, ADA if conn == "a1" else BOB))
        cy = member("b2", {"id": "u_cy", "name": "Cy"})
        await b.stores.presence.add_member(ROOM, cy)
        first = await a.say("before")
        await b.wait_for("message", 1)

        private_redis.kill()
        for _ in range(3):  # several failures, one log line
            with pytest.raises(BackendUnavailable):
                await a.say("during")
        with pytest.raises(BackendUnavailable):
            await b.stores.presence.members(ROOM)
        with pytest.raises(BackendUnavailable):  # Cy closes her socket while Redis is away
            await b.stores.presence.remove_member(ROOM, cy)
        await wait_until(lambda: not a.backend.healthy() and not b.backend.healthy())

        private_redis.start()  # same port, same data (appendonly)
        await wait_until(lambda: a.backend.healthy() and b.backend.healthy(), timeout=15)
        # b comes back, hears a message a sends before b has resubscribed... or after; either way once
        after = [await a.say(f"after {i}") for i in range(3)]
        expected = [first.id] + [m.id for m in after]
        for node in nodes:
            delivered = await node.wait_for("message", 4)
            assert [event["id"] for event in delivered] == expected
        # Cy's record went when Redis came back, and her leave was announced once, by b. (Node a
        # hears it only when it had resubscribed by then: pub/sub is at most once, and presence
        # events are not replayed; a's `members` is right either way.)
        assert sorted(m.conn for m in await a.stores.presence.members(ROOM)) == ["a1", "b1"]
        [leave] = await b.wait_for("presence", 1)
        assert leave["event"] == "leave" and leave["user"]["id"] == "u_cy"
        await asyncio.sleep(0.2)
        assert all(len(node.of_type("message")) == 4 for node in nodes)
        assert len(b.of_type("presence")) == 1 and len(a.of_type("presence")) <= 1
    finally:
        for node in nodes:
            await node.backend.close()
    lost = [r for r in caplog.records if r.getMessage().startswith("lost Redis")]
    back = [r for r in caplog.records if r.getMessage().startswith("Redis is back")]
    assert len(lost) == 2 and len(back) == 2, [r.getMessage() for r in caplog.records]  # once per node


@pytest.mark.redis
async def test_messages_missed_during_a_disconnect_are_replayed_once(private_redis, redis_prefix):
    """Node b loses only its own pub/sub connection while node a goes on sending: b catches up."""
    settings = redis_settings(redis_prefix, url=private_redis.url)
    a, b = Node(RedisBackend(settings, "a")), Node(RedisBackend(settings, "b"))
    for node in (a, b):
        await node.backend.start(node.on_event)
        await node.stores.broker.subscribe(ROOM)
    try:
        await a.say("m0")
        await b.wait_for("message", 1)
        client = redis.asyncio.Redis.from_url(private_redis.url)
        await client.client_kill_filter(_type="pubsub", skipme=True)  # every node's pub/sub connection
        sent = [await a.say(f"m{i}") for i in range(1, 30)]
        await client.aclose()
        delivered = await b.wait_for("message", 30, timeout=10)
        history = await b.stores.broker.history(ROOM, before=None, limit=100)
        assert [event["id"] for event in delivered] == [m.id for m in history]
        assert sent[-1].id == history[-1].id
        await asyncio.sleep(0.3)
        assert len(b.of_type("message")) == 30 and len(a.of_type("message")) == 30
    finally:
        for node in (a, b):
            await node.backend.close()


@pytest.mark.redis
async def test_redis_that_lost_its_data_gets_rooms_presence_and_a_new_epoch(private_redis, redis_prefix):
    """Redis restarts empty (no persistence): the nodes put back what they know, old ids are not recovered."""
    settings = redis_settings(redis_prefix, url=private_redis.url, presence_ttl=2)
    a, b = Node(RedisBackend(settings, "a")), Node(RedisBackend(settings, "b"))
    configured = (Room(ROOM, "Plenary"),)
    for node, conn in ((a, "a1"), (b, "b1")):
        await node.backend.start(node.on_event)
        await node.stores.rooms.seed_rooms(configured)
        await node.stores.broker.subscribe(ROOM)
        await node.stores.presence.add_member(ROOM, member(conn, ADA if conn == "a1" else BOB))
    try:
        old = await a.say("before the loss")
        await b.wait_for("message", 1)
        private_redis.kill()
        await wait_until(lambda: not a.backend.healthy() and not b.backend.healthy())
        shutil.rmtree(private_redis.directory)
        private_redis.start()
        await wait_until(lambda: a.backend.healthy() and b.backend.healthy(), timeout=15)
        assert [room.id for room in await b.stores.rooms.list_rooms()] == [ROOM]
        assert sorted(m.conn for m in await b.stores.presence.members(ROOM)) == ["a1", "b1"]
        new = await b.say("after the loss")
        assert new.id.split(".")[0] != old.id.split(".")[0]
        replay = await a.stores.broker.since(ROOM, old.id, limit=10)
        assert replay.recovered is False and [m.text for m in replay.messages] == ["after the loss"]
        for node in (a, b):
            assert [e["text"] for e in await node.wait_for("message", 2)] == ["before the loss", "after the loss"]
    finally:
        for node in (a, b):
            await node.backend.close()


@pytest.mark.redis
@pytest.mark.parametrize(
    "persistent, extra, warned",
    [
        (False, (), 1),  # nothing kept: say so, once
        (True, (), 0),  # append-only file: nothing to say
        (False, ("--rename-command", "CONFIG", ""), 0),  # CONFIG disabled (managed Redis): start anyway
    ],
)
async def test_a_redis_that_keeps_nothing_is_warned_about_at_start(
    tmp_path, caplog, redis_prefix, persistent, extra, warned
):
    caplog.set_level(logging.WARNING, logger="babelroom.backend.redis")
    server = RedisServer(tmp_path / "redis", persistent=persistent, extra=extra)
    server.start()
    node = Node(RedisBackend(redis_settings(redis_prefix, url=server.url), "a"))
    try:
        await node.backend.start(node.on_event)
        await node.say("still works")
    finally:
        await node.backend.close()
        server.stop()
    warnings = [r.getMessage() for r in caplog.records if "keeps no persistence" in r.getMessage()]
    assert len(warnings) == warned, warnings
    if warned:
        assert "lost if Redis restarts" in warnings[0] and f"127.0.0.1:{server.port}" in warnings[0]


@redis_only
async def test_reports_an_earlier_version_kept_are_adopted_once_with_a_state(make_node, redis_prefix):
    """Before issue 20 reports were a capped list `reports` (repeats included); a node starting on
    such a Redis moves them to the new keys, once per reporter and message, and drops the list."""
    client = redis.asyncio.Redis.from_url(f"{REDIS_URL}/{REDIS_TEST_DB}")
    try:
        for n, reporter in enumerate(("u_bo", "u_bo", "u_li")):
            old = a_report(n, reporter=reporter, message="0a1b2c3d.1")
            await client.rpush(f"{redis_prefix}reports", json.dumps(old))
        await client.rpush(f"{redis_prefix}reports", "not a report")
        a = await make_node()
        b = await make_node()  # finds nothing more to adopt
        reports = await b.stores.conversations.reports()
        assert [(r["id"], r["state"]) for r in reports] == [("rp-0", "open"), ("rp-2", "open")]
        assert await client.exists(f"{redis_prefix}reports") == 0
        assert await a.stores.conversations.open_report_count() == 2
    finally:
        await client.aclose()
