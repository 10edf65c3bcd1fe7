"""Two `babelroom serve` processes on one Redis (a redis-server of the test's own, on a free port).

Delivery, presence and order across nodes, `since` recovery on the other node, a node that
dies, Redis restarting in the middle of traffic with exact accounting of every message, and
moderation's standing rule and event-wide ban across nodes.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import websockets

from rooms import Role
from tests.client import Client
from tests.nodes import NodeProcess, RedisServer, start_together

pytestmark = pytest.mark.redis

ROOM = "plenary"
PRESENCE_TTL = 3
NODE_ENV = {
    "BABELROOM_BACKEND_PRESENCE_TTL": str(PRESENCE_TTL),
    # the tests send faster than a person; the token bucket is not what they test
    "BABELROOM_LIMITS_RATE_PER_SECOND": "1000",
    "BABELROOM_LIMITS_RATE_BURST": "1000",
}


@dataclass
class Cluster:
    redis: RedisServer
    a: NodeProcess
    b: NodeProcess

    @property
    def nodes(self) -> tuple[NodeProcess, NodeProcess]:
        return self.a, self.b


@pytest.fixture
async def cluster(tmp_path: Path) -> AsyncIterator[Cluster]:
    redis_server = RedisServer(tmp_path / "redis")
    redis_server.start()
    nodes = [NodeProcess(name, tmp_path, redis_url=redis_server.url, env=NODE_ENV) for name in ("a", "b")]
    try:
        await asyncio.to_thread(start_together, *nodes)
        yield Cluster(redis_server, *nodes)
    finally:
        for node in nodes:
            node.stop()
        redis_server.stop()


async def connect(node: NodeProcess, name: str, role: Role = Role.DELEGATE, rooms: tuple[str, ...] = ()) -> Client:
    client = await Client.connect(node.ws_url)
    await client.auth(node.token(name, user_id=f"u_{name.lower()}", role=role, rooms=rooms))
    return client


class Peer:
    """A client whose frames are all read by one task: message ids collected, answers matched by ref."""

    def __init__(self, client: Client, name: str, room: str = ROOM) -> None:
        self.client = client
        self.name = name
        self.room = room
        self.received: list[str] = []  # message ids, in arrival order (live, or replayed by `joined`)
        self._answers: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self._refs = 0
        self._reader = asyncio.create_task(self._read())

    @classmethod
    async def join(
        cls, node: NodeProcess, name: str, since: str | None = None, room: str = ROOM
    ) -> tuple[Peer, dict[str, Any]]:
        client = await connect(node, name)
        joined = await client.join(room, **({"since": since} if since else {}))
        peer = cls(client, name, room)
        peer.received += [message["id"] for message in joined["messages"]] if since else []
        return peer, joined

    async def _read(self) -> None:
        try:
            async for raw in self.client.ws:
                frame = json.loads(raw)
                if frame["type"] == "message":
                    self.received.append(frame["id"])
                waiting = self._answers.pop(frame.get("ref", ""), None)
                if waiting is not None and frame["type"] in ("ack", "error", "history"):
                    waiting.set_result(frame)
        except websockets.ConnectionClosed:
            pass

    async def request(self, frame: dict[str, Any], timeout: float = 10) -> dict[str, Any]:
        self._refs += 1
        ref = f"{self.name}-{self._refs}"
        answer = asyncio.get_running_loop().create_future()
        self._answers[ref] = answer
        await self.client.send({**frame, "ref": ref})
        return await asyncio.wait_for(answer, timeout)

    async def history(self) -> list[str]:
        """Every message id stored for the room, oldest first, paging back 200 at a time."""
        ids: list[str] = []
        before: str | None = None
        while True:
            page = await self.request(
                {"type": "history", "room": self.room, "limit": 200, **({"before": before} if before else {})}
            )
            batch = [message["id"] for message in page["messages"]]
            ids[:0] = batch
            if len(batch) < 200:
                return ids
            before = batch[0]

    async def close(self) -> None:
        await self.client.close()
        await asyncio.gather(self._reader, return_exceptions=True)


async def eventually(condition: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} within {timeout} s")
        await asyncio.sleep(0.05)


async def flowing(ledger: Ledger, more: int = 20, timeout: float = 30) -> None:
    """Until `more` further sends have been acked: traffic is flowing (what a pause of a second hoped for)."""
    target = len(ledger.acked) + more
    await eventually(lambda: len(ledger.acked) >= target, timeout, f"{more} more sends acked")


# delivery and presence ------------------------------------------------------------------
async def test_messages_and_presence_cross_nodes(cluster):
    ada = await connect(cluster.a, "Ada")
    await ada.join(ROOM)
    bob = await connect(cluster.b, "Bob")
    joined = await bob.join(ROOM)
    assert {member["name"] for member in joined["members"]} == {"Ada", "Bob"}
    presence = await ada.expect("presence", event="join")
    assert presence["user"]["name"] == "Bob"

    ack = await ada.say(ROOM, "hello from node a")
    message = await bob.expect("message")
    assert message["id"] == ack["id"] and message["text"] == "hello from node a"
    ack = await bob.say(ROOM, "hello from node b")
    assert (await ada.expect("message", id=ack["id"]))["text"] == "hello from node b"

    await bob.close()
    leave = await ada.expect("presence", event="leave")
    assert leave["user"]["name"] == "Bob"


async def test_a_node_that_dies_drops_out_of_presence(cluster):
    ada = await connect(cluster.a, "Ada")
    await ada.join(ROOM)
    bob = await connect(cluster.b, "Bob")
    await bob.join(ROOM)
    await ada.expect("presence", event="join")
    killed = time.monotonic()
    cluster.b.kill()  # no goodbye: its records stay until its heartbeat expires
    leave = await ada.expect("presence", event="leave", timeout=PRESENCE_TTL * 3)
    assert leave["user"]["name"] == "Bob"
    assert time.monotonic() - killed < PRESENCE_TTL * 2 + 1
    cy = await connect(cluster.a, "Cy")
    joined = await cy.join(ROOM)
    assert {member["name"] for member in joined["members"]} == {"Ada", "Cy"}


async def test_every_member_on_both_nodes_sees_one_order(cluster):
    peers = []
    for node in cluster.nodes:
        for i in range(3):
            peer, _ = await Peer.join(node, f"{node.node_id}{i}")
            peers.append(peer)
    senders = [peer for peer in peers if peer.name.endswith(("0", "1"))]  # two per node

    async def burst(peer: Peer) -> None:
        for i in range(25):
            await peer.client.send({"type": "send", "room": ROOM, "text": f"{peer.name} {i}"})

    await asyncio.gather(*(burst(peer) for peer in senders))
    await eventually(lambda: all(len(peer.received) == 100 for peer in peers), 15, "every peer got 100 messages")
    history = await peers[0].history()
    assert len(history) == 100
    for peer in peers:
        assert peer.received == history, peer.name
    for peer in peers:
        await peer.close()


async def test_since_recovers_on_the_other_node(cluster):
    ada = await connect(cluster.a, "Ada")
    await ada.join(ROOM)
    seen = await ada.say(ROOM, "one")
    await ada.close()
    bob = await connect(cluster.b, "Bob")
    await bob.join(ROOM)
    gap = [(await bob.say(ROOM, text))["id"] for text in ("two", "three")]
    ada = await connect(cluster.b, "Ada")  # back, on the other node
    joined = await ada.join(ROOM, since=seen["id"])
    assert joined["recovered"] is True
    assert [message["id"] for message in joined["messages"]] == gap
    cy = await connect(cluster.a, "Cy")
    await cy.join(ROOM)
    live = await cy.say(ROOM, "four")
    assert (await ada.expect("message"))["id"] == live["id"]
    await ada.silent("message")


# Redis restarts in the middle of traffic ------------------------------------------------------
@dataclass
class Ledger:
    acked: dict[str, str] = field(default_factory=dict)  # cid -> message id
    unavailable: int = 0


async def keep_sending(peer: Peer, ledger: Ledger, stop: asyncio.Event, deadline: float) -> None:
    """Send until told to stop; a send answered `unavailable` is retried with its cid until acked."""
    i = 0
    while not stop.is_set():
        cid = f"{peer.name}-{i}"
        while True:
            answer = await peer.request({"type": "send", "room": peer.room, "text": f"{peer.name} {i}", "cid": cid})
            if answer["type"] == "ack":
                assert answer["cid"] == cid
                ledger.acked[cid] = answer["id"]
                break
            assert answer["code"] == "unavailable", answer
            ledger.unavailable += 1
            assert time.monotonic() < deadline, "a send was still unavailable long after Redis came back"
            await asyncio.sleep(0.05)
        i += 1
        await asyncio.sleep(0.02)


async def test_redis_restart_mid_traffic_loses_and_duplicates_nothing(cluster):
    readers = [(await Peer.join(node, f"reader{node.node_id}{i}"))[0] for node in cluster.nodes for i in range(2)]
    senders = [(await Peer.join(node, f"sender{node.node_id}"))[0] for node in cluster.nodes]
    leaver, _ = await Peer.join(cluster.b, "leaver")  # leaves during the outage, comes back with since
    ledger, stop = Ledger(), asyncio.Event()
    traffic = [asyncio.create_task(keep_sending(peer, ledger, stop, time.monotonic() + 60)) for peer in senders]

    await flowing(ledger)
    await eventually(lambda: bool(leaver.received), 10, "the leaver got messages")
    cluster.redis.kill()
    await leaver.close()
    last_seen = leaver.received[-1]
    for node in cluster.nodes:
        await asyncio.to_thread(node.wait_health, 503, 20)
    await eventually(lambda: ledger.unavailable > 0, 20, "a send answered `unavailable` during the outage")
    cluster.redis.start()
    for node in cluster.nodes:
        await asyncio.to_thread(node.wait_health, 200, 20)
    back, _ = await Peer.join(cluster.a, "leaver", since=last_seen)
    await flowing(ledger)
    stop.set()
    await asyncio.wait_for(asyncio.gather(*traffic), 30)

    history = await readers[0].history()
    assert ledger.unavailable > 0, "no send met the outage"
    assert sorted(ledger.acked.values()) == sorted(history), "history holds exactly the acked messages"
    assert len(set(history)) == len(history)
    members = readers + senders
    await eventually(
        lambda: all(len(peer.received) >= len(history) for peer in members), 15, "every member got every message"
    )
    await asyncio.sleep(0.3)  # anything extra would be a duplicate
    for peer in members:
        assert peer.received == history, peer.name
    leaver_view = leaver.received + back.received
    assert leaver_view == history, "the member that left during the outage recovered with since"
    for peer in [*members, back]:
        await peer.close()
    for node in cluster.nodes:
        log = node.log()
        assert log.count("lost Redis") == 1 and log.count("Redis is back") == 1, log[-3000:]


# moderation across nodes --------------------------------------------------------------------
async def ask(client: Client, frame: dict[str, Any], ref: str) -> dict[str, Any]:
    """Send a frame; its ack or error (frames before it are dropped)."""
    await client.send({**frame, "ref": ref})
    while True:
        got = await client.next(timeout=10)
        if got.get("ref") == ref and got["type"] in ("ack", "error"):
            return got


async def test_the_standing_rule_holds_for_people_seen_on_the_other_node(cluster):
    await connect(cluster.b, "Mo", Role.MODERATOR)  # a moderator of the whole event, on b, in no room
    await connect(cluster.b, "Hana", Role.HOST)
    rita = await connect(cluster.a, "Rita", Role.MODERATOR, rooms=(ROOM,))
    await rita.join(ROOM)
    for target in ("u_mo", "u_hana"):
        assert (await ask(rita, {"type": "ban", "room": ROOM, "user": target}, f"b-{target}"))["code"] == "forbidden"
    global_mod = await connect(cluster.a, "Gil", Role.MODERATOR)
    refused = await ask(global_mod, {"type": "ban", "room": "*", "user": "u_mo"}, "star")
    assert refused["code"] == "forbidden"
    refused = await ask(global_mod, {"type": "ban", "room": "*", "user": "u_nobody"}, "ghost")
    assert refused["code"] == "not_found"
    mo = await connect(cluster.b, "Mo", Role.MODERATOR)
    await mo.join(ROOM)  # not banned anywhere
    await mo.say(ROOM, "still here")


async def test_an_event_wide_ban_closes_the_persons_sockets_on_the_other_node(cluster):
    in_room, in_none = await connect(cluster.b, "Ada"), await connect(cluster.b, "Ada")
    await in_room.join(ROOM)
    mo = await connect(cluster.a, "Mo", Role.MODERATOR)
    assert (await ask(mo, {"type": "ban", "room": "*", "user": "u_ada"}, "ban"))["type"] == "ack"
    assert (await in_room.expect("left", room=ROOM, timeout=10))["reason"] == "banned"
    assert await in_room.closed(timeout=10) == 4403
    assert await in_none.closed(timeout=10) == 4403
    for node in cluster.nodes:
        again = await Client.connect(node.ws_url)
        await again.send({"type": "auth", "token": node.token("Ada", user_id="u_ada"), "ref": "a"})
        await again.expect_error("banned", ref="a")
        assert await again.closed(timeout=10) == 4403
