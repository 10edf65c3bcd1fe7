"""What one account can make a node hold (issue 20): the memory attack, with bystanders timing it.

A real `babelroom serve` process (sqlite by default; `--backend redis` starts a redis-server of
its own on a free port) gets a room filled with --messages messages of 8 kB. Then --attackers raw
WebSocket clients that never read (tests/raw_websocket.py `RawClient`: a tiny receive buffer, reading
paused) each send --history-requests `history` frames (limit 200) and --since-joins `join`
frames with `since` = the room's first message (a replay of everything), one every --pace
seconds, reconnecting when the node closes them until every frame went out (at most
--reconnects times each; --pace 0 sends them all at once into the socket's buffers, where the
node reads them until it closes the socket). Meanwhile
--bystanders clients in another room send a message each every 1/--rate s and time each one
from `send` to its arrival at the other bystanders.

It prints the node's RSS (from /proc) before the attack, its peak during it and after it, what
became of the attackers' frames and connections, and the bystanders' round-trip p50/p99 before
and during the attack. The goal of issue 20: the node grows by less than 50 MB and bystanders'
p99 stays under 50 ms. Everything runs on 127.0.0.1; counts and time are bounded (--seconds).

    .venv/bin/python benchmarks/abuse_memory.py
    .venv/bin/python benchmarks/abuse_memory.py --backend redis
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import re
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import websockets

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.nodes import NodeProcess, RedisServer
from tests.raw_websocket import RawClient

ROOM = "plenary"
BYSTANDER_ROOM = "climate"
TEXT_BYTES = 8000


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backend", choices=("sqlite", "redis"), default="sqlite", help="the node's backend")
    parser.add_argument("--messages", type=int, default=1000, help="8 kB messages in the room (default 1000)")
    parser.add_argument("--attackers", type=int, default=2, help="non-reading sockets (default 2)")
    parser.add_argument("--history-requests", type=int, default=250, help="history frames each (default 250)")
    parser.add_argument("--since-joins", type=int, default=20, help="joins with since each (default 20)")
    parser.add_argument(
        "--reconnects", type=int, default=30, help="how often an attacker opens a new socket after a close (default 30)"
    )
    parser.add_argument("--pace", type=float, default=0.01, help="seconds between an attacker's frames (default 0.01)")
    parser.add_argument("--bystanders", type=int, default=4, help="clients timing messages (default 4)")
    parser.add_argument("--rate", type=float, default=5.0, help="messages per second per bystander (default 5)")
    parser.add_argument(
        "--quiet-seconds", type=float, default=5.0, help="bystanders timed before the attack (default 5)"
    )
    parser.add_argument("--seconds", type=float, default=60.0, help="the attack's time limit (default 60)")
    args = parser.parse_args(argv)
    counts = (args.messages, args.attackers, args.bystanders)
    if min(counts) <= 0 or min(args.history_requests, args.since_joins, args.reconnects) < 0 or args.rate <= 0:
        parser.error("counts and --rate must be positive")
    return args


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else float("nan")


async def until(ws: websockets.ClientConnection, kind: str, **fields: Any) -> dict[str, Any]:
    while True:
        frame = json.loads(await asyncio.wait_for(ws.recv(), 30))
        if frame["type"] == kind and all(frame.get(k) == v for k, v in fields.items()):
            return frame
        if frame["type"] == "error":
            raise RuntimeError(f"the node refused: {frame}")


async def fill(node: NodeProcess, count: int) -> str:
    """Store `count` 8 kB messages in ROOM; the id of the first."""
    ws = await websockets.connect(node.ws_url, max_size=None, open_timeout=30)
    await ws.send(json.dumps({"type": "auth", "token": node.token("Filler", user_id="u_filler")}))
    await until(ws, "ready")
    await ws.send(json.dumps({"type": "join", "room": ROOM, "history": 0}))
    await until(ws, "joined")
    first = ""
    window = 50  # sends in flight
    for start in range(0, count, window):
        batch = range(start, min(count, start + window))
        for n in batch:
            text = f"{n:06d} " + "x" * (TEXT_BYTES - 7)
            await ws.send(json.dumps({"type": "send", "room": ROOM, "text": text, "ref": f"f{n}"}))
        for n in batch:
            ack = await until(ws, "ack", ref=f"f{n}")
            first = first or ack["id"]
    await ws.close()
    return first


class Bystanders:
    """Clients in another room: each sends every 1/rate s; every arrival at another one is timed."""

    def __init__(self, node: NodeProcess, count: int, rate: float) -> None:
        self.node, self.count, self.rate = node, count, rate
        self.sockets: list[websockets.ClientConnection] = []
        self.latencies: list[float] = []
        self.sending = False
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        for n in range(self.count):
            ws = await websockets.connect(self.node.ws_url, max_size=None, open_timeout=30)
            await ws.send(json.dumps({"type": "auth", "token": self.node.token(f"Bystander {n}", user_id=f"u_by{n}")}))
            await until(ws, "ready")
            await ws.send(json.dumps({"type": "join", "room": BYSTANDER_ROOM, "history": 0}))
            await until(ws, "joined")
            self.sockets.append(ws)
        self._tasks = [asyncio.create_task(self._read(n, ws)) for n, ws in enumerate(self.sockets)]
        self._tasks += [asyncio.create_task(self._send(n, ws)) for n, ws in enumerate(self.sockets)]

    async def _send(self, n: int, ws: websockets.ClientConnection) -> None:
        await asyncio.sleep(n / (self.count * self.rate))  # spread over the period
        while True:
            if self.sending:
                await ws.send(
                    json.dumps({"type": "send", "room": BYSTANDER_ROOM, "text": f"by{n} {time.perf_counter():.6f}"})
                )
            await asyncio.sleep(1 / self.rate)

    async def _read(self, n: int, ws: websockets.ClientConnection) -> None:
        async for raw in ws:
            frame = json.loads(raw)
            if frame.get("type") == "message" and frame.get("room") == BYSTANDER_ROOM:
                author, _, sent = frame["text"].partition(" ")
                if author != f"by{n}":
                    self.latencies.append(time.perf_counter() - float(sent))

    def take(self) -> list[float]:
        taken, self.latencies = self.latencies, []
        return taken

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for ws in self.sockets:
            await ws.close()


class Attacker:
    """A socket that never reads, sending its frames; a new one when the node closes it."""

    def __init__(self, node: NodeProcess, n: int, frames: list[dict[str, Any]], reconnects: int, pace: float) -> None:
        self.node, self.n, self.frames, self.reconnects, self.pace = node, n, frames, reconnects, pace
        self.sent = 0
        self.connections = 0
        self.refused = 0  # connections the node would not authenticate (too_many_connections, ...)
        self.clients: list[RawClient] = []

    async def run(self) -> None:
        while self.sent < len(self.frames) and self.connections <= self.reconnects:
            self.connections += 1
            try:
                client = await RawClient.connect(self.node.port, rcvbuf=4096)
            except (TimeoutError, OSError, AssertionError):
                await asyncio.sleep(0.2)
                continue
            self.clients.append(client)
            try:
                await client.send_json(
                    {"type": "auth", "token": self.node.token(f"Attacker {self.n}", user_id=f"u_attacker{self.n}")}
                )
                ready = await client.read_json("ready", timeout=10)
                assert ready
                await client.send_json({"type": "join", "room": ROOM, "history": 0})
                await client.read_json("joined", timeout=10)
            except (TimeoutError, OSError, asyncio.IncompleteReadError, json.JSONDecodeError):
                self.refused += 1
                client.close()
                await asyncio.sleep(0.2)
                continue
            client.stop_reading()
            try:
                while self.sent < len(self.frames):
                    await client.send_json(self.frames[self.sent])
                    self.sent += 1
                    if self.pace:
                        await asyncio.sleep(self.pace)
            except OSError:  # closed (1013) or dropped by the node: a new socket for the rest
                client.close()
                await asyncio.sleep(0.05)

    def close(self) -> None:
        for client in self.clients:
            client.close()


async def run(args: argparse.Namespace) -> None:
    workdir = Path(tempfile.mkdtemp(prefix="abuse-memory-"))
    redis_server = None
    redis_url = None
    if args.backend == "redis":
        redis_server = RedisServer(workdir / "redis", persistent=False)
        redis_server.start()
        redis_url = redis_server.url
    env = {
        "BABELROOM_LIMITS_TEXT_CHARS": str(TEXT_BYTES),
        "BABELROOM_LIMITS_RATE_PER_SECOND": "1000",
        "BABELROOM_LIMITS_RATE_BURST": "1000",
        "BABELROOM_TRANSLATION_ENABLED": "false",
        "BABELROOM_SERVER_LOG_LEVEL": "info",
        "BABELROOM_BACKEND_HISTORY_MAX": str(max(1000, args.messages)),
    }
    node = NodeProcess("abuse", workdir, redis_url=redis_url, backend=args.backend, env=env)
    node.start()
    bystanders = Bystanders(node, args.bystanders, args.rate)
    attackers: list[Attacker] = []
    try:
        started = time.perf_counter()
        first = await fill(node, args.messages)
        print(
            f"backend {args.backend}: {args.messages} messages of 8 kB in {ROOM!r} "
            f"({time.perf_counter() - started:.1f} s); node pid {node.pid}"
        )
        await bystanders.start()
        bystanders.sending = True
        await asyncio.sleep(args.quiet_seconds)
        quiet = bystanders.take()
        before = rss_mb(node.pid)

        frames: list[dict[str, Any]] = [
            {"type": "history", "room": ROOM, "limit": 200, "ref": f"h{n}"} for n in range(args.history_requests)
        ]
        frames += [{"type": "join", "room": ROOM, "since": first, "ref": f"j{n}"} for n in range(args.since_joins)]
        attackers = [Attacker(node, n, frames, args.reconnects, args.pace) for n in range(args.attackers)]
        peak = before
        attack = asyncio.gather(*(attacker.run() for attacker in attackers))
        attack_started = time.perf_counter()
        while not attack.done() and time.perf_counter() - attack_started < args.seconds:
            peak = max(peak, rss_mb(node.pid))
            await asyncio.sleep(0.02)
        sent_for = time.perf_counter() - attack_started
        if not attack.done():
            attack.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await attack
        # the node answers what it already read: keep sampling while it does
        settle_until = time.perf_counter() + 5
        while time.perf_counter() < settle_until:
            peak = max(peak, rss_mb(node.pid))
            await asyncio.sleep(0.02)
        during = bystanders.take()
        for attacker in attackers:
            attacker.close()
        await asyncio.sleep(3)
        after = rss_mb(node.pid)
        bystanders.sending = False

        total = len(frames)
        print(
            f"attack: {args.attackers} sockets that never read, {args.history_requests} history (limit 200) + "
            f"{args.since_joins} joins since {first} each, sent within {sent_for:.1f} s"
        )
        for attacker in attackers:
            print(
                f"  attacker {attacker.n}: {attacker.sent}/{total} frames sent over {attacker.connections} "
                f"connections ({attacker.refused} refused at auth)"
            )
        closes = [
            tuple(int(n) for n in found.groups())
            for found in re.finditer(r"(\d+) bytes behind, a frame of (\d+) bytes more", node.log())
        ]
        print(
            f"  the node closed {len(closes)} of their connections with 1013 (send backlog past a cap); "
            f"largest backlog at a close: {max((q for q, _ in closes), default=0) / 1024:.0f} KiB, "
            f"largest frame refused: {max((f for _, f in closes), default=0) / 1024:.0f} KiB"
        )
        print(
            f"node RSS: before {before:.0f} MB, peak {peak:.0f} MB (+{peak - before:.0f} MB), "
            f"after {after:.0f} MB (+{after - before:.0f} MB)"
        )
        for name, values in (("quiet", quiet), ("attack", during)):
            ms = [v * 1000 for v in values]
            print(
                f"bystanders ({name}): {len(ms)} arrivals, p50 {percentile(ms, 0.5):.1f} ms, "
                f"p99 {percentile(ms, 0.99):.1f} ms, max {max(ms, default=float('nan')):.1f} ms"
            )
        grew, p99 = peak - before, percentile([v * 1000 for v in during], 0.99)
        print(f"goal (node grows < 50 MB, bystander p99 < 50 ms): {'met' if grew < 50 and p99 < 50 else 'NOT met'}")
    finally:
        for attacker in attackers:
            attacker.close()
        await bystanders.stop()
        node.stop()
        if redis_server is not None:
            redis_server.stop()


def main(argv: list[str] | None = None) -> None:
    asyncio.run(run(parse_args(argv)))


if __name__ == "__main__":
    main()
