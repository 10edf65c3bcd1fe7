"""Nodes on a 3-master Redis Cluster (`[backend] redis_cluster = true`): the multi-node protocol
checks of tests/test_multinode.py run unchanged with both `babelroom serve` processes on the
cluster, a room's keys all hash to one slot, and rooms spread over the shards.

(tests/backend/test_redis_cluster.py, despite its name, checks two nodes sharing ONE Redis.)
"""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
import redis.asyncio

from chat.backend.redis import RedisBackend
from chat.backend.redis.keys import Keys
from chat.config import BackendSettings
from chat.translation_tier import job_keys
from rooms import Room
from rooms.conversations import EVENT_WIDE
from tests.backend.conftest import redis_settings
from tests.backend.support import ADA, Node, member, wait_until
from tests.client import Client
from tests.nodes import NodeProcess, RedisCluster, RedisServer, WorkerProcess, start_together
from tests.test_multinode import NODE_ENV, ROOM, Cluster, Ledger, Peer, eventually, flowing, keep_sending
from tests.test_multinode import test_every_member_on_both_nodes_sees_one_order as test_one_order_on_a_cluster
from tests.test_multinode import test_messages_and_presence_cross_nodes as test_cross_nodes_on_a_cluster
from tests.test_multinode import test_since_recovers_on_the_other_node as test_since_on_a_cluster
from tests.test_multinode import (
    test_the_standing_rule_holds_for_people_seen_on_the_other_node as test_standing_on_a_cluster,
)

# one worker starts the module's Redis Cluster under pytest-xdist, not one on each worker
pytestmark = [pytest.mark.redis, pytest.mark.xdist_group("redis-cluster-nodes")]

__all__ = [
    "test_cross_nodes_on_a_cluster",
    "test_one_order_on_a_cluster",
    "test_since_on_a_cluster",
    "test_standing_on_a_cluster",
]

PREFIX = "brc:"


@pytest.fixture(scope="module")
def redis_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisCluster]:
    """Three masters, no replicas, each a redis-server of this module's own."""
    started = RedisCluster(tmp_path_factory.mktemp("cluster"))
    try:
        started.start()
        yield started
    finally:
        started.stop()


@pytest.fixture
async def cluster(tmp_path: Path, redis_cluster: RedisCluster) -> AsyncIterator[Cluster]:
    """test_multinode's two nodes, on the cluster (each test its own key prefix)."""
    prefix = f"{PREFIX}{tmp_path.name}:"
    env = {**NODE_ENV, "BABELROOM_BACKEND_REDIS_CLUSTER": "true"}
    nodes = [
        NodeProcess(name, tmp_path, redis_url=redis_cluster.url, key_prefix=prefix, env=env) for name in ("a", "b")
    ]
    try:
        await asyncio.to_thread(start_together, *nodes)
        yield Cluster(redis_cluster.servers[0], *nodes)
        with redis.RedisCluster.from_url(redis_cluster.url) as client:  # the nodes did use the cluster's names
            assert list(client.scan_iter(match=f"{prefix}room:{{*}}:*")), "no hash-tagged room keys"
    finally:
        for node in nodes:
            node.stop()


async def test_a_rooms_keys_all_live_in_one_slot(redis_cluster: RedisCluster, tmp_path: Path) -> None:
    settings = redis_settings(f"{PREFIX}{tmp_path.name}:", url=redis_cluster.url, redis_cluster=True)
    node = Node(RedisBackend(settings, "a"))
    await node.backend.start(node.on_event)
    room = "health"
    try:
        await node.stores.rooms.seed_rooms((Room(room, "Health"),))
        await node.stores.broker.subscribe(room)
        await node.stores.presence.add_member(room, member("a1", ADA))
        said = await node.stores.broker.append_message(room, user=ADA, text="hello", lang="en", cid="c1")
        await node.stores.broker.add_translation(room, said.message.id, "es", "hola")
        await node.stores.moderation.set_mute(room, "u_x", None)
        await node.stores.moderation.set_ban(room, "u_y", True)
        await node.stores.moderation.set_ban(EVENT_WIDE, "u_z", True)
        await node.stores.limits.take_send("u_x", 5, 10, room, 5)
        standing = await node.stores.moderation.standing(room, "u_z")
        assert standing.banned_event and not standing.banned
        await node.wait_for("message", 1)
        await node.wait_for("translation", 1)  # SPUBLISHed by add_translation.lua on the room's shard

        client = redis.asyncio.RedisCluster.from_url(redis_cluster.url, decode_responses=True)
        try:
            keys = Keys(settings.key_prefix, cluster=True)
            stored = [key async for key in client.scan_iter(match=f"{settings.key_prefix}room:{{{room}}}:*")]
            assert len(stored) >= 8, stored  # log, meta, extra, cid, presence, users, census, alive, mutes, bans
            slot = client.keyslot(keys.channel(room))
            for key in [*stored, *keys.room_keys(room)]:
                assert (
                    await client.execute_command("CLUSTER KEYSLOT", key, target_nodes=client.get_random_node()) == slot
                ), key
            # a user's limits share a slot too (take_send.lua takes both keys in one step)
            assert client.keyslot(keys.limit_bucket("u_x")) == client.keyslot(keys.limit_slow(room, "u_x"))
            # the event-wide keys, the translation queue's among them, share the prefix's one slot
            jobs = job_keys(settings)
            event_wide = [
                keys.rooms,
                keys.rooms_order,
                keys.glossary,
                keys.instances,
                keys.room(EVENT_WIDE, "bans"),
                jobs.stream("en", "es"),
                jobs.stream("de", "fi"),
                jobs.streams,
                jobs.workers,
            ]
            assert len({client.keyslot(key) for key in event_wide}) == 1, event_wide
        finally:
            await client.aclose()
    finally:
        await node.backend.close()


async def test_a_shard_connection_with_many_rooms_comes_back_subscribed_to_all(
    redis_cluster: RedisCluster, tmp_path: Path
) -> None:
    """Twelve rooms (several per shard, each in a slot of its own) and every pub/sub connection
    killed: each shard connection subscribes its rooms again (one SSUBSCRIBE per room, as a
    SSUBSCRIBE's channels must share a slot) and catches them up."""
    settings = redis_settings(f"{PREFIX}{tmp_path.name}:", url=redis_cluster.url, redis_cluster=True)
    a, b = Node(RedisBackend(settings, "a")), Node(RedisBackend(settings, "b"))
    rooms = [f"room-{i}" for i in range(12)]
    for node in (a, b):
        await node.backend.start(node.on_event)
    try:
        for room in rooms:
            await b.stores.broker.subscribe(room)
        for master in redis_cluster.masters():
            with redis.Redis(host="127.0.0.1", port=master.port) as client:
                client.client_kill_filter(_type="pubsub")
        for room in rooms:  # while b reconnects, or after: caught up or live, once
            await a.say(f"in {room}", room=room)
        await wait_until(b.backend.healthy, timeout=20)
        for room in rooms:  # live again in every room
            await a.say(f"again in {room}", room=room)
        await b.wait_for("message", 2 * len(rooms), timeout=20)
        assert sorted(event["text"] for event in b.of_type("message")) == sorted(
            [f"in {room}" for room in rooms] + [f"again in {room}" for room in rooms]
        )
    finally:
        for node in (a, b):
            await node.backend.close()


async def test_rooms_spread_over_the_shards(redis_cluster: RedisCluster) -> None:
    keys = Keys("babelroom:", cluster=True)
    with redis.RedisCluster.from_url(redis_cluster.url) as client:
        owners = {client.get_node_from_key(keys.channel(f"room-{i}")).name for i in range(50)}
    assert len(owners) == 3


async def test_the_rooms_shard_master_restarting_mid_traffic_loses_and_duplicates_nothing(cluster, redis_cluster):
    """The master that holds the room dies (SIGKILL) and comes back with its append-only file, as
    a failover brings a shard back: sends meanwhile answer `unavailable`, nothing acked is lost,
    nothing is delivered twice, and a member that left during it recovers with `since`."""
    with redis.RedisCluster.from_url(redis_cluster.url) as client:
        owner = client.get_node_from_key(Keys("x", cluster=True).channel(ROOM))
    shard = next(server for server in redis_cluster.servers if server.port == owner.port)
    readers = [(await Peer.join(node, f"reader{node.node_id}{i}"))[0] for node in cluster.nodes for i in range(2)]
    senders = [(await Peer.join(node, f"sender{node.node_id}"))[0] for node in cluster.nodes]
    leaver, _ = await Peer.join(cluster.b, "leaver")
    ledger, stop = Ledger(), asyncio.Event()
    traffic = [asyncio.create_task(keep_sending(peer, ledger, stop, time.monotonic() + 60)) for peer in senders]

    await flowing(ledger)
    await eventually(lambda: bool(leaver.received), 10, "the leaver got messages")
    shard.kill()
    await leaver.close()
    last_seen = leaver.received[-1]
    for node in cluster.nodes:
        await asyncio.to_thread(node.wait_health, 503, 20)
    shard.start()
    await asyncio.to_thread(_wait_ready, redis_cluster)
    for node in cluster.nodes:
        await asyncio.to_thread(node.wait_health, 200, 30)
    back, joined = await Peer.join(cluster.a, "leaver", since=last_seen)
    await flowing(ledger)
    stop.set()
    await asyncio.wait_for(asyncio.gather(*traffic), 30)
    recovered = await replay(back, joined)

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
    assert leaver.received + recovered == history, "the member that left recovered with since"
    for peer in [*members, back]:
        await peer.close()


async def test_moving_the_rooms_slot_between_live_masters_loses_and_duplicates_nothing(cluster, redis_cluster):
    """Resharding under traffic: the room's hash slot moves to another master and then to the
    third, keys and all, while both nodes serve it and two senders keep sending; the migrating
    state is held long enough that the room's scripts meet ASK and TRYAGAIN. The old master
    drops the nodes' shard subscriptions (SUNSUBSCRIBE); the nodes follow the slot."""
    slot = redis.RedisCluster.from_url(redis_cluster.url).keyslot(Keys("x", cluster=True).channel(ROOM))

    async def move() -> None:
        first = next(master for master in redis_cluster.masters() if slot in redis_cluster.slots_of(master))
        for target in [m for m in redis_cluster.masters() if m is not first]:  # to one master, then the other
            moved = await asyncio.to_thread(redis_cluster.move_slot, slot, target, pause=0.5)
            assert moved >= 8, "the room's keys were not in its slot"
            assert slot in redis_cluster.slots_of(target)
            await asyncio.sleep(1.0)

    for master in redis_cluster.masters():
        with redis.Redis(host="127.0.0.1", port=master.port) as client:
            client.config_resetstat()
    await reshard_under_traffic(cluster, ROOM, move, follows=2)
    redirected = 0
    for master in redis_cluster.masters():
        with redis.Redis(host="127.0.0.1", port=master.port, decode_responses=True) as client:
            errors = client.info("errorstats")
            redirected += sum(errors.get(f"errorstat_{kind}", {}).get("count", 0) for kind in ("ASK", "TRYAGAIN"))
    assert redirected > 0, "no script met the migration"


async def test_redis_cli_reshard_moves_a_live_room(cluster, redis_cluster):
    """`redis-cli --cluster reshard` itself, under traffic: it moves slots from the start of a
    master's range, as many as it takes to carry the room's (`health`, slot 142) to another master."""
    room = "health"
    slot = redis.RedisCluster.from_url(redis_cluster.url).keyslot(Keys("x", cluster=True).channel(room))

    async def move() -> None:
        source = next(master for master in redis_cluster.masters() if slot in redis_cluster.slots_of(master))
        target = next(master for master in redis_cluster.masters() if master is not source)
        count = sorted(redis_cluster.slots_of(source)).index(slot) + 1
        ids = []
        for server in (source, target):
            with redis.Redis(host="127.0.0.1", port=server.port, decode_responses=True) as client:
                ids.append(client.cluster("MYID"))
        cli = shutil.which("redis-cli") or "/usr/bin/redis-cli"
        done = await asyncio.to_thread(
            subprocess.run,
            [
                cli,
                "--cluster",
                "reshard",
                f"127.0.0.1:{source.port}",
                "--cluster-from",
                ids[0],
                "--cluster-to",
                ids[1],
                "--cluster-slots",
                str(count),
                "--cluster-yes",
            ],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
        assert slot in redis_cluster.slots_of(target)
        await asyncio.sleep(1.0)

    await reshard_under_traffic(cluster, room, move, follows=1)


async def reshard_under_traffic(cluster: Cluster, room: str, move: Callable[[], Awaitable[None]], follows: int) -> None:
    """Two readers on each node, a sender on each, traffic all along while `move` moves the room's
    slot: nothing acked is lost, nothing is delivered twice, every member sees history's order,
    messages sent after the move arrive live, and each node says it followed the room."""
    readers = [
        (await Peer.join(node, f"reader{node.node_id}{i}", room=room))[0] for node in cluster.nodes for i in range(2)
    ]
    senders = [(await Peer.join(node, f"sender{node.node_id}", room=room))[0] for node in cluster.nodes]
    ledger, stop = Ledger(), asyncio.Event()
    traffic = [asyncio.create_task(keep_sending(peer, ledger, stop, time.monotonic() + 90)) for peer in senders]
    await flowing(ledger)
    await move()
    acked_by_then = len(ledger.acked)
    await flowing(ledger)
    stop.set()
    await asyncio.wait_for(asyncio.gather(*traffic), 30)
    assert len(ledger.acked) > acked_by_then, "nothing was sent after the move"

    history = await readers[0].history()
    assert sorted(ledger.acked.values()) == sorted(history), "history holds exactly the acked messages"
    assert len(set(history)) == len(history)
    members = readers + senders
    await eventually(
        lambda: all(len(peer.received) >= len(history) for peer in members), 20, "every member got every message"
    )
    await asyncio.sleep(0.3)  # anything extra would be a duplicate
    for peer in members:
        assert peer.received == history, peer.name
    for node in cluster.nodes:
        log = node.log()
        assert log.count(f"room:{{{room}}} to the Redis Cluster master") >= follows, log[-3000:]
        assert "Traceback" not in log, log[-3000:]
    for peer in members:
        await peer.close()


def _wait_ready(cluster: RedisCluster) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if cluster.ready():
                return
        except redis.RedisError:
            pass
        time.sleep(0.1)
    raise TimeoutError("the cluster did not come back")


async def test_translation_workers_on_a_cluster(redis_cluster: RedisCluster, tmp_path: Path) -> None:
    """Workers mode with the nodes and a translate-worker on the cluster: the job streams live in
    the event-wide slot, the translation is SPUBLISHed on the room's shard."""
    prefix = f"{PREFIX}{tmp_path.name}:"
    on_cluster = {"BABELROOM_BACKEND_REDIS_CLUSTER": "true", "BABELROOM_TRANSLATION_ENGINES": "apertium"}
    worker = WorkerProcess(
        "w1", tmp_path, redis_url=redis_cluster.url, key_prefix=prefix, env=on_cluster, pairs="en-es"
    )
    nodes = [
        NodeProcess(
            name,
            tmp_path,
            redis_url=redis_cluster.url,
            key_prefix=prefix,
            env={**NODE_ENV, **on_cluster, "BABELROOM_TRANSLATION_MODE": "workers"},
        )
        for name in "ab"
    ]
    worker.start()
    try:
        workers_key = job_keys(BackendSettings(kind="redis", key_prefix=prefix, redis_cluster=True)).workers
        with redis.RedisCluster.from_url(redis_cluster.url, decode_responses=True) as client:
            deadline = time.monotonic() + 60
            while not client.hkeys(workers_key):
                assert time.monotonic() < deadline, worker.log()[-2000:]
                await asyncio.sleep(0.1)
        await asyncio.to_thread(start_together, *nodes)
        reader = await Client.connect(nodes[1].ws_url)
        await reader.auth(nodes[1].token("Lucia", user_id="u_lucia", lang="es"))
        await reader.join(ROOM)
        sender = await Client.connect(nodes[0].ws_url)
        await sender.auth(nodes[0].token("Ada", user_id="u_ada", lang="en"))
        await sender.join(ROOM)
        ack = await sender.say(ROOM, "Good morning, everyone.")
        translation = await reader.expect("translation", id=ack["id"], lang="es", timeout=30)
        assert translation["text"] == "Buenos días, todo el mundo."
        await reader.close()
        await sender.close()
    finally:
        worker.kill()
        for node in nodes:
            node.stop()


async def test_a_failover_of_the_rooms_master_loses_and_duplicates_nothing(tmp_path: Path) -> None:
    """3 masters with a replica each: the room's master is killed mid-traffic, its replica is
    promoted, the nodes follow the slot to it, nothing acked is lost or delivered twice, and a
    member that left during it recovers with `since`."""
    replicated = RedisCluster(tmp_path / "cluster", replicas=1)
    replicated.start()
    env = {**NODE_ENV, "BABELROOM_BACKEND_REDIS_CLUSTER": "true"}
    pair = Cluster(
        replicated.servers[0],
        *(NodeProcess(name, tmp_path, redis_url=replicated.url, key_prefix=PREFIX, env=env) for name in "ab"),
    )
    try:
        await asyncio.to_thread(start_together, *pair.nodes)
        channel = Keys(PREFIX, cluster=True).channel(ROOM)
        master = replicated.master_of(channel)
        readers = [(await Peer.join(node, f"reader{node.node_id}{i}"))[0] for node in pair.nodes for i in range(2)]
        senders = [(await Peer.join(node, f"sender{node.node_id}"))[0] for node in pair.nodes]
        leaver, _ = await Peer.join(pair.b, "leaver")
        ledger, stop = Ledger(), asyncio.Event()
        traffic = [asyncio.create_task(keep_sending(peer, ledger, stop, time.monotonic() + 90)) for peer in senders]

        await flowing(ledger)
        await eventually(lambda: bool(leaver.received), 10, "the leaver got messages")
        master.kill()
        await leaver.close()
        last_seen = leaver.received[-1]
        for node in pair.nodes:
            await asyncio.to_thread(node.wait_health, 503, 20)
        await until_promoted(replicated, channel, master)
        for node in pair.nodes:
            await asyncio.to_thread(node.wait_health, 200, 40)
        back, joined = await Peer.join(pair.a, "leaver", since=last_seen)
        await flowing(ledger)
        stop.set()
        await asyncio.wait_for(asyncio.gather(*traffic), 30)
        assert joined["recovered"] is True
        recovered = await replay(back, joined)

        history = await readers[0].history()
        assert ledger.unavailable > 0, "no send met the failover"
        assert sorted(ledger.acked.values()) == sorted(history), "history holds exactly the acked messages"
        assert len(set(history)) == len(history)
        members = readers + senders
        await eventually(
            lambda: all(len(peer.received) >= len(history) for peer in members), 20, "every member got every message"
        )
        await asyncio.sleep(0.3)
        for peer in members:
            assert peer.received == history, peer.name
        assert leaver.received + recovered == history, "the member that left recovered with since"
        for peer in [*members, back]:
            await peer.close()
    finally:
        for node in pair.nodes:
            node.stop()
        replicated.stop()


async def replay(peer: Peer, joined: dict[str, Any]) -> list[str]:
    """What a `since` join recovers, with the pages a long outage needs (`more`, then `history`
    with `after`), one copy per id in page order, then the live messages after them."""
    ids = [message["id"] for message in joined["messages"]]
    more = joined.get("more", False)
    while more:
        page = await peer.request({"type": "history", "room": ROOM, "after": ids[-1], "limit": 200})
        ids += [message["id"] for message in page["messages"] if message["id"] not in ids]
        more = page.get("more", False)
    return ids + [message_id for message_id in peer.received if message_id not in ids]  # then what came live


async def until_promoted(cluster: RedisCluster, key: str, old: RedisServer) -> None:
    deadline = time.monotonic() + 40
    while True:
        try:
            if cluster.master_of(key) is not old and cluster.ready():
                return
        except (redis.RedisError, StopIteration):
            pass
        assert time.monotonic() < deadline, "no replica was promoted"
        await asyncio.sleep(0.2)
