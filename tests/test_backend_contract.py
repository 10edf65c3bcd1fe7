"""The backend contract, straight on the interface: memory and redis must behave the same.

Every test in the first part runs once per backend (the `backend_kind` fixture). Redis uses a
key prefix of the test's own in the test database, deleted afterwards. The last part covers
what only a shared backend has: two nodes on one Redis, dead nodes, and Redis going away.
"""
from __future__ import annotations

import asyncio
import logging
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, AsyncIterator, Awaitable, Callable

import pytest
import redis.asyncio

from chat.backend import Backend, BackendUnavailable, Member, MemoryBackend, Mute
from chat.backend.redis import RedisBackend
from chat.config import BackendSettings
from rooms import Room, RoomState
from tests.conftest import REDIS_TEST_DB, REDIS_URL
from tests.nodes import RedisServer

ROOM = "plenary"
ADA = {"id": "u_ada", "name": "Ada"}
BOB = {"id": "u_bob", "name": "Bob"}


@dataclass
class Node:
    """A started backend and the events it delivered, in order."""

    backend: Backend
    events: list[tuple[str | None, dict[str, Any]]] = field(default_factory=list)

    def on_event(self, room: str | None, event: dict[str, Any]) -> None:
        self.events.append((room, event))

    def of_type(self, kind: str) -> list[dict[str, Any]]:
        return [event for _, event in self.events if event.get("type") == kind]

    async def wait_for(self, kind: str, count: int, timeout: float = 5.0) -> list[dict[str, Any]]:
        """The first `count` events of a type, waiting for pub/sub to deliver them."""
        deadline = time.monotonic() + timeout
        while len(self.of_type(kind)) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"{len(self.of_type(kind))} {kind} events of {count} after {timeout}s")
            await asyncio.sleep(0.01)
        return self.of_type(kind)[:count]

    async def say(self, text: str, user: dict[str, str] = ADA, cid: str | None = None,
                  room: str = ROOM) -> dict[str, Any]:
        return (await self.backend.append_message(room, user=user, text=text, lang="en", cid=cid)).message


NodeFactory = Callable[..., Awaitable[Node]]


def redis_settings(prefix: str, url: str = f"{REDIS_URL}/{REDIS_TEST_DB}", **changes: Any) -> BackendSettings:
    return BackendSettings(kind="redis", redis_url=url, key_prefix=prefix, **changes)


@pytest.fixture
async def make_node(backend_kind: str, redis_prefix: str) -> AsyncIterator[NodeFactory]:
    """Start backends of this test's kind; on redis, nodes of one test share the prefix."""
    started: list[Node] = []

    async def make(**settings: Any) -> Node:
        node_id = f"node-{len(started) + 1}"
        if backend_kind == "redis":
            backend: Backend = RedisBackend(redis_settings(redis_prefix, **settings), node_id)
        else:
            backend = MemoryBackend(node_id=node_id, history_max=settings.get("history_max", 1000),
                                    idempotency_ttl=settings.get("idempotency_ttl", 86400))
        node = Node(backend)
        await backend.start(node.on_event)
        started.append(node)
        return node

    yield make
    for node in started:
        await node.backend.close()


@pytest.fixture
async def node(make_node: NodeFactory) -> Node:
    return await make_node()


@pytest.fixture
def lose_history(backend_kind: str, make_node: NodeFactory, redis_prefix: str) -> Callable[[Node], Awaitable[Node]]:
    """Lose a room's history the way each backend can: a memory node restarts; Redis loses the keys."""

    async def lose(node: Node) -> Node:
        if backend_kind == "memory":
            return await make_node()
        client = redis.asyncio.Redis.from_url(f"{REDIS_URL}/{REDIS_TEST_DB}")
        keys = [key async for key in client.scan_iter(match=f"{redis_prefix}room:{ROOM}:*")]
        await client.delete(*keys)
        await client.aclose()
        return node

    return lose


# messages and history ------------------------------------------------------------------
async def test_append_assigns_ordered_ids_and_history_returns_oldest_first(node):
    sent = [await node.say(f"m{i}") for i in range(5)]
    assert len({m["id"] for m in sent}) == 5
    history = await node.backend.history(ROOM, before=None, limit=50)
    assert [m["id"] for m in history] == [m["id"] for m in sent]
    first = history[0]
    assert first["room"] == ROOM and first["user"] == ADA and first["lang"] == "en" and first["text"] == "m0"
    assert isinstance(first["ts"], int) and abs(first["ts"] - time.time() * 1000) < 60_000
    assert first["tr"] == {}


async def test_history_pages_backwards(node):
    ids = [(await node.say(f"m{i}"))["id"] for i in range(6)]
    assert [m["id"] for m in await node.backend.history(ROOM, before=None, limit=2)] == ids[4:]
    assert [m["id"] for m in await node.backend.history(ROOM, before=ids[4], limit=2)] == ids[2:4]
    assert [m["id"] for m in await node.backend.history(ROOM, before=ids[1], limit=5)] == ids[:1]
    assert await node.backend.history(ROOM, before=None, limit=0) == []
    assert await node.backend.history(ROOM, before="nonsense", limit=5) == []
    assert await node.backend.history("empty-room", before=None, limit=5) == []


async def test_since_replays_exactly_what_came_after(node):
    ids = [(await node.say(f"m{i}"))["id"] for i in range(4)]
    replay = await node.backend.since(ROOM, ids[1], limit=50)
    assert replay.recovered is True
    assert [m["id"] for m in replay.messages] == ids[2:]
    newest = await node.backend.since(ROOM, ids[-1], limit=50)
    assert newest.recovered is True and newest.messages == []


async def test_since_an_unknown_id_is_not_recovered_and_gives_the_latest(node):
    ids = [(await node.say(f"m{i}"))["id"] for i in range(4)]
    for since in ("deadbeef.7", "garbage", "deadbeef.1-0"):
        replay = await node.backend.since(ROOM, since, limit=2)
        assert replay.recovered is False
        assert [m["id"] for m in replay.messages] == ids[2:]


async def test_since_beyond_the_newest_message_is_not_recovered(node):
    newest = (await node.say("only"))["id"]
    epoch, position = newest.split(".")
    future = f"{epoch}.{int(position) + 5}" if position.isdigit() else \
        f"{epoch}.{int(position.split('-')[0]) + 60_000}-0"
    replay = await node.backend.since(ROOM, future, limit=5)
    assert replay.recovered is False and [m["id"] for m in replay.messages] == [newest]


async def test_since_older_than_the_kept_history_is_not_recovered(make_node):
    node = await make_node(history_max=3)
    ids = [(await node.say(f"m{i}"))["id"] for i in range(5)]
    assert [m["text"] for m in await node.backend.history(ROOM, before=None, limit=50)] == ["m2", "m3", "m4"]
    trimmed = await node.backend.since(ROOM, ids[0], limit=50)
    assert trimmed.recovered is False and [m["text"] for m in trimmed.messages] == ["m2", "m3", "m4"]
    # the newest trimmed message is still a good `since`: everything after it is kept
    edge = await node.backend.since(ROOM, ids[1], limit=50)
    assert edge.recovered is True and [m["text"] for m in edge.messages] == ["m2", "m3", "m4"]


async def test_since_from_a_lost_history_is_not_recovered(node, lose_history):
    before = (await node.say("before the loss"))["id"]
    node = await lose_history(node)
    after = await node.say("after the loss")
    assert after["id"].split(".")[0] != before.split(".")[0], "a lost history starts a new epoch"
    replay = await node.backend.since(ROOM, before, limit=50)
    assert replay.recovered is False
    assert [m["text"] for m in replay.messages] == ["after the loss"]


# idempotency ---------------------------------------------------------------------------
async def test_a_retried_cid_is_stored_once_and_answers_the_original(node):
    first = await node.backend.append_message(ROOM, user=ADA, text="once", lang="en", cid="c1")
    retry = await node.backend.append_message(ROOM, user=ADA, text="once", lang="en", cid="c1")
    assert first.created is True and retry.created is False
    assert retry.message["id"] == first.message["id"] and retry.message["text"] == "once"
    assert [m["text"] for m in await node.backend.history(ROOM, before=None, limit=50)] == ["once"]


async def test_cids_are_per_user_and_per_room(node):
    ada = await node.say("a", user=ADA, cid="same")
    bob = await node.say("b", user=BOB, cid="same")
    elsewhere = await node.say("c", user=ADA, cid="same", room="climate")
    assert len({ada["id"], bob["id"], elsewhere["id"]}) == 3
    no_cid = [await node.say("x") for _ in range(2)]
    assert no_cid[0]["id"] != no_cid[1]["id"]


async def test_the_idempotency_window_expires(make_node):
    node = await make_node(idempotency_ttl=1)
    first = await node.say("once", cid="c1")
    await asyncio.sleep(1.2)
    assert (await node.say("again", cid="c1"))["id"] != first["id"]


# presence ------------------------------------------------------------------------------
def member(conn: str, user: dict[str, str] = ADA, lang: str = "en") -> Member:
    return Member(conn, user["id"], user["name"], lang, "delegate")


async def test_presence_counts_users_not_connections(node):
    backend = node.backend
    assert await backend.add_member(ROOM, member("c1")) is True
    assert await backend.add_member(ROOM, member("c2")) is False  # Ada's second tab
    assert await backend.add_member(ROOM, member("c3", BOB)) is True
    assert sorted(m.conn for m in await backend.members(ROOM)) == ["c1", "c2", "c3"]
    assert await backend.remove_member(ROOM, member("c1")) is False  # c2 is still there
    assert await backend.remove_member(ROOM, member("c2")) is True
    assert await backend.remove_member(ROOM, member("c2")) is False  # already gone
    assert [m.id for m in await backend.members(ROOM)] == [BOB["id"]]
    assert await backend.members("climate") == []


async def test_presence_update_replaces_the_connection_record(node):
    await node.backend.add_member(ROOM, member("c1", lang="en"))
    assert await node.backend.add_member(ROOM, member("c1", lang="pt")) is False
    assert [(m.conn, m.lang) for m in await node.backend.members(ROOM)] == [("c1", "pt")]


# translations and deletes ------------------------------------------------------------------
async def test_translations_are_stored_with_the_message_and_published(node):
    await node.backend.subscribe(ROOM)
    message = await node.say("good morning")
    await node.backend.add_translation(ROOM, message["id"], "de", "guten Morgen")
    await node.backend.add_translation(ROOM, message["id"], "fr", "bonjour")
    [stored] = await node.backend.history(ROOM, before=None, limit=5)
    assert stored["tr"] == {"de": "guten Morgen", "fr": "bonjour"}
    assert stored["text"] == "good morning"
    events = await node.wait_for("translation", 2)
    assert events[0] == {"type": "translation", "room": ROOM, "id": message["id"], "lang": "de",
                         "text": "guten Morgen"}
    replay = await node.backend.since(ROOM, "deadbeef.1", limit=5)
    assert replay.messages[0]["tr"]["fr"] == "bonjour"


async def test_translating_an_unknown_message_does_nothing(node):
    await node.backend.subscribe(ROOM)
    await node.say("hello")
    await node.backend.add_translation(ROOM, "deadbeef.1", "de", "hallo")
    await node.wait_for("message", 1)
    await asyncio.sleep(0.1)
    assert node.of_type("translation") == []


async def test_delete_blanks_text_and_translations_and_keeps_the_place(node):
    ids = [(await node.say(f"m{i}"))["id"] for i in range(3)]
    await node.backend.add_translation(ROOM, ids[1], "de", "geheim")
    assert await node.backend.delete_message(ROOM, ids[1]) is True
    assert await node.backend.delete_message(ROOM, ids[1]) is False
    assert await node.backend.delete_message(ROOM, "deadbeef.1") is False
    history = await node.backend.history(ROOM, before=None, limit=50)
    assert [m["id"] for m in history] == ids
    gone = history[1]
    assert gone["deleted"] is True and gone["text"] == "" and gone["tr"] == {} and gone["user"] == ADA
    assert [m["id"] for m in await node.backend.history(ROOM, before=None, limit=2)] == ids[1:]
    assert [m["id"] for m in (await node.backend.since(ROOM, ids[0], limit=50)).messages] == ids[1:]
    await node.backend.add_translation(ROOM, ids[1], "fr", "secret")
    assert (await node.backend.history(ROOM, before=None, limit=50))[1]["tr"] == {}


async def test_a_retry_of_a_deleted_message_answers_the_placeholder(node):
    first = await node.say("oops", cid="c1")
    await node.backend.delete_message(ROOM, first["id"])
    retry = await node.backend.append_message(ROOM, user=ADA, text="oops", lang="en", cid="c1")
    assert retry.created is False and retry.message["id"] == first["id"] and retry.message["deleted"] is True


# rooms ----------------------------------------------------------------------------------
async def test_rooms_are_seeded_once_listed_in_order_and_saved(node):
    configured = (Room("plenary", "Plenary"), Room("climate", "Climate", forum="Sub"))
    await node.backend.seed_rooms(configured)
    assert [room.id for room in await node.backend.list_rooms()] == ["plenary", "climate"]
    closed = configured[0].updated(state=RoomState.CLOSED, title="Plenary (over)")
    await node.backend.save_room(closed)
    await node.backend.save_room(Room("health", "Health"))
    await node.backend.seed_rooms(configured)  # a restart: saved state wins over the config
    assert await node.backend.get_room("plenary") == closed
    assert await node.backend.get_room("climate") == configured[1]
    assert await node.backend.get_room("nowhere") is None
    assert [room.id for room in await node.backend.list_rooms()] == ["plenary", "climate", "health"]


# moderation state -------------------------------------------------------------------------
async def test_mutes_with_and_without_expiry(node):
    backend = node.backend
    assert await backend.get_mute(ROOM, "u_x") is None
    until = int(time.time() * 1000) + 300
    await backend.set_mute(ROOM, "u_x", until)
    assert await backend.get_mute(ROOM, "u_x") == Mute(until)
    assert await backend.get_mute("climate", "u_x") is None
    await asyncio.sleep(0.4)
    assert await backend.get_mute(ROOM, "u_x") is None
    await backend.set_mute(ROOM, "u_x", None)
    assert await backend.get_mute(ROOM, "u_x") == Mute(None)
    assert await backend.clear_mute(ROOM, "u_x") is True
    assert await backend.clear_mute(ROOM, "u_x") is False
    assert await backend.get_mute(ROOM, "u_x") is None


async def test_bans_say_whether_they_changed_anything(node):
    backend = node.backend
    assert await backend.is_banned(ROOM, "u_x") is False
    assert await backend.set_ban(ROOM, "u_x", True) is True
    assert await backend.set_ban(ROOM, "u_x", True) is False
    assert await backend.is_banned(ROOM, "u_x") is True and await backend.is_banned("climate", "u_x") is False
    assert await backend.set_ban(ROOM, "u_x", False) is True
    assert await backend.set_ban(ROOM, "u_x", False) is False
    assert await backend.is_banned(ROOM, "u_x") is False


async def test_room_moderators(node):
    backend = node.backend
    assert await backend.moderators(ROOM) == set()
    assert await backend.set_moderator(ROOM, "u_a", True) is True
    assert await backend.set_moderator(ROOM, "u_a", True) is False
    assert await backend.set_moderator(ROOM, "u_b", True) is True
    assert await backend.moderators(ROOM) == {"u_a", "u_b"}
    assert await backend.set_moderator(ROOM, "u_a", False) is True
    assert await backend.moderators(ROOM) == {"u_b"} and await backend.moderators("climate") == set()


async def test_moderation_log_keeps_order_and_honours_limit(node):
    entries = [{"action": "mute", "user": f"u_{i}", "by": "u_mod", "ts": i} for i in range(5)]
    for entry in entries:
        await node.backend.record_moderation(ROOM, entry)
    assert await node.backend.moderation_log(ROOM) == entries
    assert await node.backend.moderation_log(ROOM, limit=2) == entries[3:]
    assert await node.backend.moderation_log("climate") == []


# pub/sub -----------------------------------------------------------------------------------
async def test_subscribers_see_messages_in_history_order_with_concurrent_senders(node):
    await node.backend.subscribe(ROOM)

    async def sender(user: dict[str, str]) -> None:
        for i in range(20):
            await node.say(f"{user['name']} {i}", user=user)

    await asyncio.gather(sender(ADA), sender(BOB))
    delivered = await node.wait_for("message", 40)
    history = await node.backend.history(ROOM, before=None, limit=50)
    assert [event["id"] for event in delivered] == [m["id"] for m in history]
    assert all(room == ROOM for room, event in node.events if event["type"] == "message")
    assert delivered[0].keys() >= {"type", "room", "id", "ts", "user", "lang", "text"}


async def test_only_subscribed_rooms_are_delivered_and_broadcast_reaches_the_node(node):
    await node.backend.subscribe(ROOM)
    await node.say("not for us", room="climate")
    await node.backend.publish("climate", {"type": "presence", "room": "climate", "event": "join",
                                           "user": {"id": "u", "name": "U", "lang": "en"}})
    await node.backend.broadcast({"type": "room", "event": "opened", "room": {"id": "new"}})
    await node.backend.publish(ROOM, {"type": "deleted", "room": ROOM, "id": "x", "by": "u_mod"})
    await node.wait_for("deleted", 1)
    await node.wait_for("room", 1)
    assert [room for room, _ in node.events] == [None, ROOM]
    await node.backend.unsubscribe(ROOM)
    await node.say("after unsubscribing")
    await asyncio.sleep(0.1)
    assert node.of_type("message") == []


# redis only: a cluster on one Redis ---------------------------------------------------------
redis_only = pytest.mark.parametrize("backend_kind", [pytest.param("redis", marks=pytest.mark.redis)])


@redis_only
async def test_two_nodes_share_history_order_and_idempotency(make_node):
    a, b = await make_node(), await make_node()
    await a.backend.subscribe(ROOM)
    await b.backend.subscribe(ROOM)

    async def sender(node: Node, user: dict[str, str]) -> None:
        for i in range(25):
            await node.say(f"{user['name']} {i}", user=user)

    await asyncio.gather(sender(a, ADA), sender(b, BOB))
    history = [m["id"] for m in await a.backend.history(ROOM, before=None, limit=100)]
    assert len(history) == 50
    assert [e["id"] for e in await a.wait_for("message", 50)] == history
    assert [e["id"] for e in await b.wait_for("message", 50)] == history
    # the same retry reaching both nodes at once is stored once
    racing = await asyncio.gather(*(node.backend.append_message(ROOM, user=ADA, text="retry", lang="en", cid="r")
                                    for node in (a, b, a, b)))
    assert len({appended.message["id"] for appended in racing}) == 1
    assert sum(appended.created for appended in racing) == 1
    # room state written on one node is what the other reads
    await a.backend.save_room(Room("health", "Health", state=RoomState.READ_ONLY))
    assert await b.backend.get_room("health") == Room("health", "Health", state=RoomState.READ_ONLY)
    await b.backend.set_ban(ROOM, "u_x", True)
    assert await a.backend.is_banned(ROOM, "u_x") is True


@redis_only
async def test_presence_spans_nodes_and_a_dead_node_drops_out(make_node):
    a, b = await make_node(presence_ttl=1), await make_node(presence_ttl=1)
    await a.backend.subscribe(ROOM)
    assert await a.backend.add_member(ROOM, member("a1")) is True
    assert await b.backend.add_member(ROOM, member("b1")) is False  # Ada is already here, on node a
    assert await b.backend.add_member(ROOM, member("b2", BOB)) is True
    assert sorted(m.conn for m in await a.backend.members(ROOM)) == ["a1", "b1", "b2"]
    # node b dies without a word: its heartbeat stops and expires
    b_backend = b.backend
    assert isinstance(b_backend, RedisBackend)
    b_backend._heartbeat.cancel()  # noqa: SLF001 - simulating a crash
    deadline = time.monotonic() + 5
    while sorted(m.conn for m in await a.backend.members(ROOM)) != ["a1"]:
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
async def test_redis_outage_unavailable_then_reconnect_resubscribe_and_replay(private_redis, caplog,
                                                                              redis_prefix):
    caplog.set_level(logging.INFO, logger="babelroom.backend.redis")
    settings = redis_settings(redis_prefix, url=private_redis.url, presence_ttl=3)
    nodes = [Node(RedisBackend(settings, "a")), Node(RedisBackend(settings, "b"))]
    for node in nodes:
        await node.backend.start(node.on_event)
    a, b = nodes
    try:
        for node, conn in ((a, "a1"), (b, "b1")):
            await node.backend.subscribe(ROOM)
            await node.backend.add_member(ROOM, member(conn, ADA if conn == "a1" else BOB))
        cy = member("b2", {"id": "u_cy", "name": "Cy"})
        await b.backend.add_member(ROOM, cy)
        first = await a.say("before")
        await b.wait_for("message", 1)

        private_redis.kill()
        for _ in range(3):  # several failures, one log line
            with pytest.raises(BackendUnavailable):
                await a.say("during")
        with pytest.raises(BackendUnavailable):
            await b.backend.members(ROOM)
        with pytest.raises(BackendUnavailable):  # Cy closes her socket while Redis is away
            await b.backend.remove_member(ROOM, cy)
        await wait_until(lambda: not a.backend.healthy() and not b.backend.healthy())

        private_redis.start()  # same port, same data (appendonly)
        await wait_until(lambda: a.backend.healthy() and b.backend.healthy(), timeout=15)
        # b comes back, hears a message a sends before b has resubscribed... or after; either way once
        after = [await a.say(f"after {i}") for i in range(3)]
        expected = [first["id"]] + [m["id"] for m in after]
        for node in nodes:
            delivered = await node.wait_for("message", 4)
            assert [event["id"] for event in delivered] == expected
        # Cy's record went when Redis came back, and her leave was announced
        assert sorted(m.conn for m in await b.backend.members(ROOM)) == ["a1", "b1"]
        [leave] = await a.wait_for("presence", 1)
        assert leave["event"] == "leave" and leave["user"]["id"] == "u_cy"
        await asyncio.sleep(0.2)
        assert all(len(node.of_type("message")) == 4 for node in nodes)
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
        await node.backend.subscribe(ROOM)
    try:
        await a.say("m0")
        await b.wait_for("message", 1)
        client = redis.asyncio.Redis.from_url(private_redis.url)
        await client.client_kill_filter(_type="pubsub", skipme=True)  # every node's pub/sub connection
        sent = [await a.say(f"m{i}") for i in range(1, 30)]
        await client.aclose()
        delivered = await b.wait_for("message", 30, timeout=10)
        history = await b.backend.history(ROOM, before=None, limit=100)
        assert [event["id"] for event in delivered] == [m["id"] for m in history]
        assert sent[-1]["id"] == history[-1]["id"]
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
        await node.backend.seed_rooms(configured)
        await node.backend.subscribe(ROOM)
        await node.backend.add_member(ROOM, member(conn, ADA if conn == "a1" else BOB))
    try:
        old = await a.say("before the loss")
        await b.wait_for("message", 1)
        private_redis.kill()
        await wait_until(lambda: not a.backend.healthy() and not b.backend.healthy())
        shutil.rmtree(private_redis.directory)
        private_redis.start()
        await wait_until(lambda: a.backend.healthy() and b.backend.healthy(), timeout=15)
        assert [room.id for room in await b.backend.list_rooms()] == [ROOM]
        assert sorted(m.conn for m in await b.backend.members(ROOM)) == ["a1", "b1"]
        new = await b.say("after the loss")
        assert new["id"].split(".")[0] != old["id"].split(".")[0]
        replay = await a.backend.since(ROOM, old["id"], limit=10)
        assert replay.recovered is False and [m["text"] for m in replay.messages] == ["after the loss"]
        for node in (a, b):
            assert [e["text"] for e in await node.wait_for("message", 2)] == ["before the loss", "after the loss"]
    finally:
        for node in (a, b):
            await node.backend.close()


async def wait_until(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.05)
