"""Chat load: N clients in one room, split across nodes; delivered messages/s, latency, memory per idle connection.

By default it starts everything itself on 127.0.0.1: a private redis-server and two
`babelroom serve` nodes (or, with --backend memory, one memory node), then

1. memory: RSS growth of each node while --idle more authenticated, joined, idle connections
   (in another room) join --idle that are already open, divided by the connections it gained;
2. load: --clients clients join one room, alternating between nodes; --senders of them each
   send --rate messages per second for --duration seconds; every client records when each
   message arrives. With --reaction-share, that share of the messages draws --reactions-each
   reactions (`react`, from clients picked by the message id), and the report counts the
   `reaction` frames delivered (coalesced by the nodes: [limits] reaction_window) against the
   frames one per toggle and reader would have been. The send time travels in the text (wall clock of this machine); the
   clients run in --workers processes. On a small machine the clients, the nodes and Redis
   share the CPUs: the report prints the CPU count and the nodes' CPU seconds.

It prints figures, not pass/fail. Examples:

    .venv/bin/python benchmarks/chat_load.py                       # redis, two nodes
    .venv/bin/python benchmarks/chat_load.py --backend memory      # one memory node
    .venv/bin/python benchmarks/chat_load.py --connect ws://127.0.0.1:8001/ws,ws://127.0.0.1:8002/ws \\
        --secret "$SECRET"                                         # nodes you started yourself
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import statistics
import sys
import tempfile
import time
import urllib.request
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil
import websockets

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from chat.tokens import TokenSigner
from rooms import Role
from tests.nodes import SECRET, NodeProcess, RedisServer

LOAD_ROOM = "plenary"
IDLE_ROOM = "climate"
CONNECT_CONCURRENCY = 50  # handshakes in flight per process
SETTLE = 3.0  # seconds between the last join and the first send


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--backend",
        choices=("redis", "memory", "sqlite"),
        default="redis",
        help="redis: two nodes on a private redis-server (default); memory or sqlite: one node",
    )
    parser.add_argument("--clients", type=int, default=200, help="clients in the room (default 200)")
    parser.add_argument("--senders", type=int, default=20, help="how many of them send (default 20)")
    parser.add_argument("--rate", type=float, default=2.0, help="messages per second per sender (default 2)")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds of sending (default 10)")
    parser.add_argument(
        "--idle",
        type=int,
        default=500,
        help="idle connections per batch for the memory figure (two batches; default 500; 0 = skip)",
    )
    parser.add_argument(
        "--reaction-share",
        type=float,
        default=0.0,
        help="share of messages that draw reactions (e.g. 0.2; default 0: none)",
    )
    parser.add_argument("--reactions-each", type=int, default=5, help="reactions such a message draws (default 5)")
    parser.add_argument("--workers", type=int, default=2, help="client processes (default 2)")
    parser.add_argument("--redis-url", help="use this Redis instead of starting one (its db is written to!)")
    parser.add_argument("--connect", help="comma-separated ws:// URLs of running nodes instead of starting them")
    parser.add_argument("--secret", default=SECRET, help="token secret of the nodes given with --connect")
    parser.add_argument("--pids", default="", help="comma-separated pids of --connect nodes, for the memory figure")
    args = parser.parse_args(argv)
    if not 0 < args.senders <= args.clients:
        parser.error("--senders must be between 1 and --clients")
    if args.rate <= 0 or args.duration <= 0 or args.workers <= 0:
        parser.error("--rate, --duration and --workers must be positive")
    return args


# clients ------------------------------------------------------------------------------------
async def open_client(url: str, token: str, room: str) -> websockets.ClientConnection:
    """An authenticated connection that has joined the room (history=0: nothing to replay)."""
    ws = await websockets.connect(url, open_timeout=30, max_queue=None, compression=None)
    await ws.send(json.dumps({"type": "auth", "token": token}))
    await _until(ws, "ready")
    await ws.send(json.dumps({"type": "join", "room": room, "history": 0}))
    await _until(ws, "joined")
    return ws


async def _until(ws: websockets.ClientConnection, kind: str) -> None:
    while True:
        frame = json.loads(await asyncio.wait_for(ws.recv(), 30))
        if frame["type"] == kind:
            return
        if frame["type"] == "error":
            raise RuntimeError(f"waiting for {kind}: {frame}")


async def open_many(urls: list[str], secret: str, names: list[str], room: str) -> list[websockets.ClientConnection]:
    signer = TokenSigner(secret)
    gate = asyncio.Semaphore(CONNECT_CONCURRENCY)

    async def one(index: int, name: str) -> websockets.ClientConnection:
        async with gate:
            token = signer.issue(name=name, role=Role.DELEGATE, lang="en", ttl=3600, user_id=f"u_{name}")
            return await open_client(urls[index % len(urls)], token, room)

    return await asyncio.gather(*(one(int(name.rsplit("-", 1)[1]), name) for name in names))


@dataclass(frozen=True)
class WorkerPlan:
    urls: list[str]
    secret: str
    names: list[str]  # "c-<global index>"; index < senders sends
    senders: int
    rate: float
    duration: float
    drain: float
    clients: int = 0
    reaction_share: float = 0.0
    reactions_each: int = 0


def run_worker(plan_queue: multiprocessing.Queue[Any], result_queue: multiprocessing.Queue[Any]) -> None:
    """A client process: connect, report ready, wait for the plan's start time, send and receive."""
    try:
        asyncio.run(_worker(plan_queue, result_queue))
    except BaseException as exc:  # the parent must hear why, not wait for a worker that is gone
        result_queue.put(("failed", f"{type(exc).__name__}: {exc}", {}))
        raise


async def _worker(plan_queue: multiprocessing.Queue[Any], result_queue: multiprocessing.Queue[Any]) -> None:
    plan: WorkerPlan = plan_queue.get()
    sockets = await open_many(plan.urls, plan.secret, plan.names, LOAD_ROOM)
    latencies: list[int] = []
    counters = {"sent": 0, "errors": 0, "closed": 0, "last_ns": 0, "reacted": 0, "reaction_frames": 0}
    stop = {"at": float("inf")}
    # Read from the start: the joins' presence frames are still arriving and must not queue up.
    stored: list[int] = []  # ms from the message's ts (when the backend stored it) to its arrival
    receivers = [
        asyncio.create_task(_receive(ws, latencies, stored, counters, stop, _reactor(plan, name)))
        for ws, name in zip(sockets, plan.names, strict=True)
    ]
    result_queue.put(("ready", len(sockets)))
    start_at: float = await asyncio.to_thread(plan_queue.get)  # wall clock second to start
    cpu_at_start = time.process_time()
    stop["at"] = start_at + plan.duration + plan.drain
    senders = [
        asyncio.create_task(_send(ws, name, plan.rate, start_at, start_at + plan.duration, counters))
        for ws, name in zip(sockets, plan.names, strict=True)
        if int(name.rsplit("-", 1)[1]) < plan.senders
    ]
    await asyncio.gather(*senders, *receivers)
    counters["cpu_ms"] = int((time.process_time() - cpu_at_start) * 1000)  # is the client side the limit?
    for ws in sockets:
        await ws.close()
    result_queue.put(("done", (latencies, stored), counters))


async def _send(
    ws: websockets.ClientConnection, name: str, rate: float, start_at: float, end_at: float, counters: dict[str, int]
) -> None:
    interval = 1 / rate
    # spread the senders over the first interval instead of sending all at the same instant
    next_at = start_at + (int(name.rsplit("-", 1)[1]) * 0.618034 % 1) * interval
    seq = 0
    while next_at < end_at:
        await asyncio.sleep(max(0.0, next_at - time.time()))
        text = f"Good morning everyone, this is {name} with update {seq} sent@{time.time_ns()}"
        try:
            await ws.send(json.dumps({"type": "send", "room": LOAD_ROOM, "text": text}))
        except websockets.ConnectionClosed:
            return
        counters["sent"] += 1
        seq += 1
        next_at += interval


def _reactor(plan: WorkerPlan, name: str) -> Any:
    """Whether this client reacts to a message: for --reaction-share of the messages (picked by
    the id's hash), --reactions-each clients do (picked by the id's hash too), each with 👍."""
    if plan.reaction_share <= 0:
        return None
    index = int(name.rsplit("-", 1)[1])

    def reacts(message_id: str) -> bool:
        digest = zlib.crc32(message_id.encode())
        if digest % 1000 >= plan.reaction_share * 1000:
            return False
        return (index - digest) % plan.clients < plan.reactions_each

    return reacts


async def _receive(
    ws: websockets.ClientConnection,
    latencies: list[int],
    stored: list[int],
    counters: dict[str, int],
    stop: dict[str, float],
    reacts: Any = None,
) -> None:
    try:
        while (remaining := stop["at"] - time.time()) > 0:
            try:
                raw = await asyncio.wait_for(ws.recv(), min(remaining, 1.0))
            except TimeoutError:
                continue
            received = time.time_ns()
            frame = json.loads(raw)
            kind = frame["type"]
            if kind == "message" and "sent@" in frame["text"]:
                latencies.append(received - int(frame["text"].rsplit("sent@", 1)[1]))
                stored.append(received // 1_000_000 - frame["ts"])
                counters["last_ns"] = max(counters["last_ns"], received)
                if reacts is not None and reacts(frame["id"]):
                    await ws.send(json.dumps({"type": "react", "room": LOAD_ROOM, "id": frame["id"], "emoji": "👍"}))
                    counters["reacted"] += 1
            elif kind == "reaction":
                counters["reaction_frames"] += 1
            elif kind == "error":
                counters["errors"] += 1
    except websockets.ConnectionClosed:
        counters["closed"] += 1


# measurements -------------------------------------------------------------------------------
def cpu_seconds(pids: list[int]) -> list[float]:
    return [sum(psutil.Process(pid).cpu_times()[:2]) for pid in pids]


def rss(pids: list[int]) -> list[int]:
    return [psutil.Process(pid).memory_info().rss for pid in pids]


async def memory_per_connection(urls: list[str], secret: str, pids: list[int], count: int) -> list[float]:
    """Bytes of RSS each node grows by per idle, authenticated, joined connection it holds.

    A first batch of `count` connections stays open unmeasured, so what a node allocates once
    (Redis connection pool, allocator arenas, lazy imports) is paid; the figure is the growth
    while a second batch of `count` joins them (RSS never shrinks back, so closing and
    reopening would measure reused memory instead).
    """
    held = await open_many(urls, secret, [f"idle-{i}" for i in range(count)], IDLE_ROOM)
    await wait_until_quiet(pids)  # every join is announced to every member: let those frames drain
    before = rss(pids)
    held += await open_many(urls, secret, [f"idle-{i}" for i in range(count, 2 * count)], IDLE_ROOM)
    await wait_until_quiet(pids)
    after = rss(pids)
    await asyncio.gather(*(ws.close() for ws in held))
    await asyncio.to_thread(wait_until_idle, urls)  # closing them is work the load must not meet
    per_node = [count // len(urls) + (1 if i < count % len(urls) else 0) for i in range(len(urls))]
    return [(a - b) / n for a, b, n in zip(after, before, per_node, strict=True)]


async def wait_until_quiet(pids: list[int], timeout: float = 60) -> None:
    """Until the nodes use almost no CPU for half a second: queued frames are sent, memory is idle memory."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        before = cpu_seconds(pids)
        await asyncio.sleep(0.5)
        if all(after - start < 0.02 for after, start in zip(cpu_seconds(pids), before, strict=True)):
            return


def wait_until_idle(urls: list[str], timeout: float = 60) -> None:
    """Until every node's /healthz counts no open connection (the nodes finished the closes)."""
    deadline = time.monotonic() + timeout
    for url in urls:
        health = url.replace("ws://", "http://").removesuffix("/ws") + "/healthz"
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(health, timeout=2) as response:
                    if json.load(response).get("connections") == 0:
                        break
            except (OSError, ValueError):
                pass
            time.sleep(0.2)


def run_load(args: argparse.Namespace, urls: list[str], pids: list[int]) -> dict[str, Any]:
    """Start the worker processes, release them together, and gather what they measured."""
    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    plans = []  # one queue per worker: a fast worker must not take another's plan for its start time
    names = [f"c-{i}" for i in range(args.clients)]
    workers = []
    drain = getattr(args, "drain", 3.0)  # seconds of receiving after the last send (benchmarks/reactions.py sets it)
    for w in range(args.workers):
        plan = WorkerPlan(
            urls,
            args.secret,
            names[w :: args.workers],
            args.senders,
            args.rate,
            args.duration,
            drain,
            args.clients,
            args.reaction_share,
            args.reactions_each,
        )
        plans.append(context.Queue())
        process = context.Process(target=run_worker, args=(plans[-1], results), daemon=True)
        process.start()
        workers.append(process)
        plans[-1].put(plan)
    for _ in workers:
        kind, detail, *_ = results.get(timeout=120)
        if kind != "ready":
            raise SystemExit(f"a client process failed: {detail}")
    time.sleep(SETTLE)  # the nodes finish announcing every join before the clock starts
    start_at = time.time() + 0.5
    for queue in plans:
        queue.put(start_at)
    time.sleep(0.5)
    cpu_before = cpu_seconds(pids)
    latencies: list[int] = []
    stored: list[int] = []
    counters = {"sent": 0, "errors": 0, "closed": 0, "last_ns": 0, "cpu_ms": 0, "reacted": 0, "reaction_frames": 0}
    for _ in workers:
        kind, part, part_counters = results.get(timeout=args.duration + drain + 120)
        if kind != "done":
            raise SystemExit(f"a client process failed: {part}")
        latencies += part[0]
        stored += part[1]
        for key, value in part_counters.items():
            counters[key] = max(counters[key], value) if key == "last_ns" else counters[key] + value
    server_cpu = [after - before for after, before in zip(cpu_seconds(pids), cpu_before, strict=True)]
    for process in workers:
        process.join(10)
    # from the first send to the last delivery: a saturated run delivers after the senders stop
    window = max(args.duration, counters.pop("last_ns") / 1e9 - start_at)
    return {"latencies": latencies, "stored": stored, **counters, "window": window, "server_cpu": server_cpu}


def percentile(values: list[int], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] if ordered else float("nan")


def report(args: argparse.Namespace, load: dict[str, Any], memory: list[float] | None) -> None:
    latencies_ms = [ns / 1e6 for ns in load["latencies"]]
    delivered, sent = len(latencies_ms), load["sent"]
    expected = sent * args.clients
    nodes = "1 memory node" if args.backend == "memory" else "2 redis nodes"
    print(
        f"\n== chat_load: {args.clients} clients on {nodes}, {args.senders} senders x {args.rate:g} msg/s "
        f"for {args.duration:g} s ({os.cpu_count()} CPUs shared by clients, nodes and Redis; "
        f"load average {load['loadavg']:.2f} before the run)"
    )
    print(f"sent                 {sent} messages ({sent / args.duration:.0f}/s)")
    print(f"delivered            {delivered} of {expected} expected ({100 * delivered / max(expected, 1):.2f} %)")
    print(
        f"delivered / s        {delivered / load['window']:.0f} (first send to last delivery: {load['window']:.1f} s)"
    )
    print(
        f"latency p50 / p99    {percentile(latencies_ms, 0.50):.1f} ms / {percentile(latencies_ms, 0.99):.1f} ms "
        f"(max {max(latencies_ms, default=float('nan')):.1f}, mean "
        f"{statistics.fmean(latencies_ms) if latencies_ms else float('nan'):.1f})"
    )
    print(
        f"stored -> received   p50 {percentile(load['stored'], 0.50):.0f} ms / p99 "
        f"{percentile(load['stored'], 0.99):.0f} ms (from the message's ts; ms resolution)"
    )
    if args.reaction_share > 0:
        uncoalesced = load["reacted"] * args.clients
        print(
            f"reactions            {load['reacted']} toggles ({load['reacted'] / args.duration:.0f}/s); "
            f"{load['reaction_frames']} `reaction` frames delivered, of {uncoalesced} without coalescing "
            f"({100 * load['reaction_frames'] / max(uncoalesced, 1):.1f} %)"
        )
    print(f"errors / closed      {load['errors']} / {load['closed']}")
    if load.get("server_cpu"):
        busy = ", ".join(f"{seconds:.1f} s" for seconds in load["server_cpu"])
        print(
            f"server CPU           {busy} (per node, from the first send to the end of the drain); "
            f"clients {load['cpu_ms'] / 1000:.1f} s"
        )
    if memory is not None:
        per = ", ".join(f"{value / 1024:.1f} KiB" for value in memory)
        print(
            f"memory / idle conn   {per} (RSS growth per node while {args.idle} more idle connections "
            f"joined {args.idle} open ones)"
        )


# infrastructure -----------------------------------------------------------------------------
def start_cluster(args: argparse.Namespace, workdir: Path) -> tuple[list[NodeProcess], RedisServer | None]:
    env = {
        "BABELROOM_LIMITS_RATE_PER_SECOND": str(max(5.0, args.rate * 2)),
        "BABELROOM_LIMITS_RATE_BURST": "100",
        "BABELROOM_SERVER_LOG_LEVEL": "warning",
    }
    redis_server = None
    redis_url = args.redis_url
    if args.backend == "redis" and not redis_url:
        redis_server = RedisServer(workdir / "redis")
        redis_server.start()
        redis_url = redis_server.url
    names = ["a", "b"] if args.backend == "redis" else ["m"]
    nodes = [
        NodeProcess(
            name,
            workdir,
            redis_url=redis_url if args.backend == "redis" else None,
            key_prefix=f"bench:{os.getpid()}:",
            env=env,
            backend=args.backend,
        )
        for name in names
    ]
    for node in nodes:
        node.start()
    return nodes, redis_server


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    nodes: list[NodeProcess] = []
    redis_server = None
    with tempfile.TemporaryDirectory(prefix="chat-load-") as tmp:
        try:
            if args.connect:
                urls = args.connect.split(",")
                pids = [int(pid) for pid in args.pids.split(",") if pid]
            else:
                nodes, redis_server = start_cluster(args, Path(tmp))
                urls, pids = [node.ws_url for node in nodes], [node.pid for node in nodes]
            memory = None
            if args.idle and len(pids) == len(urls):
                memory = asyncio.run(memory_per_connection(urls, args.secret, pids, args.idle))
            loadavg = os.getloadavg()[0]  # other work on the machine skews every figure
            report(args, {**run_load(args, urls, pids), "loadavg": loadavg}, memory)
        finally:
            for node in nodes:
                node.stop()
            if redis_server:
                redis_server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
