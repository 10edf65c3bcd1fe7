"""The translation tier and Redis Cluster pub/sub, measured on this machine (issue 28).

1. Translation jobs per second with 1 and 2 `babelroom translate-worker` processes, and the p95
   from a message's ack to its translation reaching a reader: one `babelroom serve` node in
   workers mode (it loads no model), a private redis-server, a burst of MESSAGES English messages
   read in Spanish. Apertium (Debian's eng-spa) by default; `--argos-packages DIR` uses the Argos
   packages installed in DIR instead (e.g. random-weight ones from `python -m translation.testpkg`).
2. Sharded pub/sub per shard: 50 rooms on a local 3-master Redis Cluster, 20 messages per room
   stored and published by the redis backend itself (append.lua SPUBLISHes to the room's shard
   channel), counted per master from its INFO commandstats (cmdstat_spublish), and received by
   one node subscribed to every room (one SSUBSCRIBE connection per shard). Then the same 1,000
   payloads with classic PUBLISH on the same cluster, for comparison: what each master receives
   over the cluster bus (CLUSTER INFO cluster_stats_messages_publish_received), since a classic
   PUBLISH is relayed to every node, against cluster_stats_messages_publishshard_received for
   the sharded run (relayed only to the shard's replicas: none here).

    python -m benchmarks.translation_workers [--messages 300] [--workers 1 2] [--argos-packages DIR]
    python -m benchmarks.translation_workers --shards-only
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import redis

from chat.config import BackendSettings
from chat.translation_tier import job_keys
from tests.client import Client
from tests.nodes import NodeProcess, RedisCluster, RedisServer, WorkerProcess

ROOM = "plenary"
PREFIX = "bench:"


async def one_run(workdir: Path, workers: int, messages: int, engine_env: dict[str, str]) -> dict[str, float]:
    server = RedisServer(workdir / "redis", persistent=False)
    server.start()
    procs: list[WorkerProcess] = []
    node = NodeProcess(
        "a",
        workdir,
        redis_url=server.url,
        key_prefix=PREFIX,
        env={
            **engine_env,
            "BABELROOM_TRANSLATION_MODE": "workers",
            "BABELROOM_LIMITS_RATE_PER_SECOND": "100000",
            "BABELROOM_LIMITS_RATE_BURST": "100000",
        },
    )
    try:
        for i in range(workers):
            worker = WorkerProcess(
                f"w{i}", workdir, redis_url=server.url, key_prefix=PREFIX, env=engine_env, pairs="en-es"
            )
            worker.start()
            procs.append(worker)
        keys = job_keys(BackendSettings(kind="redis", key_prefix=PREFIX))
        with redis.Redis(host="127.0.0.1", port=server.port, decode_responses=True) as client:
            deadline = time.monotonic() + 120
            while len(client.hkeys(keys.workers)) < workers:
                if time.monotonic() > deadline:
                    raise TimeoutError(f"workers did not start: {[p.log()[-500:] for p in procs]}")
                await asyncio.sleep(0.1)
        await asyncio.to_thread(node.start)
        reader = await Client.connect(node.ws_url)
        await reader.auth(node.token("Lucia", user_id="u_lucia", lang="es"))
        await reader.join(ROOM)
        sender = await Client.connect(node.ws_url)
        await sender.auth(node.token("Ada", user_id="u_ada", lang="en"))
        await sender.join(ROOM)

        acked: dict[str, float] = {}
        translated: dict[str, float] = {}

        async def read() -> None:
            while len(translated) < messages:
                frame = await reader.next(timeout=120)
                if frame["type"] == "translation":
                    translated[frame["id"]] = time.perf_counter()

        reading = asyncio.create_task(read())
        start = time.perf_counter()
        for i in range(messages):
            ref = f"m{i}"
            await sender.send(
                {
                    "type": "send",
                    "room": ROOM,
                    "text": f"The session on budgets starts at ten, item {i} of the agenda.",
                    "ref": ref,
                }
            )
        while len(acked) < messages:  # acks, in order, after every send went out
            frame = await sender.next(timeout=60)
            if frame["type"] == "ack":
                acked[frame["id"]] = time.perf_counter()
        await asyncio.wait_for(reading, 300)
        end = max(translated.values())
        latencies = sorted(translated[mid] - acked[mid] for mid in acked)
        await reader.close()
        await sender.close()
        return {
            "jobs_per_s": messages / (end - start),
            "p50_ms": statistics.median(latencies) * 1000,
            "p95_ms": latencies[int(0.95 * (len(latencies) - 1))] * 1000,
        }
    finally:
        for worker in procs:
            worker.stop()
        node.stop()
        server.stop()


@dataclass
class ShardFigures:
    spublish: dict[str, int]  # master -> SPUBLISH calls it ran (the rooms whose slots it holds)
    received: int  # messages the subscribed node got
    rate: float  # messages/s, stored and published, end to end
    bus_sharded: dict[str, int]  # master -> sharded messages it received over the cluster bus
    bus_classic: dict[str, int]  # master -> classic PUBLISH messages it received over the cluster bus


def bus_received(cluster: RedisCluster, field: str) -> dict[str, int]:
    counts = {}
    for server in cluster.servers:
        with redis.Redis(host="127.0.0.1", port=server.port, decode_responses=True) as client:
            info = client.execute_command("CLUSTER INFO")
            text = info if isinstance(info, str) else "\n".join(f"{k}:{v}" for k, v in info.items())
            values = dict(line.split(":", 1) for line in text.splitlines() if ":" in line)
            counts[f"127.0.0.1:{server.port}"] = int(values.get(field, 0))
    return counts


async def shards(workdir: Path, rooms: int = 50, per_room: int = 20) -> ShardFigures:
    """Messages through the redis backend itself (append.lua SPUBLISHes each to its room's shard
    channel), 50 rooms subscribed by one node: SPUBLISH calls per master, messages the node got;
    then the same payloads with classic PUBLISH, counted as each master receives them."""
    from chat.backend.redis import RedisBackend
    from tests.backend.support import ADA, Node

    cluster = RedisCluster(workdir / "cluster")
    cluster.start()
    node = Node(
        RedisBackend(
            BackendSettings(kind="redis", redis_url=cluster.url, redis_cluster=True, key_prefix=PREFIX), "bench"
        )
    )
    try:
        await node.backend.start(node.on_event)
        names = [f"room-{i}" for i in range(rooms)]
        for room in names:
            await node.stores.broker.subscribe(room)
        with redis.RedisCluster.from_url(cluster.url) as client:
            client.config_resetstat(target_nodes=redis.RedisCluster.PRIMARIES)
        start = time.perf_counter()
        await asyncio.gather(
            *(
                node.stores.broker.append_message(room, user=ADA, text=f"message {i}", lang="en", cid=None)
                for i in range(per_room)
                for room in names
            )
        )
        await node.wait_for("message", rooms * per_room, timeout=60)
        elapsed = time.perf_counter() - start
        counts = {}
        for server in cluster.servers:
            with redis.Redis(host="127.0.0.1", port=server.port, decode_responses=True) as shard:
                stats: dict[str, Any] = shard.info("commandstats")
                counts[f"127.0.0.1:{server.port}"] = int(stats.get("cmdstat_spublish", {}).get("calls", 0))
        sharded = bus_received(cluster, "cluster_stats_messages_publishshard_received")
        before = bus_received(cluster, "cluster_stats_messages_publish_received")
        with redis.RedisCluster.from_url(cluster.url) as client:
            for i in range(per_room):
                for room in names:
                    client.publish(f"{PREFIX}classic:{room}", f"message {i}")
        await asyncio.sleep(1.0)  # the cluster bus relays asynchronously
        after = bus_received(cluster, "cluster_stats_messages_publish_received")
        return ShardFigures(
            counts,
            len(node.of_type("message")),
            rooms * per_room / elapsed,
            sharded,
            {name: after[name] - before[name] for name in after},
        )
    finally:
        await node.backend.close()
        cluster.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=300)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--argos-packages", help="an Argos packages directory (default: Apertium eng-spa)")
    parser.add_argument("--shards-only", action="store_true")
    args = parser.parse_args()
    engine_env = (
        {"BABELROOM_TRANSLATION_ENGINES": "argos", "BABELROOM_TRANSLATION_PACKAGES_DIR": args.argos_packages}
        if args.argos_packages
        else {"BABELROOM_TRANSLATION_ENGINES": "apertium"}
    )
    with tempfile.TemporaryDirectory() as tmp:
        if not args.shards_only:
            for count in args.workers:
                figures = asyncio.run(one_run(Path(tmp) / f"w{count}", count, args.messages, engine_env))
                print(
                    f"{count} worker(s), {args.messages} messages, {engine_env['BABELROOM_TRANSLATION_ENGINES']}: "
                    f"{figures['jobs_per_s']:.1f} jobs/s, message->translation p50 {figures['p50_ms']:.0f} ms, "
                    f"p95 {figures['p95_ms']:.0f} ms",
                    flush=True,
                )
        shard = asyncio.run(shards(Path(tmp)))
        print(
            f"50 rooms x 20 messages through the redis backend on a 3-master cluster: SPUBLISH per master "
            f"{shard.spublish} (sum {sum(shard.spublish.values())}); the subscribed node received "
            f"{shard.received}, {shard.rate:.0f} messages/s end to end; received over the cluster bus per "
            f"master: sharded {shard.bus_sharded}, the same 1,000 as classic PUBLISH {shard.bus_classic}",
            flush=True,
        )


if __name__ == "__main__":
    main()
